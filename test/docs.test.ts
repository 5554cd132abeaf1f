/**
 * What README.md and docs/*.md tell a user to run, run (docs/development.md, "How the docs are tested").
 * Every fenced block carries a mark on the line before it: `run: NAME` (bash runs it, then CHECKS[NAME]
 * asserts what the text says it does), `file: NAME` (a program saved as NAME for a later run block),
 * `output: NAME` (what a command prints, compared with the real output) or `not run: why`. An unmarked
 * block, an unknown name and a check no block uses fail.
 *
 * The blocks run as written, against one `pipemon serve` started here with its data in `.pipemon` of a
 * temporary working directory; only `http://127.0.0.1:4318` and `:4317` are replaced by its ports, and
 * OTEL_EXPORTER_OTLP_ENDPOINT points at it. `npm link` runs with a temporary npm prefix (the build is
 * `npm test`'s), whose bin is on every block's PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otelPython } from './helpers/otel-python.js';
import { runEvent } from './helpers/openlineage.js';
import { CLI } from './helpers/pipemon-process.js';
import { fixturePath, REPO } from './helpers/repo.js';
import { found } from './helpers/async.js';
import { onPath, warnSkipped } from './helpers/tools.js';
import { tempDir } from './helpers/temp.js';

const PAGES = ['README.md', ...fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const SUITE = 'test/docs.test.ts';

// ---------------------------------------------------------------------------------------------------
// The blocks and their marks.

type Mark = { kind: 'run' | 'file' | 'output' | 'not run'; name: string };
interface Block {
  page: string;
  line: number;
  lang: string;
  code: string;
  mark: Mark | null;
}

function blocksOf(page: string): Block[] {
  const lines = fs.readFileSync(path.join(REPO, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== fence) end++;
    const code = lines.slice(i + 1, end).map((l) => l.slice(indent!.length)).join('\n');
    const comment = /^\s*<!--\s*(run|file|output|not run):\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? '');
    blocks.push({ page, line: i + 1, lang: lang!, code, mark: comment ? { kind: comment[1] as Mark['kind'], name: comment[2]! } : null });
    i = end;
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------------
// The receiver, the working directory and the shell the blocks run in.

interface Server {
  child: ChildProcess;
  url: string;
  grpc: string;
  key: string;
  output: () => string;
}

let server: Server;
let work: string;
let prefix: string;
/** The OpenTelemetry Python SDK's venv (its bin/ goes on the blocks' PATH), or null when missing. */
const OTEL_PYTHON = ((python) => python && path.dirname(path.dirname(python)))(otelPython(`${SUITE}: the Python blocks`).python);

async function startServer(dataDir: string): Promise<Server> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build; npm test does it)`);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--grpc-port', '0', '--data-dir', dataDir], {
    env: { ...process.env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [url, grpc] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/\S+) .*OTLP\/gRPC on (http:\/\/[^\s,]+)/.exec(output);
      if (match) {
        clearInterval(timer);
        resolve([match[1]!, match[2]!]);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`pipemon serve exited (${code}) before listening:\n${output}`));
    });
  });
  const key = fs.readFileSync(path.join(dataDir, 'default-api-key'), 'utf8').trim();
  return { child, url, grpc, key, output: () => output };
}

/** The environment every page starts from: as a user's terminal after the quick start, pointed at this receiver. */
function baseEnv(page: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(OTEL_|PIPEMON_|OPENLINEAGE_|npm_)/i.test(name) || name === 'DATABASE_URL') continue;
    env[name] = value;
  }
  const bins = [path.join(prefix, 'bin'), ...(OTEL_PYTHON ? [path.join(OTEL_PYTHON, 'bin')] : [])];
  env.PATH = [...bins, env.PATH].join(path.delimiter);
  env.NPM_CONFIG_PREFIX = prefix;
  // The Python SDK as `pip install ./python` would install it: it has no dependencies to install.
  env.PYTHONPATH = path.join(REPO, 'python', 'src');
  env.OTEL_EXPORTER_OTLP_ENDPOINT = server.url;
  // Records a test process could not deliver stay in the working directory, not in the machine's temp dir.
  env.PIPEMON_SPOOL_DIR = path.join(work, 'spool');
  if (page !== 'README.md') env.PIPEMON_API_KEY = server.key;
  return env;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  env: Record<string, string>;
}

/** Runs a block with bash in `cwd`, with the page's exported variables; returns what it printed and exported. */
function runBlock(block: Block, env: Record<string, string>, cwd: string): Ran {
  const code = block.code
    .replaceAll('http://127.0.0.1:4318', server.url)
    .replaceAll('http://127.0.0.1:4317', server.grpc);
  // After the block, its exported variables as JSON, for the page's next block (one terminal per page).
  const envFile = path.join(work, '.block-env.json');
  const dump = `${JSON.stringify(process.execPath)} -e 'process.stdout.write(JSON.stringify(process.env))' > ${JSON.stringify(envFile)}`;
  fs.rmSync(envFile, { force: true });
  const input = block.mark?.name === 'psql' ? PSQL_INPUT : '';
  const result = spawnSync('bash', ['-c', `set -eo pipefail\n${code}\n${dump}\n`], { cwd, env, encoding: 'utf8', input, timeout: 120_000 });
  const exported = fs.existsSync(envFile) ? (JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>) : { ...env };
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, env: exported };
}

// ---------------------------------------------------------------------------------------------------
// What each run block does, as its page says.

async function api(pathAndQuery: string, key = server.key): Promise<any> {
  const request = () => fetch(server.url + pathAndQuery, { headers: { authorization: `Bearer ${key}` } });
  // A kept-alive socket the receiver closed as the request left fails at once: that request never arrived.
  const response = await request().catch(request);
  expect(response.status, pathAndQuery).toBe(200);
  return response.json();
}

/** Polls until `find` returns a value: records arrive through the SDK's spool, within a second or so. */
const arrived = <T>(what: string, find: () => Promise<T | undefined | null | false>) => found(find, what, { timeoutMs: 20_000, everyMs: 250 });

/** The nightly-import run whose log records include `body` (each exec block's command prints its own line). */
const runWhoseLogs = (body: string) =>
  arrived(`the nightly-import run that logged "${body}"`, async () => {
    for (const run of await runsOf('nightly-import')) {
      const full = await detail(run.run_id);
      if (full.state === 'ended' && full.logs.items.some((log: any) => log.body === body)) return full;
    }
    return undefined;
  });

const runsOf = async (pipeline: string): Promise<any[]> => (await api(`/api/v1/runs?pipeline=${encodeURIComponent(pipeline)}`)).items;
const endedRun = (pipeline: string, result = 'success') =>
  arrived(`an ended ${result} run of ${pipeline}`, async () => (await runsOf(pipeline)).find((run) => run.state === 'ended' && run.result === result));
const detail = async (runId: string) => api(`/api/v1/runs/${encodeURIComponent(runId)}`);

const PSQL_INPUT = 'SELECT count(*) AS runs FROM pipeline_runs;\n';
const DEMO_PIPELINES = ['orders-hourly-load', 'payments-sync', 'events-aggregate', 'crm-contacts-export', 'customers-quality', 'finance-daily-report', 'inventory-snapshot'];

type Check = (ran: Ran) => Promise<void> | void;

/** Blocks that need the OpenTelemetry Python SDK: skipped (loudly) without its venv outside CI. */
const NEEDS_PYTHON_SDK = new Set(['python-otel', 'python-otel-metrics', 'exec-join']);

const CHECKS: Record<string, Check> = {
  'npm-link': () => {
    // npm link puts `pipemon` in the prefix's bin, pointing at this clone's built command.
    expect(fs.realpathSync(path.join(prefix, 'bin', 'pipemon'))).toBe(fs.realpathSync(CLI));
    const help = spawnSync('pipemon', ['--help'], { env: { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}` }, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^\s+exec\s/m);
  },
  'export-key': ({ env }) => {
    expect(env.PIPEMON_API_KEY).toBe(server.key);
  },
  exec: async ({ stdout }) => {
    expect(stdout).toContain('loaded 120 rows');
    const run = await endedRun('nightly-import');
    const { logs } = await detail(run.run_id);
    expect(logs.items.map((log: any) => log.body)).toContain('loaded 120 rows');
  },
  'npm-link-sdk': () => {
    expect(fs.realpathSync(path.join(work, 'node_modules', 'pipemon'))).toBe(fs.realpathSync(REPO));
  },
  'node-sdk': async () => {
    const run = await endedRun('orders');
    expect(run.attributes['pipemon.pipeline.owner']).toBe('team-data');
    const full = await detail(run.run_id);
    const load = full.stages.find((stage: any) => stage.stage === 'load');
    expect(load).toMatchObject({ state: 'ended', result: 'success', rows: { read: 3, written: 2, rejected: 1 }, target: { namespace: 'dw', collection: 'orders' } });
    expect(full.checks).toMatchObject([{ name: 'null_ratio', passed: true, stage: 'load' }]);
    expect(full.logs.items.map((log: any) => log.body)).toContain('loaded');
  },
  'python-otel': async () => {
    const run = await endedRun('invoices');
    expect(run.attributes['pipemon.pipeline.owner']).toBe('team-finance');
    expect(run.service_name).toBe('invoices-py');
    const full = await detail(run.run_id);
    expect(full.stages).toMatchObject([{ stage: 'load', state: 'ended', result: 'success', rows: { written: 118 } }]);
  },
  'python-otel-metrics': async () => {
    const { items: names } = await api('/api/v1/metric-names?pipeline=invoices-metrics');
    expect(names.map((m: any) => [m.name, m.kind, m.temporality, m.monotonic]).sort()).toEqual([
      ['invoices.batch.duration', 'histogram', 'cumulative', false],
      ['invoices.rows', 'sum', 'cumulative', true],
    ]);
    const points = async (metric: string) => (await api(`/api/v1/metric-points?pipeline=invoices-metrics&metric=${metric}`)).series;
    const [rows] = await points('invoices.rows');
    expect(rows.attributes).toEqual({ table: 'invoices' });
    expect(rows.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(rows.points.at(-1).value)).toBe(300);
    const [seconds] = await points('invoices.batch.duration');
    expect(seconds.points.at(-1)).toMatchObject({ count: 3, sum: 4.5, min: 0.5, max: 2.5 });
  },
  'python-sdk': async () => {
    const run = await endedRun('payments');
    expect(run.attributes['pipemon.pipeline.owner']).toBe('team-data');
    expect(run.service_name).toBe('payments-etl');
    const full = await detail(run.run_id);
    const load = full.stages.find((stage: any) => stage.stage === 'load');
    expect(load).toMatchObject({ state: 'ended', result: 'success', rows: { read: 2, written: 1, rejected: 1 }, target: { namespace: 'dw', collection: 'payments' } });
    expect(full.checks).toMatchObject([{ name: 'null_ratio', passed: true, stage: 'load' }]);
    expect(full.logs.items.map((log: any) => log.body)).toContain('loaded');
  },
  'web-link': async ({ stdout }) => {
    expect(stdout.trim()).toBe(`${server.url}/#key=${server.key}`);
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  },
  'api-runs': ({ stdout }) => {
    const { items } = JSON.parse(stdout);
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((run: any) => run.pipeline === 'nightly-import')).toBe(true);
    expect(items.some((run: any) => run.state === 'ended' && run.result === 'success')).toBe(true);
  },
  demo: async () => {
    const { items: pipelines } = await api('/api/v1/metrics/pipelines?days=7');
    expect(pipelines.map((p: any) => p.pipeline)).toEqual(expect.arrayContaining(DEMO_PIPELINES));
    // As the quick start says: failing, late and stuck pipelines to look at.
    const byName = new Map(pipelines.map((p: any) => [p.pipeline, p]));
    expect((byName.get('inventory-snapshot') as any).stuck).toBe(true);
    expect((byName.get('finance-daily-report') as any).late).toBe(true);
  },
  'api-lineage': ({ stdout }) => {
    const { nodes, edges } = JSON.parse(stdout);
    const pipelines = new Map(nodes.filter((node: any) => node.kind === 'pipeline').map((node: any) => [node.pipeline.pipeline, node.pipeline]));
    expect([...pipelines.keys()].sort()).toEqual(['dw-orders-load', 'revenue-export', 'revenue-report']);
    expect(pipelines.get('revenue-report')).toMatchObject({ late: true, upstream_unhealthy: ['dw-orders-load'] });
    expect(edges.length).toBeGreaterThanOrEqual(4);
  },
  'otlp-http-env': async ({ env }) => {
    await sendSpanWith(env, 'docs-otlp-http');
  },
  'otlp-grpc-env': async ({ env }) => {
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(server.grpc);
    await sendSpanWith(env, 'docs-otlp-grpc');
  },
  'openlineage-env': async ({ env }) => {
    const runId = randomUUID();
    for (const eventType of ['START', 'COMPLETE']) {
      const response = await fetch(`${env.OPENLINEAGE_URL}/api/v1/lineage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.OPENLINEAGE_API_KEY}` },
        body: JSON.stringify(runEvent({ eventType, runId, namespace: 'docs', name: 'lineage_job' })),
      });
      expect(response.status).toBe(201);
    }
    expect((await endedRun('docs/lineage_job')).run_id).toBe(runId);
  },
  activity: async ({ stdout }) => {
    const [single, batch] = jsonValues(stdout);
    // As the comment in the block shows it: the id has the record's time.
    expect(single).toMatchObject({ pipeline: 'zephyr', stage: 'source' });
    expect(single.id).toMatch(/^zephyr\/sourceZephyr@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(JSON.stringify(batch)).toContain('workflow');
    const zephyr = await detail(single.id);
    expect(zephyr).toMatchObject({ pipeline: 'zephyr', state: 'ended', result: 'success', rows: { written: 1200 } });
    await endedRun('workflow');
  },
  flush: ({ stdout }) => {
    // Nothing was left undelivered by the blocks before: it says so and exits 0 (set -e would have failed otherwise).
    expect(stdout).toMatch(/^pipemon flush: (nothing to send|.*nothing left)/m);
  },
  'exec-stage': async () => {
    const run = await runWhoseLogs('loaded 120 rows for today');
    expect(run.stages).toMatchObject([{ stage: 'load', state: 'ended', result: 'success' }]);
    expect(run).toMatchObject({ state: 'ended', result: 'success' });
    expect(run.attributes['pipemon.pipeline.owner']).toBe('team-data');
    expect(Number(run.attributes['pipemon.pipeline.expected_interval_seconds'])).toBe(86_400);
    expect(run.logs.items.map((log: any) => log.body)).toContain('loaded 120 rows for today');
  },
  'exec-join': async () => {
    const run = await runWhoseLogs('loading');
    expect(run).toMatchObject({ state: 'ended', result: 'success' });
    const load = await arrived('the stage join.py sent', async () => (await detail(run.run_id)).stages.find((stage: any) => stage.stage === 'load'));
    expect(load).toMatchObject({ state: 'ended', result: 'success' });
    // In the exec's trace: the stage's span is in the run's span tree.
    expect(JSON.stringify((await detail(run.run_id)).spans)).toContain(load.span_id);
  },
  'api-list': ({ stdout }) => {
    const [runs, pipelines] = jsonValues(stdout);
    expect(runs.items).toHaveLength(5);
    expect(runs.items.every((run: any) => run.pipeline === 'orders-hourly-load')).toBe(true);
    expect(pipelines.items.map((p: any) => p.pipeline)).toEqual(expect.arrayContaining(DEMO_PIPELINES));
  },
  'api-metrics': ({ stdout }) => {
    const [sent, names, series, points] = jsonValues(stdout);
    expect(JSON.stringify(sent)).not.toContain('rejected');
    expect(names.items).toEqual([{ name: 'rows.loaded', kind: 'sum', unit: '{row}', description: '', temporality: 'cumulative', monotonic: true, series: 1 }]);
    expect(series.items).toMatchObject([{ metric: 'rows.loaded', service_name: 'orders-etl', pipeline: 'orders-metrics' }]);
    // As the page says: 40 from the start time, then 60.
    expect(points.series[0].points.map((p: any) => [p.value, p.reset])).toEqual([[40, false], [60, false]]);
  },
  csv: () => {
    const orders = fs.readFileSync(path.join(work, 'orders.csv'), 'utf8').trim().split('\n');
    expect(orders.length).toBeGreaterThan(10);
    const columns = orders[0]!.split(',');
    expect(columns).toContain('pipeline');
    const slowest = parseCsv(fs.readFileSync(path.join(work, 'slowest.csv'), 'utf8'));
    expect(slowest.length).toBeGreaterThan(10);
    // The slowest first, ended runs only (the demo's hung run, with a heartbeat duration, is left out by state=ended).
    expect(slowest.every((row) => row.state === 'ended')).toBe(true);
    const durations = slowest.map((row) => Number(row.duration_seconds));
    expect(durations).toEqual([...durations].sort((a, b) => b - a));
  },
  keys: async ({ stdout }) => {
    const key = /pm_\d+_[0-9a-f]+_[0-9a-f]+/.exec(stdout)?.[0];
    expect(key, stdout).toBeTruthy();
    expect(stdout).toContain('analytics');
    // A key of its own tenant: it reads, and sees none of the default tenant's runs.
    expect((await api('/api/v1/runs', key)).items).toEqual([]);
  },
  psql: ({ stdout }) => {
    const count = /^\s*(\d+)\s*$/m.exec(stdout.split('\n').slice(2).join('\n'))?.[1];
    expect(stdout).toMatch(/runs/);
    expect(Number(count)).toBeGreaterThan(0);
  },
};

/** A root span with only `cicd.pipeline.name`, sent by the official JS exporter from the block's variables: it must become a run. */
async function sendSpanWith(env: Record<string, string>, pipeline: string): Promise<void> {
  const sent = spawnSync(process.execPath, [fixturePath('otel-env-span.mjs'), pipeline], { env, encoding: 'utf8', timeout: 30_000 });
  expect(sent.status, sent.stderr).toBe(0);
  await endedRun(pipeline);
}

/** The JSON values a block printed one after another (curl -s adds no newline between answers). */
function jsonValues(text: string): any[] {
  const values: any[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if ((c === '}' || c === ']') && --depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
  }
  return values;
}

/** CSV as the API writes it (RFC 4180 quoting). */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  const [header, ...body] = rows;
  return body.map((values) => Object.fromEntries(header!.map((name, i) => [name, values[i] ?? ''])));
}

/** What an output block shows must be in the real output, line by line, `...` standing for any text. */
const OUTPUTS: Record<string, () => string> = {
  serve: () => server.output(),
};

function expectOutput(block: Block, actual: string): void {
  const lines = actual.split('\n').map((line) => line.trimEnd());
  for (const shown of block.code.split('\n').filter((line) => line.trim() !== '')) {
    const pattern = new RegExp(
      '^' + shown.trimEnd().replaceAll('http://127.0.0.1:4318', '\u0000').split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*').replaceAll('\u0000', server.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) + '$',
    );
    expect(lines.some((line) => pattern.test(line)), `${block.page}:${block.line}: "${shown}" is not in the output:\n${actual}`).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------------------

describe('the docs', () => {
  const all = PAGES.flatMap(blocksOf);

  it('mark every fenced block, with names the test knows, and use every check', () => {
    const unmarked = all.filter((block) => block.mark === null).map((block) => `${block.page}:${block.line}`);
    expect(unmarked, 'blocks without a <!-- run: | file: | output: | not run: --> mark').toEqual([]);
    const runs = all.filter((block) => block.mark?.kind === 'run').map((block) => block.mark!.name);
    expect(runs.filter((name) => !(name in CHECKS)), 'run marks without a check').toEqual([]);
    expect(Object.keys(CHECKS).filter((name) => !runs.includes(name)), 'checks no block uses').toEqual([]);
    expect(new Set(runs).size, 'each check is one block').toBe(runs.length);
    const outputs = all.filter((block) => block.mark?.kind === 'output').map((block) => block.mark!.name);
    expect(outputs.filter((name) => !(name in OUTPUTS))).toEqual([]);
    expect(Object.keys(OUTPUTS).filter((name) => !outputs.includes(name))).toEqual([]);
    for (const block of all.filter((block) => block.mark?.kind === 'not run')) expect(block.mark!.name, `${block.page}:${block.line} says why`).not.toBe('');
    // A program saved for a later block is run by one.
    for (const block of all.filter((block) => block.mark?.kind === 'file')) {
      const later = all.filter((other) => other.page === block.page && other.line > block.line && other.mark?.kind === 'run');
      expect(later.some((other) => other.code.includes(block.mark!.name)), `${block.page}:${block.line}: no later block runs ${block.mark!.name}`).toBe(true);
    }
    // The blocks a user runs are shell blocks; programs are saved and run by them.
    for (const block of all.filter((block) => block.mark?.kind === 'run')) expect(block.lang, `${block.page}:${block.line}`).toBe('sh');
  });

  describe('run as a user runs them', () => {
    beforeAll(async () => {
      work = tempDir('pipemon-docs-');
      // The embedded server runs as the postgres account when the tests run as root: it must reach .pipemon.
      fs.chmodSync(work, 0o755);
      prefix = path.join(work, '.npm-prefix');
      fs.mkdirSync(prefix);
      server = await startServer(path.join(work, '.pipemon'));
      // Stands for the user's own command in the quick start's and docs/sdk.md's `pipemon exec` blocks.
      fs.writeFileSync(path.join(work, 'load.py'), 'import sys\nprint("loaded 120 rows" + (" for " + sys.argv[-1] if len(sys.argv) > 1 else ""))\n');
    });

    afterAll(async () => {
      if (server && server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await new Promise((resolve) => server.child.once('exit', resolve));
      }
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it.each(PAGES)('%s', async (page) => {
      let env = baseEnv(page);
      for (const block of blocksOf(page)) {
        const where = `${block.page}:${block.line}`;
        if (block.mark?.kind === 'file') {
          fs.writeFileSync(path.join(work, block.mark.name), block.code + '\n');
        } else if (block.mark?.kind === 'output') {
          expectOutput(block, OUTPUTS[block.mark.name]!());
        } else if (block.mark?.kind === 'run') {
          const name = block.mark.name;
          if (NEEDS_PYTHON_SDK.has(name) && !OTEL_PYTHON) {
            if (process.env.CI) throw new Error(`CI is set and the OpenTelemetry Python SDK's venv is missing for ${where}`);
            continue;
          }
          if (name === 'psql' && !onPath('psql')) {
            if (process.env.CI) throw new Error(`CI is set and psql is missing for ${where}`);
            warnSkipped(SUITE, 'psql not found on PATH, so the psql block', 'install Debian\'s postgresql-client');
            continue;
          }
          // `npm link` runs in the clone, as the quick start says; its build is the one `npm test` made.
          const cwd = name === 'npm-link' ? REPO : work;
          const runEnv = name === 'npm-link' ? { ...env, npm_config_ignore_scripts: 'true', npm_config_audit: 'false', npm_config_fund: 'false' } : env;
          const ran = runBlock(block, runEnv, cwd);
          expect(ran.code, `${where} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`).toBe(0);
          await CHECKS[name]!(ran);
          env = { ...ran.env };
          delete env.npm_config_ignore_scripts;
        }
      }
    }, 300_000);
  });
});
