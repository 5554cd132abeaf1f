import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey } from '../../../receiver/auth/keys.js';
import { startReceiver, type Receiver } from '../../../receiver/serve.js';
import { resolveConfig } from '../../../sdk/delivery/config.js';
import { frameHeader } from '../../../sdk/spool/frames.js';
import { run, shutdown, start } from '../../../sdk/index.js';
import { eventually } from '../../helpers/async.js';
import { closedPort, spooledRecords } from '../../helpers/cli.js';
import { listenOnLoopback } from '../../helpers/net.js';
import { startHarness } from '../../helpers/sdk.js';
import { tempDir } from '../../helpers/temp.js';
import { repoPath } from '../../helpers/repo.js';

afterEach(async () => {
  await shutdown(5_000);
});

async function get(url: string, key: string, pathname: string): Promise<any> {
  const response = await fetch(`${url}${pathname}`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return response.json();
}

async function allLogs(url: string, key: string, runId: string): Promise<any[]> {
  const items: any[] = [];
  let cursor = '';
  do {
    const page = await get(url, key, `/api/v1/logs?run_id=${runId}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    items.push(...page.items);
    cursor = page.next_cursor ?? '';
  } while (cursor);
  return items;
}

/** The compiled SDK that child processes run: `npm test` builds dist/ before the suites start. */
const compiledSdk = repoPath('dist/sdk/index.js');

/** Runs a pipeline script in a child process until it prints `{ runId }` on its first line. */
async function spawnPipeline(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}: ${out}`)));
  });
  return { child, runId: (JSON.parse(line) as { runId: string }).runId };
}

const spoolFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith('.wal'));

describe('delivery that survives', () => {
  it('delivers every record exactly once when the receiver goes down during a run and comes back', async () => {
    const port = await closedPort();
    const dataDir = tempDir('pipemon-sdk-receiver-');
    let receiver: Receiver = await startReceiver({ port, dataDir });
    const { key } = await createKey(receiver.db, 'acme', ['ingest', 'read']);
    const spoolDir = tempDir('pipemon-sdk-spool-');
    const sdk = start({ endpoint: receiver.url, apiKey: key, spoolDir, flushMs: 20, exportTimeoutMs: 500, handleExit: false });

    let runId = '';
    let traceId = '';
    await run('flaky-network', async (r) => {
      runId = r.runId;
      traceId = r.traceId;
      await r.stage('before', async (s) => {
        for (let i = 0; i < 100; i++) s.log.info(`before ${i}`);
      });
      await sdk.flush(5_000);
      await receiver.close();
      await r.stage('during', async (s) => {
        for (let i = 0; i < 100; i++) s.log.info(`during ${i}`);
        s.log.error('lost connection to warehouse');
        s.rows({ written: 100 });
      });
    });
    await sdk.flush(5_000);
    expect(sdk.stats().receiverDown).toBe(true);
    expect(spoolFiles(spoolDir).length).toBeGreaterThan(0);

    receiver = await startReceiver({ port, dataDir });
    try {
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]), 30_000);
      await shutdown(5_000);

      const logs = await allLogs(receiver.url, key, runId);
      // run start + 2 x (stage start + stage end) + 200 lines + 1 error + run end
      expect(logs.length).toBe(1 + 2 * 2 + 200 + 1 + 1);
      const bodies = logs.map((l) => l.body);
      expect(new Set(bodies).size).toBe(bodies.length);
      for (let i = 0; i < 100; i++) expect(bodies).toContain(`during ${i}`);
      const traceDetail = await get(receiver.url, key, `/api/v1/traces/${traceId}`);
      expect(traceDetail.spans.length).toBe(3);
      const detail = await get(receiver.url, key, `/api/v1/runs/${runId}`);
      expect(detail).toMatchObject({ state: 'ended', result: 'success', rows: { written: 100 } });
      expect(sdk.stats().dropped).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  it('delivers at the next start what a pipeline killed with kill -9 had spooled', async () => {
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-kill-');
      const deadPort = await closedPort();
      expect(fs.existsSync(compiledSdk), `${compiledSdk} is missing: run npm run build`).toBe(true);
      const script = path.join(tempDir('pipemon-sdk-child-'), 'pipeline.mjs');
      fs.writeFileSync(
        script,
        `import { start, run } from ${JSON.stringify(pathToFileURL(compiledSdk).href)};
const sdk = start({ flushMs: 20, exportTimeoutMs: 300 });
const ids = await run('killed-pipeline', async (r) => {
  await r.stage('work', async (s) => {
    for (let i = 0; i < 50; i++) s.log.info('line ' + i);
    s.rows({ read: 50, written: 50 });
  });
  return { runId: r.runId };
});
await sdk.flush(5000);
while (sdk.stats().queued > 0 || sdk.stats().spooledBatches === 0) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify(ids));
setInterval(() => {}, 1000);
`,
      );
      const { child, runId } = await spawnPipeline(script, {
          ...process.env,
          PIPEMON_ENDPOINT: `http://127.0.0.1:${deadPort}`,
          PIPEMON_API_KEY: harness.key,
          PIPEMON_SPOOL_DIR: spoolDir,
        });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      expect(spoolFiles(spoolDir).length).toBeGreaterThan(0);

      start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 20, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]), 30_000);
      const detail = await get(harness.url, harness.key, `/api/v1/runs/${runId}`);
      expect(detail).toMatchObject({ pipeline: 'killed-pipeline', state: 'ended', result: 'success', rows: { read: 50, written: 50 } });
      expect(detail.stages).toHaveLength(1);
      expect((await allLogs(harness.url, harness.key, runId)).filter((l) => /^line \d+$/.test(l.body))).toHaveLength(50);
    } finally {
      await harness.close();
    }
  }, 60_000);

  it('keeps errors and run records when the spool is full, drops the oldest ordinary records, and reports the count', async () => {
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-full-');
      const deadPort = await closedPort();
      const sdk = start({
        endpoint: `http://127.0.0.1:${deadPort}`,
        apiKey: harness.key,
        spoolDir,
        spoolMaxBytes: 40_000,
        maxBatch: 50,
        flushMs: 10,
        exportTimeoutMs: 200,
        handleExit: false,
      });
      let runId = '';
      await run('overflow', async (r) => {
        runId = r.runId;
        for (let i = 0; i < 2000; i++) {
          r.log.info(`filler ${i} ${'x'.repeat(100)}`);
          if (i % 400 === 0) r.log.error(`error ${i}`);
          if (i % 100 === 0) await sdk.flush(2_000);
        }
      });
      await sdk.flush(5_000);
      const dropped = sdk.stats().dropped;
      expect(dropped).toBeGreaterThan(0);
      await shutdown(5_000);

      start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 20, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]), 30_000);
      const logs = await allLogs(harness.url, harness.key, runId);
      const errors = logs.filter((l) => /^error \d+$/.test(l.body)).map((l) => l.body).sort();
      expect(errors).toEqual(['error 0', 'error 1200', 'error 1600', 'error 400', 'error 800']);
      expect(logs.some((l) => l.event_name === 'pipeline.run.end')).toBe(true);
      const fillers = logs.filter((l) => l.body.startsWith('filler')).length;
      expect(fillers).toBeLessThan(2000);
      // The newest ordinary records survive: eviction takes the oldest first.
      expect(logs.some((l) => l.body.startsWith('filler 1999 '))).toBe(true);
      const report = await get(harness.url, harness.key, `/api/v1/logs?limit=1000&severity_min=WARN`);
      const droppedReports = report.items.filter((l: any) => l.event_name === 'pipemon.sdk.dropped');
      expect(droppedReports.reduce((sum: number, l: any) => sum + l.attributes['pipemon.sdk.dropped_records'], 0)).toBe(dropped);
      expect(2000 - fillers).toBe(dropped);
    } finally {
      await harness.close();
    }
  });

  it('returns from shutdown within its deadline when the receiver hangs, with the records on disk', async () => {
    const sockets = new Set<net.Socket>();
    const hang = net.createServer((socket) => sockets.add(socket));
    const port = await listenOnLoopback(hang);
    try {
      const spoolDir = tempDir('pipemon-sdk-hang-');
      start({ endpoint: `http://127.0.0.1:${port}`, spoolDir, flushMs: 10, exportTimeoutMs: 30_000, handleExit: false });
      run('hung', (r) => r.log.info('waiting'));
      const began = Date.now();
      await shutdown(700);
      expect(Date.now() - began).toBeLessThan(1_500);
      expect(spoolFiles(spoolDir).length).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hang.close(resolve));
    }
  });

  it('never throws into the caller, even with an unusable spool directory and no receiver', async () => {
    const file = path.join(tempDir('pipemon-sdk-bad-'), 'not-a-dir');
    fs.writeFileSync(file, '');
    const deadPort = await closedPort();
    const sdk = start({ endpoint: `http://127.0.0.1:${deadPort}`, spoolDir: file, flushMs: 10, exportTimeoutMs: 100, handleExit: false });
    const value = await run('no-disk', async (r) => {
      for (let i = 0; i < 100; i++) r.log.info(`line ${i}`);
      r.log.error('kept in memory');
      return 'done';
    });
    expect(value).toBe('done');
    await sdk.flush(2_000);
    expect(sdk.stats().dropped).toBeGreaterThan(0);
    // What must be kept is still held in memory, not dropped.
    expect(sdk.stats().queued).toBeGreaterThan(0);
  });

  it('spools by default in one directory per endpoint and key, so no process replays another destination', () => {
    const env = {};
    const dir = (endpoint: string, apiKey: string) => resolveConfig({ endpoint, apiKey }, env).spoolDir;
    const a = dir('http://receiver-a:4318', 'key-1');
    expect(path.dirname(a)).toBe(path.join(os.tmpdir(), `pipemon-spool-${process.getuid?.() ?? 'user'}`));
    // Stable across processes: the next start of the same pipeline finds its own spool.
    expect(dir('http://receiver-a:4318', 'key-1')).toBe(a);
    expect(dir('http://receiver-a:4318', 'key-2')).not.toBe(a);
    expect(dir('http://receiver-b:4318', 'key-1')).not.toBe(a);
    expect(a).not.toContain('key-1');
    expect(resolveConfig({ endpoint: 'http://receiver-a:4318', apiKey: 'key-1', spoolDir: '/x/y' }, env).spoolDir).toBe('/x/y');
  });

  it('keeps spooled batches when replay is refused for the key (401), and delivers them once the key is right', async () => {
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-wrong-key-');
      const deadPort = await closedPort();
      start({ endpoint: `http://127.0.0.1:${deadPort}`, apiKey: harness.key, spoolDir, flushMs: 10, exportTimeoutMs: 200, handleExit: false });
      const runId = await run('spooled-for-acme', (r) => {
        r.log.info('meant for acme');
        return r.runId;
      });
      await shutdown(2_000);
      const spooled = spoolFiles(spoolDir);
      expect(spooled.length).toBeGreaterThan(0);

      const wrong = start({ endpoint: harness.url, apiKey: 'pm_not_a_key', spoolDir, flushMs: 10, handleExit: false });
      await eventually(async () => expect(wrong.stats().receiverDown).toBe(true));
      await shutdown(2_000);
      expect(spoolFiles(spoolDir)).toEqual(spooled);
      expect(wrong.stats().dropped).toBe(0);

      start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 10, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]));
      const logs = await allLogs(harness.url, harness.key, runId);
      expect(logs.map((l) => l.body)).toContain('meant for acme');
    } finally {
      await harness.close();
    }
  });

  it('drops a spooled batch the receiver refuses as malformed (400), and reports the count', async () => {
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-malformed-');
      // A segment of a process that is gone (pid 0 never runs a pipeline), holding one frame of 7 records.
      const garbage = Buffer.from('not protobuf at all');
      fs.writeFileSync(path.join(spoolDir, `${Date.now()}-0-00000000-0-logs-n.wal`), Buffer.concat([frameHeader(garbage.length, 7), garbage]));
      const sdk = start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 10, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]));
      expect(sdk.stats().dropped).toBe(7);
      await sdk.flush(5_000);
      await eventually(async () => {
        const report = await get(harness.url, harness.key, `/api/v1/logs?limit=1000&severity_min=WARN`);
        const dropped = report.items.filter((l: any) => l.event_name === 'pipemon.sdk.dropped');
        expect(dropped.map((l: any) => l.attributes['pipemon.sdk.dropped_records'])).toEqual([7]);
      });
    } finally {
      await harness.close();
    }
  });

  it("spools a run's records when the application's own SIGTERM handler calls process.exit() during our flush", async () => {
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-sigterm-');
      const script = path.join(tempDir('pipemon-sdk-child-'), 'pipeline.mjs');
      fs.writeFileSync(
        script,
        `import { start, run } from ${JSON.stringify(pathToFileURL(compiledSdk).href)};
start({ flushMs: 60000 });
// Registered after start(): ours runs first and begins shutdown, then this one exits at once.
process.on('SIGTERM', () => process.exit(0));
const runId = await run('sigterm-pipeline', async (r) => {
  for (let i = 0; i < 20; i++) r.log.info('line ' + i);
  return r.runId;
});
console.log(JSON.stringify({ runId }));
setInterval(() => {}, 1000);
`,
      );
      const { child, runId } = await spawnPipeline(script, { ...process.env, PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;

      start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 20, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]));
      const detail = await get(harness.url, harness.key, `/api/v1/runs/${runId}`);
      expect(detail).toMatchObject({ pipeline: 'sigterm-pipeline', state: 'ended', result: 'success' });
      expect((await allLogs(harness.url, harness.key, runId)).filter((l) => /^line \d+$/.test(l.body))).toHaveLength(20);
    } finally {
      await harness.close();
    }
  }, 60_000);

  it('spools a batch in flight at the shutdown deadline once, even when its export fails afterwards', async () => {
    const sockets = new Set<net.Socket>();
    const hang = net.createServer((socket) => sockets.add(socket));
    const port = await listenOnLoopback(hang);
    const harness = await startHarness();
    try {
      const spoolDir = tempDir('pipemon-sdk-in-flight-');
      const sdk = start({ endpoint: `http://127.0.0.1:${port}`, spoolDir, flushMs: 10, exportTimeoutMs: 800, handleExit: false });
      const runId = await run('in-flight', (r) => {
        r.log.info('waiting');
        return r.runId;
      });
      await eventually(async () => expect(sdk.stats().queued).toBe(0));
      await shutdown(200);
      const records = () => spooledRecords(spoolDir);
      // run start, 'waiting', run end, and the run's span.
      expect(records()).toBe(4);
      // The in-flight exports time out now, after shutdown spooled their batches.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(records()).toBe(4);

      start({ endpoint: harness.url, apiKey: harness.key, spoolDir, flushMs: 20, handleExit: false });
      await eventually(async () => expect(spoolFiles(spoolDir)).toEqual([]));
      expect((await allLogs(harness.url, harness.key, runId)).map((l) => l.body)).toContain('waiting');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hang.close(resolve));
      await harness.close();
    }
  });
});
