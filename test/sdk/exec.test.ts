import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { execMonitored, parseLine, parseTimestamp } from '../../sdk/exec.js';
import { shutdown } from '../../sdk/index.js';
import { useHarness } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { required, tool, withTools } from '../helpers/tools.js';
import { CLI } from '../helpers/pipemon-process.js';
import { repoPath } from '../helpers/repo.js';

const harness = useHarness('pipemon-sdk-exec-');
const PYTHON_HINT = "install Python 3 (Debian's python3)";
const python = tool('sdk-exec', 'python3', PYTHON_HINT);

/** A Python script in a fresh directory, run as `python3 etl.py` would be. */
function pythonScript(source: string): { command: string; args: string[] } {
  const file = path.join(tempDir('pipemon-sdk-exec-py-'), 'etl.py');
  fs.writeFileSync(file, source);
  return { command: required('python3', python, PYTHON_HINT), args: [file] };
}

const startSdk = () => harness.startSdk();

async function latestRun(pipeline: string): Promise<any> {
  const list = await harness.get(`/api/v1/runs?pipeline=${pipeline}&limit=1`);
  expect(list.body.items).toHaveLength(1);
  return (await harness.get(`/api/v1/runs/${list.body.items[0].run_id}`)).body;
}

async function logsOf(runId: string): Promise<any[]> {
  return (await harness.get(`/api/v1/logs?run_id=${runId}&limit=1000`)).body.items;
}

describe('pipemon exec', () => {
  it('passes a failing exit code through and records the run as failure with its output lines', async () => {
    startSdk();
    const code = await execMonitored({
      command: process.execPath,
      args: ['-e', "console.log('extracting'); console.error('warehouse unreachable'); process.exit(3)"],
      pipeline: 'nightly-export',
      owner: 'team-data',
      expectedIntervalSeconds: 86_400,
      echo: false,
    });
    expect(code).toBe(3);
    await shutdown(10_000);

    const detail = await latestRun('nightly-export');
    // No line at ERROR or worse (stderr alone is WARN): the exit code is all there is to say.
    expect(detail).toMatchObject({ result: 'failure', error: { type: 'CommandFailedError', message: `${process.execPath} exited with code 3` } });
    expect(detail.attributes).toMatchObject({
      'process.exit.code': 3,
      'pipemon.pipeline.owner': 'team-data',
      'pipemon.pipeline.expected_interval_seconds': 86_400,
    });
    const logs = await logsOf(detail.run_id);
    const out = logs.find((l) => l.body === 'extracting');
    const err = logs.find((l) => l.body === 'warehouse unreachable');
    expect(out).toMatchObject({ severity_text: 'INFO', attributes: { 'log.iostream': 'stdout' } });
    expect(err).toMatchObject({ severity_text: 'WARN', attributes: { 'log.iostream': 'stderr' } });
  });

  it('turns JSON lines into structured records with levels, messages and row counts, as a stage', async () => {
    startSdk();
    const script = [
      `console.log(JSON.stringify({ level: 'info', msg: 'loaded batch', table: 'orders', rows_read: 10, rows_written: 9, rows_rejected: 1 }))`,
      `console.log(JSON.stringify({ levelname: 'ERROR', message: 'bad row', row: 7, password: 'x' }))`,
      `console.log(JSON.stringify({ level: 40, msg: 'slow query', rows: { read: 5, written: 5 } }))`,
      `console.log('{not json')`,
    ].join(';');
    const code = await execMonitored({ command: process.execPath, args: ['-e', script], pipeline: 'json-loader', stage: 'load', echo: false });
    expect(code).toBe(0);
    await shutdown(10_000);

    const detail = await latestRun('json-loader');
    expect(detail).toMatchObject({ result: 'success', error: null, attributes: { 'process.exit.code': 0 } });
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ stage: 'load', result: 'success', rows: { read: 15, written: 14, rejected: 1 } });
    expect(detail.stages[0].attributes).toMatchObject({ 'process.exit.code': 0 });
    expect(detail.stages[0].attributes).not.toHaveProperty('pipemon.stage.failure_allowed');
    const logs = await logsOf(detail.run_id);
    expect(logs.find((l) => l.body === 'loaded batch')).toMatchObject({ severity_text: 'INFO', stage: 'load', attributes: { table: 'orders' } });
    expect(logs.find((l) => l.body === 'bad row')).toMatchObject({ severity_number: 17, attributes: { row: 7, password: '***' } });
    expect(logs.find((l) => l.body === 'slow query')).toMatchObject({ severity_text: 'WARN' });
    expect(logs.find((l) => l.body === '{not json')).toMatchObject({ severity_text: 'INFO' });
  });

  it('stores every line of a command that prints the same line many times in one millisecond', async () => {
    startSdk();
    const code = await execMonitored({
      command: process.execPath,
      args: ['-e', "for (let i = 0; i < 50; i++) console.log('same line')"],
      pipeline: 'repeating-lines',
      echo: false,
    });
    expect(code).toBe(0);
    await shutdown(10_000);
    const detail = await latestRun('repeating-lines');
    expect((await logsOf(detail.run_id)).filter((l) => l.body === 'same line')).toHaveLength(50);
  });

  it('records a command that does not exist as error and answers 127 like a shell', async () => {
    startSdk();
    const code = await execMonitored({ command: 'pipemon-no-such-command-xyz', pipeline: 'ghost', echo: false });
    expect(code).toBe(127);
    await shutdown(10_000);
    const detail = await latestRun('ghost');
    expect(detail).toMatchObject({ result: 'error', error: { type: 'ENOENT' } });
  });

  it('parses levels of pino, Python logging and plain text', () => {
    expect(parseLine('{"level":50,"msg":"x"}', 'stdout').level).toBe('error');
    expect(parseLine('{"levelno":20,"message":"x"}', 'stdout').level).toBe('info');
    expect(parseLine('{"severity":"WARNING","message":"x"}', 'stdout').level).toBe('warn');
    expect(parseLine('{"level":"constructor","message":"x"}', 'stdout').level).toBe('info');
    expect(parseLine('plain', 'stdout')).toEqual({ level: 'info', message: 'plain', attributes: {}, rows: null });
    expect(parseLine('[1,2]', 'stderr').level).toBe('warn');
  });

  it('reads the level a plain line starts with, and an uncaught exception\'s line on stderr as ERROR', () => {
    const level = (line: string, stream: 'stdout' | 'stderr' = 'stderr') => parseLine(line, stream).level;
    expect(level('ERROR:root:load failed')).toBe('error');
    expect(level('INFO:root:loaded 12 rows')).toBe('info');
    expect(level('[error] connection reset', 'stdout')).toBe('error');
    expect(level('CRITICAL disk full', 'stdout')).toBe('fatal');
    expect(level('ValueError: amount must be positive')).toBe('error');
    expect(level('pandas.errors.EmptyDataError: No columns to parse from file')).toBe('error');
    // The rest of a traceback, and words that only look like levels, stay as their stream says.
    expect(level('Traceback (most recent call last):')).toBe('warn');
    expect(level('    raise ValueError(amount)')).toBe('warn');
    expect(level('error rate below 1%', 'stdout')).toBe('info');
    expect(level('ValueError: printed, not raised', 'stdout')).toBe('info');
  });

  it('maps CRITICAL, crit, FATAL, pino 60 and Python levelno 50 to FATAL, stored as severity 21', async () => {
    const lines = [
      { levelname: 'CRITICAL', message: 'python critical' },
      { level: 'crit', msg: 'syslog crit' },
      { level: 'Fatal', msg: 'fatal by name' },
      { level: 60, msg: 'pino fatal' },
      { levelno: 50, message: 'python levelno 50' },
    ];
    for (const line of lines) expect(parseLine(JSON.stringify(line), 'stdout').level).toBe('fatal');

    startSdk();
    const script = lines.map((line) => `console.log(${JSON.stringify(JSON.stringify(line))})`).join(';');
    expect(await execMonitored({ command: process.execPath, args: ['-e', script], pipeline: 'fatal-levels', echo: false })).toBe(0);
    await shutdown(10_000);
    const logs = await logsOf((await latestRun('fatal-levels')).run_id);
    for (const line of lines) {
      expect(logs.find((l) => l.body === (line.message ?? line.msg))).toMatchObject({ severity_number: 21, severity_text: 'FATAL' });
    }
  });

  withTools(python)('fails the run with its stage when a Python script exits 1, with its last ERROR line as the error', async () => {
    startSdk();
    const script = pythonScript(`
import datetime, json, sys

def log(level, message, **fields):
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
    print(json.dumps({"level": level, "message": message, "timestamp": stamp, **fields}), flush=True)

log("INFO", "loading orders", rows_read=0)
log("ERROR", "retrying: connection reset")
print("checking row counts", file=sys.stderr, flush=True)
log("ERROR", "Data quality failure: 0 rows")
sys.exit(1)
`);
    const code = await execMonitored({ ...script, pipeline: 'orders-load', stage: 'load', echo: false });
    expect(code).toBe(1);
    await shutdown(10_000);

    const detail = await latestRun('orders-load');
    const error = { type: 'CommandFailedError', message: 'Data quality failure: 0 rows' };
    expect(detail).toMatchObject({ result: 'failure', error, attributes: { 'process.exit.code': 1 } });
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ stage: 'load', result: 'failure', error, attributes: { 'process.exit.code': 1 } });
    const logs = await logsOf(detail.run_id);
    for (const event of ['pipeline.run.end', 'pipeline.stage.end']) {
      expect(logs.find((l) => l.event_name === event).attributes).toMatchObject({
        'exception.message': 'Data quality failure: 0 rows',
        'process.exit.code': 1,
      });
    }
  });

  withTools(python)('takes an uncaught Python exception\'s last traceback line as the error', async () => {
    startSdk();
    const script = pythonScript(`
import json
print(json.dumps({"level": "WARNING", "message": "3 orders without amount"}), flush=True)
raise ValueError("amount must be positive, got -3")
`);
    expect(await execMonitored({ ...script, pipeline: 'orders-validate', echo: false })).toBe(1);
    await shutdown(10_000);
    const detail = await latestRun('orders-validate');
    expect(detail).toMatchObject({
      result: 'failure',
      error: { type: 'CommandFailedError', message: 'ValueError: amount must be positive, got -3' },
      attributes: { 'process.exit.code': 1 },
    });
  });

  withTools(python)('records a JSON line at its own time, seconds, milliseconds or ISO 8601, in the order written', async () => {
    startSdk();
    const script = pythonScript(`
import datetime, json, time

base = int(time.time()) - 60  # a whole second, a minute ago
def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()
whole_second = datetime.datetime.fromtimestamp(base + 2, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
for line in [
    {"level": "INFO", "message": "first", "timestamp": iso(base + 0.25)},
    {"levelname": "INFO", "message": "second", "created": base + 0.5},
    {"level": 30, "msg": "third", "time": (base + 1) * 1000},
    {"level": "INFO", "message": "fourth", "ts": whole_second},
    {"level": "INFO", "message": "fifth", "ts": whole_second},
    {"level": "INFO", "message": "sixth", "timestamp": "after lunch"},
    {"base": base},
]:
    print(json.dumps(line))
`);
    expect(await execMonitored({ ...script, pipeline: 'stamped-lines', echo: false })).toBe(0);
    await shutdown(10_000);

    const logs = await logsOf((await latestRun('stamped-lines')).run_id);
    const base = BigInt(logs.find((l) => l.attributes.base !== undefined).attributes.base);
    const names = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth'];
    const stamped = logs
      .filter((l) => names.includes(l.body))
      .sort((a, b) => (BigInt(a.time_unix_nano) < BigInt(b.time_unix_nano) ? -1 : 1));
    expect(stamped.map((l) => l.body)).toEqual(names);
    const nanos = (ms: number) => (base * 1000n + BigInt(ms)) * 1_000_000n;
    expect(stamped.slice(0, 5).map((l) => BigInt(l.time_unix_nano))).toEqual([
      nanos(250),
      nanos(500),
      nanos(1000),
      nanos(2000),
      // The same second as the line before it: a microsecond later, so that it sorts after it.
      nanos(2000) + 1000n,
    ]);
    expect(stamped[0].attributes).not.toHaveProperty('timestamp');
    // A time it cannot read stays as written, and the record takes the time it arrived.
    expect(stamped[5].attributes.timestamp).toBe('after lunch');
    expect(BigInt(stamped[5].time_unix_nano)).toBeGreaterThanOrEqual(nanos(60_000));
  });

  it('ends the stage and its run as cancellation when a signal it forwarded stopped the command', async () => {
    startSdk();
    const exec = execMonitored({
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)'],
      pipeline: 'stopped-job',
      stage: 'load',
      forwardSignals: ['SIGUSR2'],
      echo: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(process.pid, 'SIGUSR2');
    expect(await exec).toBe(128 + os.constants.signals.SIGUSR2);
    await shutdown(10_000);
    const detail = await latestRun('stopped-job');
    expect(detail).toMatchObject({ result: 'cancellation', attributes: { 'process.exit.code': 128 + os.constants.signals.SIGUSR2 } });
    expect(detail.stages[0]).toMatchObject({ stage: 'load', result: 'cancellation' });
  });

  it('with --allow-failure fails the stage only, marked tolerated, and still passes the exit code through', async () => {
    startSdk();
    const code = await execMonitored({
      command: process.execPath,
      args: ['-e', `console.log(JSON.stringify({ level: 'error', msg: 'enrichment service unreachable' })); process.exit(2)`],
      pipeline: 'orders-enrich',
      stage: 'enrich',
      allowFailure: true,
      echo: false,
    });
    expect(code).toBe(2);
    await shutdown(10_000);
    const detail = await latestRun('orders-enrich');
    expect(detail).toMatchObject({ result: 'success', error: null, attributes: { 'process.exit.code': 2 } });
    expect(detail.stages[0]).toMatchObject({
      stage: 'enrich',
      result: 'failure',
      error: { type: 'CommandFailedError', message: 'enrichment service unreachable' },
      attributes: { 'pipemon.stage.failure_allowed': true, 'process.exit.code': 2 },
    });
  });

  it('makes a child that uses the SDK part of its run: the child\'s run becomes a stage, in the same trace', async () => {
    startSdk();
    const sdk = repoPath('dist/sdk/index.js');
    expect(fs.existsSync(sdk), `${sdk} is missing: run npm run build`).toBe(true);
    const script = `
      import { run, shutdown, start } from ${JSON.stringify(sdk)};
      start({ endpoint: process.env.PIPEMON_ENDPOINT, apiKey: process.env.PIPEMON_API_KEY, handleExit: false, heartbeatSeconds: 0 });
      await run('child-job', async (r) => {
        await r.stage('load', (s) => s.rows({ read: 5, written: 5 }));
      });
      await shutdown(10000);`;
    const code = await execMonitored({
      command: process.execPath,
      args: ['--input-type=module', '-e', script],
      pipeline: 'parent-job',
      echo: false,
      env: { ...process.env, PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: tempDir('pipemon-sdk-child-') },
    });
    expect(code).toBe(0);
    await shutdown(10_000);

    const parent = await latestRun('parent-job');
    expect(parent).toMatchObject({ state: 'ended', result: 'success' });
    const stages = new Map(parent.stages.map((stage: any) => [stage.stage, stage]));
    expect(stages.get('child-job')).toMatchObject({ state: 'ended', result: 'success' });
    expect(stages.get('load')).toMatchObject({ state: 'ended', result: 'success', rows: { read: 5, written: 5 } });
    // No run of its own: the child joined the exec's run.
    expect((await harness.get('/api/v1/runs?pipeline=child-job')).body.items).toEqual([]);
    const trace = (await harness.get(`/api/v1/traces/${parent.trace_id}`)).body;
    const spans = new Map(trace.spans.map((span: any) => [span.name, span]));
    const root = trace.spans.find((span: any) => span.parent_span_id === null);
    expect((spans.get('child-job') as any).parent_span_id).toBe(root.span_id);
    expect((spans.get('load') as any).parent_span_id).toBe((spans.get('child-job') as any).span_id);
  });

  it('exits the pipemon command with the command\'s exit code, after delivering the run', async () => {
    const spoolDir = tempDir('pipemon-sdk-cli-');
    // The compiled command, as installed: `npm test` builds dist/ before the suites start.
    expect(fs.existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
    // Asynchronous on purpose: the receiver runs in this process and must answer while the command runs.
    const child = spawn(
      process.execPath,
      [CLI, 'exec', '--pipeline', 'cli-job', '--', process.execPath, '-e', 'console.log("hi"); process.exit(7)'],
      { env: { ...process.env, PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const result = { stdout, status };
    expect(result.stdout).toContain('hi');
    expect(result.status).toBe(7);
    expect(await latestRun('cli-job')).toMatchObject({ result: 'failure', attributes: { 'process.exit.code': 7 } });
  });
});

describe('the time of an output line', () => {
  it('reads ISO 8601 times, and epoch numbers as seconds or milliseconds by their size', () => {
    expect(parseTimestamp('2026-05-01T10:00:00.123456+00:00')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 123));
    expect(parseTimestamp('2026-05-01 10:00:00,5Z')).toBe(Date.UTC(2026, 4, 1, 10, 0, 0, 500));
    expect(parseTimestamp(1_777_629_600.25)).toBe(1_777_629_600_250);
    expect(parseTimestamp(1_777_629_600_250)).toBe(1_777_629_600_250);
    for (const unreadable of ['2026-05-01', 'yesterday', '1777629600', 0, -5, null, true]) expect(parseTimestamp(unreadable)).toBeUndefined();
  });

});
