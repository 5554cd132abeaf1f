/**
 * The promise of the write-ahead spool, tried as a user would break it: a pipeline process using the
 * compiled SDK is killed with a real `kill -9` at random moments, several times over one spool, each
 * next start replaying what the last one left, against a real receiver.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shutdown, start } from '../../sdk/index.js';
import { ERROR_TYPE } from '../../contract/vocabulary.js';
import { eventually } from '../helpers/async.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { tempDir } from '../helpers/temp.js';
import { repoPath } from '../helpers/repo.js';

const compiledSdk = repoPath('dist/sdk/index.js');

/**
 * One run that never ends: per step a stage with ordinary records, every 5th step an error record. After
 * each step (in the same synchronous block as its emits) a progress line says what had been emitted
 * and how many records the SDK still held in memory only.
 */
const PIPELINE = `
import fs from 'node:fs';
import { start, run } from ${JSON.stringify(pathToFileURL(compiledSdk).href)};
const sdk = start({ flushMs: 50, heartbeatSeconds: 1, handleExit: false });
const progress = fs.openSync(process.env.PROGRESS_FILE, 'a');
let ordinary = 0, errors = 0, stages = 0;
await run('killed-' + process.env.ROUND, async (r) => {
  console.log(JSON.stringify({ runId: r.runId }));
  for (let step = 0; ; step++) {
    await r.stage('stage ' + step, async (s) => {
      for (let i = 0; i < 10; i++) s.log.info('ordinary ' + ordinary++);
      if (step % 5 === 0) s.log.error('error ' + errors++);
    });
    stages++;
    fs.writeSync(progress, JSON.stringify({ ordinary, errors, stages, queued: sdk.stats().queued }) + '\\n');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
});
`;

/**
 * Metrics of runs, into a spool no receiver reads: in MODE=ended the process kills itself as soon as its
 * run's promise resolves (its last collection must be on disk by then); in MODE=running a second run counts one a step (its metrics collected every
 * 50 ms) until the test kills it.
 */
const METRICS_PIPELINE = `
import fs from 'node:fs';
import { start, run } from ${JSON.stringify(pathToFileURL(compiledSdk).href)};
start({ metricIntervalMs: 50, heartbeatSeconds: 0, handleExit: false });
const ended = await run('metrics-ended', async (r) => {
  r.meter.createCounter('orders.rows').add(42, { table: 'orders' });
  return r.runId;
});
if (process.env.MODE === 'ended') {
  console.log(JSON.stringify({ runId: ended }));
  process.kill(process.pid, 'SIGKILL');
}
const progress = fs.openSync(process.env.PROGRESS_FILE, 'a');
await run('metrics-killed', async (r) => {
  console.log(JSON.stringify({ runId: r.runId }));
  const rows = r.meter.createCounter('orders.rows');
  for (let step = 1; ; step++) {
    rows.add(1);
    fs.writeSync(progress, step + '\\n');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
});
`;

interface Progress {
  ordinary: number;
  errors: number;
  stages: number;
  queued: number;
}

async function killAtRandom(script: string, env: NodeJS.ProcessEnv, afterMs: number): Promise<string> {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const runId = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.slice(0, out.indexOf('\n'))) as { runId: string }).runId);
    });
    child.once('exit', (code) => reject(new Error(`pipeline exited before its run started (${code}): ${out}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return runId;
}

/** Runs `script`, which kills itself with SIGKILL after printing its run id; returns the id. */
async function killedByItself(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  expect(signal, `the pipeline should have killed itself: ${out}`).toBe('SIGKILL');
  return (JSON.parse(out.slice(0, out.indexOf('\n'))) as { runId: string }).runId;
}

/** The last whole progress line: a kill mid-line leaves a part that is no promise. */
function lastProgress(file: string): Progress {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.endsWith('}'));
  return JSON.parse(lines.at(-1)!) as Progress;
}

describe('a pipeline killed with kill -9 at random moments', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    // One backend: the storage contract is other suites' subject; this one is the SDK's.
    receiver = await startTestReceiver(await receiverBackends()[0]!.options());
  });
  afterAll(async () => {
    await shutdown(5_000);
    await receiver?.close();
  });

  async function logsOf(runId: string): Promise<Array<{ body: string; event_name: string | null }>> {
    const items: Array<{ body: string; event_name: string | null }> = [];
    let cursor = '';
    do {
      const response = await fetch(`${receiver.url}/api/v1/logs?run_id=${encodeURIComponent(runId)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { authorization: `Bearer ${receiver.key}` },
      });
      const page = (await response.json()) as { items: typeof items; next_cursor?: string | null };
      items.push(...page.items);
      cursor = page.next_cursor ?? '';
    } while (cursor);
    return items;
  }

  it('delivers every error and stage end whose emit returned, loses at most the buffered ordinary records, duplicates nothing, and ends each run as error', async () => {
    expect(fs.existsSync(compiledSdk), `${compiledSdk} is missing: run npm run build`).toBe(true);
    const spoolDir = tempDir('pipemon-kill-spool-');
    const script = path.join(tempDir('pipemon-kill-child-'), 'pipeline.mjs');
    fs.writeFileSync(script, PIPELINE);
    const rounds: Array<{ runId: string; progress: Progress; afterMs: number }> = [];
    for (let round = 0; round < 4; round++) {
      const progressFile = path.join(path.dirname(script), `progress-${round}.jsonl`);
      const afterMs = 300 + Math.floor(Math.random() * 1500);
      const env = {
        ...process.env,
        PIPEMON_ENDPOINT: receiver.url,
        PIPEMON_API_KEY: receiver.key,
        PIPEMON_SPOOL_DIR: spoolDir,
        PROGRESS_FILE: progressFile,
        ROUND: String(round),
      };
      const runId = await killAtRandom(script, env, afterMs);
      rounds.push({ runId, progress: lastProgress(progressFile), afterMs });
    }

    // The next start: it replays the last process's spool and ends its run.
    const sdk = start({ endpoint: receiver.url, apiKey: receiver.key, spoolDir, flushMs: 20, handleExit: false });
    await eventually(async () => {
      await sdk.flush(5_000);
      expect(fs.readdirSync(spoolDir).filter((name) => name.endsWith('.wal'))).toEqual([]);
    }, 60_000);
    await shutdown(5_000);

    const lost: number[] = [];
    for (const { runId, progress, afterMs } of rounds) {
      const context = `run ${runId} killed after ${afterMs} ms at ${JSON.stringify(progress)}`;
      const logs = await logsOf(runId);
      const bodies = logs.map((l) => l.body);
      expect(new Set(bodies).size, `duplicates in ${context}`).toBe(bodies.length);
      const have = new Set(bodies);
      for (let i = 0; i < progress.errors; i++) expect(have.has(`error ${i}`), `error ${i} of ${context}`).toBe(true);
      const stageEnds = new Set(logs.filter((l) => l.event_name === 'pipeline.stage.end').map((l) => l.body));
      for (let i = 0; i < progress.stages; i++) expect(stageEnds.has(`stage success: stage ${i}`), `stage ${i} of ${context}`).toBe(true);
      // Lost ordinary records: only among the newest ones the SDK still held in memory at the last report.
      const missing = [];
      for (let i = 0; i < progress.ordinary; i++) if (!have.has(`ordinary ${i}`)) missing.push(i);
      expect(missing.every((i) => i >= progress.ordinary - progress.queued), `missing ${missing.join(',')} of ${context}`).toBe(true);
      lost.push(missing.length);

      const detail = await eventually(async () => {
        const response = await fetch(`${receiver.url}/api/v1/runs/${encodeURIComponent(runId)}`, { headers: { authorization: `Bearer ${receiver.key}` } });
        const body = (await response.json()) as { state: string; result: string; error: { type: string } | null };
        expect(body.state).toBe('ended');
        return body;
      });
      expect(detail.result, context).toBe('error');
      expect(detail.error?.type).toBe(ERROR_TYPE.processDied);
    }
    console.log(
      JSON.stringify({
        kill_suite: rounds.map((r, i) => ({ after_ms: r.afterMs, ordinary_emitted: r.progress.ordinary, errors: r.progress.errors, stages: r.progress.stages, buffered_at_last_report: r.progress.queued, ordinary_lost: lost[i] })),
      }),
    );
  }, 240_000);

  it('keeps a run\'s last metric values when killed as its run ends, and the collections before a kill mid-run', async () => {
    expect(fs.existsSync(compiledSdk), `${compiledSdk} is missing: run npm run build`).toBe(true);
    const spoolDir = tempDir('pipemon-kill-metrics-spool-');
    const script = path.join(tempDir('pipemon-kill-metrics-child-'), 'pipeline.mjs');
    fs.writeFileSync(script, METRICS_PIPELINE);
    const progressFile = path.join(path.dirname(script), 'progress');
    // Port 9 (discard) refuses the connection: everything stays in the spool for the next start.
    const env = { ...process.env, PIPEMON_ENDPOINT: 'http://127.0.0.1:9', PIPEMON_SPOOL_DIR: spoolDir, PROGRESS_FILE: progressFile };
    const ended = await killedByItself(script, { ...env, MODE: 'ended' });
    const afterMs = 300 + Math.floor(Math.random() * 500);
    const killed = await killAtRandom(script, { ...env, MODE: 'running' }, afterMs);
    const steps = Number(fs.readFileSync(progressFile, 'utf8').trim().split('\n').at(-1));

    const sdk = start({ endpoint: receiver.url, apiKey: receiver.key, spoolDir, flushMs: 20, handleExit: false });
    await eventually(async () => {
      await sdk.flush(5_000);
      expect(fs.readdirSync(spoolDir).filter((name) => name.endsWith('.wal'))).toEqual([]);
    }, 60_000);
    await shutdown(5_000);

    const values = async (runId: string) =>
      (
        await receiver.receiver.db.query<{ value: number }>(
          `SELECT p.value FROM metric_streams s JOIN metric_points p USING (tenant_id, stream_id)
            WHERE s.run_id = $1 AND s.metric_name = 'orders.rows' ORDER BY p.time_unix_nano`,
          [runId],
        )
      ).rows.map((row) => row.value);
    expect(await values(ended)).toContain(42);
    // Cumulative sums, collected every 50 ms until the kill: none above what was counted, the newest within the last collections.
    const collected = await values(killed);
    const context = `killed after ${afterMs} ms at step ${steps}: ${JSON.stringify(collected)}`;
    expect(collected.length, context).toBeGreaterThan(0);
    expect(collected, context).toEqual([...collected].sort((a, b) => a - b));
    expect(collected.at(-1)!, context).toBeLessThanOrEqual(steps);
  }, 120_000);
});
