import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { execMonitored, parseExecArgs, parseInterval, parseLine } from '../sdk/exec.js';
import { shutdown } from '../sdk/index.js';
import { tempDir, useHarness } from './helpers/sdk.js';

const harness = useHarness('pipemon-sdk-exec-');

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
    expect(detail).toMatchObject({ result: 'failure', error: { type: 'CommandFailedError' } });
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
    expect(detail.result).toBe('success');
    expect(detail.stages).toHaveLength(1);
    expect(detail.stages[0]).toMatchObject({ stage: 'load', result: 'success', rows: { read: 15, written: 14, rejected: 1 } });
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
    expect(parseLine('plain', 'stdout')).toEqual({ level: 'info', message: 'plain', attributes: {}, rows: null });
    expect(parseLine('[1,2]', 'stderr').level).toBe('warn');
  });

  it('makes a child that uses the SDK part of its run: the child\'s run becomes a stage, in the same trace', async () => {
    startSdk();
    const sdk = fileURLToPath(new URL('../dist/sdk/index.js', import.meta.url));
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
    const cli = fileURLToPath(new URL('../dist/bin/pipemon.js', import.meta.url));
    expect(fs.existsSync(cli), `${cli} is missing: run npm run build`).toBe(true);
    // Asynchronous on purpose: the receiver runs in this process and must answer while the command runs.
    const child = spawn(
      process.execPath,
      [cli, 'exec', '--pipeline', 'cli-job', '--', process.execPath, '-e', 'console.log("hi"); process.exit(7)'],
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

describe('pipemon exec arguments', () => {
  it('leaves the command\'s own flags alone, with or without --', () => {
    expect(parseExecArgs(['--pipeline', 'p', '--', 'python', '-u', 'job.py'])).toEqual({ pipeline: 'p', command: ['python', '-u', 'job.py'] });
    expect(parseExecArgs(['--stage=load', 'node', '-e', 'x', '--pipeline', 'q'])).toEqual({ stage: 'load', command: ['node', '-e', 'x', '--pipeline', 'q'] });
    expect(() => parseExecArgs(['--run-id'])).toThrow('--run-id needs a value');
  });

  it('takes an owner and an expected interval in seconds or with a unit, and refuses other intervals', () => {
    expect(parseExecArgs(['--owner', 'team-data', '--expected-interval=1h', 'job'])).toEqual({
      owner: 'team-data',
      expectedIntervalSeconds: 3600,
      command: ['job'],
    });
    expect(['90', '90s', '15m', '1h', '1.5d'].map(parseInterval)).toEqual([90, 90, 900, 3600, 129_600]);
    for (const bad of ['0', '-5m', 'hourly', '1w', '']) {
      expect(() => parseInterval(bad)).toThrow(/--expected-interval must be a positive duration such as 90s, 15m, 1h or 1d/);
    }
    expect(() => parseExecArgs(['--expected-interval', 'daily', 'job'])).toThrow(/got "daily"/);
  });
});
