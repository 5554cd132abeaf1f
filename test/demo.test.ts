import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoCli, DEMO_PIPELINES, runDemo, SCENARIOS, type DemoSummary } from '../demo/index.js';
import { ATTR, EVENT } from '../sdk/vocabulary.js';
import { until } from './helpers/async.js';
import { backends } from './helpers/backends.js';
import { getJson, startTestReceiver, type TestReceiver } from './helpers/receiver.js';

const DEMO_CLI = fileURLToPath(new URL('../dist/demo/cli.js', import.meta.url));
const SEED = 42;
const DAYS = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A fixed clock for the backfill: both sends of the same seed make the same history.
const NOW = Date.now();

let r: TestReceiver;
let summary: DemoSummary;
let tenantId: number;

async function runsOf(pipeline: string, key = r.key): Promise<any[]> {
  const { status, body } = await getJson(r.url, `/api/v1/runs?pipeline=${pipeline}&limit=1000`, key);
  expect(status).toBe(200);
  return body.items;
}

async function runDetail(runId: string): Promise<any> {
  const { status, body } = await getJson(r.url, `/api/v1/runs/${runId}`, r.key);
  expect(status).toBe(200);
  return body;
}

async function tenantOf(name: string): Promise<number> {
  return (await r.receiver.db.query<{ tenant_id: number }>('SELECT tenant_id FROM tenants WHERE name = $1', [name])).rows[0]!.tenant_id;
}

async function stored(tenant: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['logs', 'spans', 'pipeline_runs', 'pipeline_stages']) {
    const { rows } = await r.receiver.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenant]);
    counts[table] = rows[0]!.n;
  }
  return counts;
}

/** What the CLI wrote to stdout and stderr while `work` ran. */
async function captured(work: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await work(), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  r = await startTestReceiver({ databaseUrl: await backends()[0]!.databaseUrl() });
  tenantId = await tenantOf('acme');
  summary = await runDemo({ endpoint: r.url, key: r.key, days: DAYS, seed: SEED, now: () => NOW });
});

afterAll(async () => {
  await r?.close();
});

describe('pipemon demo: the backfilled history', () => {
  it('stores every pipeline with the runs it reports, its owner, and its interval when it declares one', async () => {
    for (const scenario of SCENARIOS) {
      const runs = await runsOf(scenario.pipeline);
      const sent = summary.backfill.pipelines[scenario.pipeline]!;
      expect(runs.length, scenario.pipeline).toBe(sent.total);
      const byResult: Record<string, number> = {};
      for (const run of runs) byResult[run.result ?? run.state] = (byResult[run.result ?? run.state] ?? 0) + 1;
      expect(byResult, scenario.pipeline).toEqual(sent.runs);
      for (const run of runs) {
        expect(run.attributes[ATTR.pipelineOwner]).toBe(scenario.owner);
        expect(run.attributes[ATTR.expectedIntervalSeconds]).toBe(scenario.expectedIntervalSeconds);
      }
    }
    const owners = await r.receiver.db.query<{ owner: string }>(
      `SELECT DISTINCT attributes->>'${ATTR.pipelineOwner}' AS owner FROM pipeline_runs WHERE tenant_id = $1 ORDER BY 1`,
      [tenantId],
    );
    expect(owners.rows.map((row) => row.owner)).toEqual(['team-data', 'team-finance', 'team-marketing', 'team-ops']);
  });

  it('spreads the runs over the days before now, on the hour as a scheduler would', async () => {
    const runs = await runsOf(DEMO_PIPELINES.healthy);
    const starts = runs.map((run) => Date.parse(run.started_at));
    expect(Math.min(...starts)).toBeGreaterThan(NOW - DAYS * DAY);
    expect(Math.max(...starts)).toBeLessThan(NOW);
    expect(new Set(starts.map((ms) => new Date(ms).toISOString().slice(0, 10))).size).toBeGreaterThanOrEqual(DAYS);
    expect(runs.length).toBeGreaterThanOrEqual(DAYS * 24 - 1);
    for (const ms of starts) expect(new Date(ms).getUTCMinutes()).toBe(5);
  });

  it('makes the healthy loader succeed every time, with its stages, targets and rows', async () => {
    const runs = await runsOf(DEMO_PIPELINES.healthy);
    expect(new Set(runs.map((run) => run.result))).toEqual(new Set(['success']));
    const latest = await runDetail(runs[0].run_id);
    expect(latest.stages.map((stage: any) => stage.stage)).toEqual(['extract', 'transform', 'load_orders', 'load_order_items']);
    expect(latest.stages.map((stage: any) => stage.target)).toEqual([
      null,
      null,
      { namespace: 'dw', collection: 'orders' },
      { namespace: 'dw', collection: 'order_items' },
    ]);
    expect(latest.rows.read).toBeGreaterThan(0);
    expect(latest.rows.written).toBe(latest.rows.read);
    expect(latest.source_system).toBe('postgres');
    expect(latest.service_name).toBe('pipemon-demo');
  });

  it('fails about one flaky run in four, with two error types, and its latest run failed', async () => {
    const runs = await runsOf(DEMO_PIPELINES.flaky);
    const failed = runs.filter((run) => run.result === 'failure');
    expect(failed.length / runs.length).toBeGreaterThan(0.1);
    expect(failed.length / runs.length).toBeLessThan(0.45);
    expect(new Set(failed.map((run) => run.error.type))).toEqual(new Set(['ConnectionResetError', 'SchemaMismatchError']));
    expect(runs[0].result).toBe('failure');
    const detail = await runDetail(failed[0].run_id);
    expect(detail.stages.find((stage: any) => stage.result === 'failure').error.type).toBe(failed[0].error.type);
  });

  it('makes the drifting pipeline slower day after day', async () => {
    const runs = await runsOf(DEMO_PIPELINES.drifting);
    const mean = (items: any[]) => items.reduce((sum, run) => sum + run.duration_seconds, 0) / items.length;
    const firstDay = runs.filter((run) => Date.parse(run.started_at) < NOW - (DAYS - 1) * DAY);
    const lastDay = runs.filter((run) => Date.parse(run.started_at) > NOW - DAY);
    expect(mean(lastDay)).toBeGreaterThan(1.5 * mean(firstDay));
  });

  it('records the exec pipeline reading rows and writing none', async () => {
    const runs = await runsOf(DEMO_PIPELINES.zeroRows);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run).toMatchObject({ result: 'success', rows: { written: 0 } });
    expect(runs.every((run) => run.rows.read > 0)).toBe(true);
    const detail = await runDetail(runs[0].run_id);
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ stage: 'export', attributes: { [ATTR.processExitCode]: 0 } });
  });

  it('records rejected rows and failing data-quality checks', async () => {
    const runs = await runsOf(DEMO_PIPELINES.quality);
    expect(runs.every((run) => run.rows.rejected > 0)).toBe(true);
    const { rows } = await r.receiver.db.query<{ name: string; passed: string; n: number }>(
      `SELECT attributes->>'${ATTR.checkName}' AS name, attributes->>'${ATTR.checkPassed}' AS passed, count(*)::int AS n
         FROM logs WHERE tenant_id = $1 AND pipeline = $2 AND event_name = $3 GROUP BY 1, 2`,
      [tenantId, DEMO_PIPELINES.quality, EVENT.check],
    );
    const failed = Object.fromEntries(rows.filter((row) => row.passed === 'false').map((row) => [row.name, row.n]));
    expect(failed.null_ratio).toBe(runs.length);
    expect(failed.duplicates).toBeGreaterThan(0);
    const failedRecords = await r.receiver.db.query<{ severity_text: string }>(
      `SELECT DISTINCT severity_text FROM logs WHERE tenant_id = $1 AND event_name = $2 AND attributes->>'${ATTR.checkPassed}' = 'false'`,
      [tenantId, EVENT.check],
    );
    expect(failedRecords.rows).toEqual([{ severity_text: 'WARN' }]);
  });

  it('stops the daily pipeline two days ago', async () => {
    const runs = await runsOf(DEMO_PIPELINES.stopped);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    const lastSuccess = Date.parse(runs.find((run) => run.result === 'success').ended_at);
    expect(NOW - lastSuccess).toBeGreaterThan(2 * DAY);
    expect(NOW - lastSuccess).toBeLessThan(3 * DAY + HOUR);
  });

  it('leaves one run hanging: started, heartbeats that stopped over half an hour ago, no end', async () => {
    const hung = await runDetail(summary.backfill.hungRunId!);
    expect(hung).toMatchObject({ pipeline: DEMO_PIPELINES.hanging, state: 'running', result: null, ended_at: null });
    const lastSeen = Date.parse(hung.last_seen_at);
    expect(NOW - lastSeen).toBeGreaterThan(30 * 60_000);
    expect(NOW - lastSeen).toBeLessThan(2 * HOUR);
    expect(lastSeen - Date.parse(hung.started_at)).toBeGreaterThanOrEqual(20 * 60_000);
    expect(hung.stages).toMatchObject([{ stage: 'snapshot', state: 'running' }]);
    const heartbeats = await r.receiver.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM logs WHERE tenant_id = $1 AND run_id = $2 AND event_name = $3',
      [tenantId, hung.run_id, EVENT.runHeartbeat],
    );
    expect(heartbeats.rows[0]!.n).toBe(25);
    const runs = await runsOf(DEMO_PIPELINES.hanging);
    expect(runs[0].run_id).toBe(hung.run_id);
    expect(runs.slice(1).every((run) => run.result === 'success')).toBe(true);
  });

  it('resends the same seed as the same records, which the receiver stores once', async () => {
    const before = await stored(tenantId);
    const again = await runDemo({ endpoint: r.url, key: r.key, days: DAYS, seed: SEED, now: () => NOW });
    expect(again).toEqual(summary);
    expect(await stored(tenantId)).toEqual(before);
  });

  it('gives another seed other run ids', async () => {
    const other = await r.keyFor('other-seed', ['ingest', 'read']);
    const sent = await runDemo({ endpoint: r.url, key: other, days: 1, seed: SEED + 1, now: () => NOW });
    const ours = new Set((await runsOf(DEMO_PIPELINES.healthy)).map((run) => run.run_id));
    const theirs = (await runsOf(DEMO_PIPELINES.healthy, other)).map((run) => run.run_id);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.filter((id) => ours.has(id))).toEqual([]);
    expect(sent.backfill.hungRunId).not.toBe(summary.backfill.hungRunId);
  });
});

describe('pipemon demo: the command line', () => {
  it('exits 2 with the reason on bad flags', async () => {
    for (const [argv, reason] of [
      [['--days', 'many'], '--days must be a number, got "many"'],
      [['--days', '99'], '--days must be an integer from 0 to 28, got 99'],
      [['--seed', '1.5'], '--seed must be a non-negative integer, got 1.5'],
      [['--dayz', '3'], "Unknown option '--dayz'"],
      [['--endpoint', 'not a url', '--key', 'k'], 'endpoint "not a url" is not a URL'],
    ] as const) {
      const { code, stderr } = await captured(() => demoCli([...argv]));
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr).toContain(reason);
      expect(stderr).toContain('pipemon demo [--days 7]');
    }
  });

  it('explains where to find a key when it has none', async () => {
    vi.stubEnv('PIPEMON_API_KEY', '');
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', '');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-demo-'));
    try {
      const { code, stderr } = await captured(() => demoCli(['--endpoint', r.url, '--data-dir', dataDir]));
      expect(code).toBe(2);
      expect(stderr).toContain(`no API key: pass --key KEY, set PIPEMON_API_KEY, or start the receiver with "npm start"`);
      expect(stderr).toContain(path.join(dataDir, 'default-api-key'));
    } finally {
      vi.unstubAllEnvs();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('uses the key the receiver saved in its data directory', async () => {
    vi.stubEnv('PIPEMON_API_KEY', '');
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', '');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-demo-'));
    fs.writeFileSync(path.join(dataDir, 'default-api-key'), `${await r.keyFor('saved-key', ['ingest', 'read'])}\n`);
    try {
      const { code, stdout } = await captured(() => demoCli(['--endpoint', r.url, '--data-dir', dataDir, '--days', '1']));
      expect(code).toBe(0);
      expect(stdout).toContain('sent 1 days of history');
      expect(stdout).toMatch(/payments-sync\s+team-finance\s+\d+ runs: \d+ success, \d+ failure/);
      expect((await stored(await tenantOf('saved-key'))).pipeline_runs).toBeGreaterThan(0);
    } finally {
      vi.unstubAllEnvs();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says so when nothing listens at the endpoint, and when the receiver refuses the key', async () => {
    const port = await closedPort();
    const unreachable = await captured(() => demoCli(['--endpoint', `http://127.0.0.1:${port}`, '--key', 'k']));
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach the receiver at http://127.0.0.1:${port} (ECONNREFUSED): start one with "npm start"`);

    const refused = await captured(() => demoCli(['--endpoint', r.url, '--key', 'pm_1_nope_secret']));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the receiver at ${r.url} refused the API key from --key (HTTP 401`);

    const readOnly = await captured(async () => demoCli(['--endpoint', r.url, '--key', await r.keyFor('acme', ['read'])]));
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toContain('(HTTP 403: API key');
  });
});

/** A run's records as their kinds and attribute names, without the values: what must match between the SDK and the backfill. */
async function recordShapes(tenant: number, runId: string): Promise<Set<string>> {
  const keys = (column: string) => `(SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(${column}) k)`;
  const logs = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT event_name, stage, severity_text, scope_name, ${keys('attributes')} AS keys, ${keys('resource_attributes')} AS resource
       FROM logs WHERE tenant_id = $1 AND run_id = $2 AND event_name <> $3`,
    [tenant, runId, EVENT.runHeartbeat],
  );
  const spans = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT name, kind, status_code, scope_name, ${keys('attributes')} AS keys, ${keys('resource_attributes')} AS resource,
            (SELECT string_agg(e->>'name', ',') FROM jsonb_array_elements(events) e) AS events
       FROM spans WHERE tenant_id = $1 AND run_id = $2`,
    [tenant, runId],
  );
  return new Set([...logs.rows, ...spans.rows].map((row) => JSON.stringify(row)));
}

let liveTenant: number | undefined;

describe('pipemon demo --live', () => {
  it('keeps running new runs through the SDK and pipemon exec until stopped, then stops cleanly with all of them delivered', async () => {
    const key = await r.keyFor('live', ['ingest', 'read']);
    const tenant = await tenantOf('live');
    liveTenant = tenant;
    const controller = new AbortController();
    const started = Date.now();
    const lines: string[] = [];
    const demo = runDemo({ endpoint: r.url, key, days: 0, seed: 5, live: true, liveIntervalSeconds: 1, signal: controller.signal, log: (line) => lines.push(line) });
    const endedBy = async () =>
      (
        await r.receiver.db.query<{ pipeline: string; n: number }>(
          "SELECT pipeline, count(*)::int AS n FROM pipeline_runs WHERE tenant_id = $1 AND state = 'ended' GROUP BY pipeline",
          [tenant],
        )
      ).rows;
    let ended: { pipeline: string; n: number }[] = [];
    const live = SCENARIOS.filter((scenario) => scenario.live !== 'none').map((scenario) => scenario.pipeline);
    const poll = setInterval(() => void endedBy().then((rows) => (ended = rows)), 200);
    try {
      await until(() => live.every((pipeline) => (ended.find((row) => row.pipeline === pipeline)?.n ?? 0) >= 2), 'two live runs of each pipeline are stored', 20_000);
    } finally {
      clearInterval(poll);
    }
    controller.abort();
    const result = await demo;

    const runs = await r.receiver.db.query<{ pipeline: string; state: string; started_at: Date; attributes: any }>(
      'SELECT pipeline, state, started_at, attributes FROM pipeline_runs WHERE tenant_id = $1',
      [tenant],
    );
    // Everything the demo counted arrived, and nothing is left running.
    const counted = Object.values(result.live!.pipelines).reduce((sum, entry) => sum + entry.total, 0);
    expect(runs.rows).toHaveLength(counted);
    expect(runs.rows.filter((run) => run.state !== 'ended')).toEqual([]);
    expect(runs.rows.every((run) => new Date(run.started_at).getTime() >= started)).toBe(true);
    expect(new Set(runs.rows.map((run) => run.pipeline))).toEqual(new Set(live));
    expect(runs.rows.find((run) => run.pipeline === DEMO_PIPELINES.zeroRows)!.attributes[ATTR.processCommand]).toContain(' -e ');
    expect(lines.some((line) => line.includes('via pipemon exec'))).toBe(true);
    expect(lines).toContain('live: stopped; every live run was delivered:');
  });

  it('backfills the same records as the SDK and pipemon exec make live, only in the past', async () => {
    expect(liveTenant, 'the live test ran first').toBeDefined();
    for (const pipeline of [DEMO_PIPELINES.healthy, DEMO_PIPELINES.zeroRows]) {
      const live = (await runsOf(pipeline, await r.keyFor('live', ['read'])))[0].run_id;
      const past = (await runsOf(pipeline))[0].run_id;
      const shapes = await recordShapes(liveTenant!, live);
      expect(shapes.size).toBeGreaterThan(5);
      expect(await recordShapes(tenantId, past), pipeline).toEqual(shapes);
    }
  });

  it('stops on SIGTERM from the command line', async () => {
    expect(fs.existsSync(DEMO_CLI), `${DEMO_CLI} is missing: build first (npm run build)`).toBe(true);
    const key = await r.keyFor('live-cli', ['ingest', 'read']);
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { demoCli } = await import(${JSON.stringify(DEMO_CLI)}); process.exitCode = await demoCli(process.argv.slice(1));`,
        '--',
        '--endpoint', r.url, '--key', key, '--days', '0', '--live', '--live-interval', '0.5',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until(() => output.includes('  live  '), 'the first live run is reported', 15_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output).toBe(0);
    expect(output).toContain('pipemon demo: SIGTERM: letting the runs in flight finish');
    expect(output).toContain('live: stopped; every live run was delivered:');
  });
});
