/**
 * Receivers scale out because they keep no state: three `pipemon serve` processes on one PostgreSQL
 * server, clients that pick one at random for every request (as a load balancer would), each run's
 * start, stages and end spread over several receivers in any order, resends, and one receiver killed
 * with kill -9 mid-stream. Every record must be stored once and every run derived once, with its result,
 * and every surviving receiver's /metrics must report the pipeline's last success as the database has it.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../receiver/storage/open.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { sleep } from '../helpers/async.js';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { spawnPipemon, tempDataDir, type PipemonProcess } from '../helpers/pipemon-process.js';
import { logsRequest, post, SeverityNumber, type LogSpec } from '../helpers/receiver.js';

const RUNS = 120;
const CLIENTS = 8;
const STAGES = ['extract', 'load'] as const;
const PIPELINE = 'scale-out';
/** Each record's own id, so that stored records can be counted one by one. */
const RECORD = 'test.record';

/** The records of run `i`, each its own request: start, each stage's start and end, the end. */
function runRecords(i: number, baseMs: number): { id: string; spec: LogSpec }[] {
  const runId = `run-${i}`;
  const result = i % 4 === 0 ? 'failure' : 'success';
  const run = { [ATTR.pipelineName]: PIPELINE, [ATTR.runId]: runId };
  const records: LogSpec[] = [{ eventName: EVENT.runStart, attributes: run, timestampMs: baseMs }];
  STAGES.forEach((stage, s) => {
    const attributes = { ...run, [ATTR.stageName]: stage, [ATTR.stageRunId]: `${runId}-${stage}` };
    records.push({ eventName: EVENT.stageStart, attributes, timestampMs: baseMs + 1000 * (2 * s + 1) });
    records.push({
      eventName: EVENT.stageEnd,
      attributes: { ...attributes, [ATTR.stageResult]: 'success', [ATTR.rowsWritten]: 10 },
      timestampMs: baseMs + 1000 * (2 * s + 2),
    });
  });
  records.push({
    eventName: EVENT.runEnd,
    severityNumber: result === 'failure' ? SeverityNumber.ERROR : SeverityNumber.INFO,
    attributes: { ...run, [ATTR.runResult]: result },
    timestampMs: baseMs + 10_000,
  });
  return records.map((spec, n) => {
    const id = `${runId}/${n}`;
    return { id, spec: { ...spec, attributes: { ...spec.attributes, [RECORD]: id } } };
  });
}

/** Fisher-Yates with a seeded generator: the order records arrive in differs per run, and per test run alike. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** When the pipeline's latest successful run ended, in Unix seconds, as the database has it. */
async function lastSuccessInDatabase(databaseUrl: string): Promise<number> {
  const db = await openDatabase({ databaseUrl });
  try {
    const { rows } = await db.query<{ seconds: number | null }>(
      `SELECT extract(epoch FROM max(ended_at))::float8 AS seconds FROM pipeline_runs WHERE pipeline = $1 AND result = 'success'`,
      [PIPELINE],
    );
    if (rows[0]?.seconds == null) throw new Error(`no successful run of ${PIPELINE} in the database: the runs were not derived`);
    return rows[0].seconds;
  } finally {
    await db.close();
  }
}

/** The pipeline's pipemon_pipeline_last_success_timestamp_seconds series in a /metrics text: labels and value. */
function lastSuccessSeries(text: string): { labels: string; value: number }[] {
  return [...text.matchAll(/^pipemon_pipeline_last_success_timestamp_seconds\{([^}]*)\} (\S+)$/gm)]
    .filter((match) => match[1]!.includes(`pipeline="${PIPELINE}"`))
    .map((match) => ({ labels: match[1]!, value: Number(match[2]) }));
}

describe('three receivers on one PostgreSQL server', () => {
  it('store every record once and derive every run once, whatever receiver each record reaches, with one killed mid-stream', async () => {
    const databaseUrl = await createTestDatabase(testServerUrl());
    // One data directory: with DATABASE_URL it only holds the default key, which the first receiver writes.
    const dataDir = tempDataDir();
    const receivers: PipemonProcess[] = [];
    for (let i = 0; i < 3; i++) receivers.push(await spawnPipemon(dataDir, databaseUrl));
    const key = receivers[0]!.key;
    const alive = new Set(receivers);

    const baseMs = Date.now() - 3_600_000;
    const requests = shuffle(
      Array.from({ length: RUNS }, (_, i) => runRecords(i, baseMs + i * 20_000)).flat(),
      42,
    );
    let next = 0;
    let resent = 0;
    let retried = 0;
    // Requests the killed receiver refused: a normal send (then retried elsewhere) or a resend.
    let refusedByVictim = 0;
    const acknowledged = new Set<string>();
    const client = async (c: number) => {
      let state = c + 1;
      const pick = () => {
        state = (state * 48_271) % 2_147_483_647;
        const candidates = [...alive];
        // Only on a failing run: without this, the loop below would retry on no receiver forever.
        if (candidates.length === 0) {
          const outputs = receivers.map((r, n) => `--- receiver ${n} (${r.url}):\n${r.output().slice(-2000)}`).join('\n');
          throw new Error(`every receiver refused a request and left the rotation, ${requests.length - acknowledged.size} records unacknowledged:\n${outputs}`);
        }
        return candidates[state % candidates.length]!;
      };
      while (next < requests.length) {
        const { id, spec } = requests[next++]!;
        const body = logsRequest([spec]);
        // Until a receiver acknowledges it: another one after a refused connection or a 503.
        for (;;) {
          const target = pick();
          try {
            const { status } = await post(target.url, '/v1/logs', body, { key });
            if (status === 200) break;
            expect(status).toBe(503);
          } catch {
            // The killed receiver: taken out of rotation, as a load balancer's health check would.
            alive.delete(target);
            refusedByVictim++;
          }
          retried++;
          await sleep(20);
        }
        acknowledged.add(id);
        // One request in five is sent again, to another receiver, as after a lost response.
        if (state % 5 === 0) {
          const target = pick();
          const again = await post(target.url, '/v1/logs', body, { key }).catch(() => {
            alive.delete(target);
            refusedByVictim++;
          });
          if (typeof again === 'object') {
            expect(again.status).toBe(200);
            resent++;
          }
        }
      }
    };
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    // Handled here so that a client's failure stops the wait below; `await clients` reports it.
    let clientsDone = false;
    void clients.then(
      () => (clientsDone = true),
      () => (clientsDone = true),
    );
    while (next < requests.length / 3 && !clientsDone) await sleep(10);
    // Killed while clients still pick it: they find out as a load balancer does, by a refused request.
    const victim = receivers[1]!;
    victim.child.kill('SIGKILL');
    await clients;
    await victim.exited;
    const survivors = receivers.filter((r) => r !== victim);
    expect([...alive], 'only the killed receiver left the rotation').toEqual(survivors);

    // The last-success gauge is read from the database at each scrape: every receiver reports the same
    // value, whichever receivers saw the runs end (a gauge kept in each receiver's memory would differ).
    const lastSuccessSeconds = await lastSuccessInDatabase(databaseUrl);
    for (const receiver of survivors) {
      const metrics = await fetch(`${receiver.url}/metrics`);
      const text = await metrics.text();
      expect(metrics.status, text).toBe(200);
      expect(lastSuccessSeries(text), `${receiver.url}/metrics`).toEqual([{ labels: `tenant="default",pipeline="${PIPELINE}"`, value: lastSuccessSeconds }]);
    }

    for (const receiver of alive) {
      receiver.child.kill('SIGTERM');
      expect(await receiver.exited).toEqual({ code: 0, signal: null });
    }

    expect(acknowledged.size).toBe(requests.length);
    expect(resent).toBeGreaterThan(0);
    // The first request to meet it may be a resend, which takes it out of rotation before any send does.
    expect(refusedByVictim, 'no request met the killed receiver').toBeGreaterThan(0);
    const db = await openDatabase({ databaseUrl });
    try {
      const { rows: logs } = await db.query<{ id: string; n: number }>(
        `SELECT attributes->>'${RECORD}' AS id, count(*)::int AS n FROM logs GROUP BY 1 HAVING count(*) <> 1`,
      );
      expect(logs, 'records stored other than once').toEqual([]);
      const { rows: total } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
      expect(total[0]!.n).toBe(requests.length);

      // Start and end, not duration: a run whose end arrives before its start keeps no duration yet.
      const { rows: runs } = await db.query<{ run_id: string; state: string; result: string; seconds: number; stages: number }>(
        `SELECT r.run_id, r.state, r.result, extract(epoch FROM r.ended_at - r.started_at)::float8 AS seconds,
                (SELECT count(*)::int FROM pipeline_stages s WHERE s.tenant_id = r.tenant_id AND s.run_id = r.run_id AND s.state = 'ended') AS stages
           FROM pipeline_runs r ORDER BY r.run_id`,
      );
      expect(runs).toHaveLength(RUNS);
      const wrong = runs.filter((run) => {
        const i = Number(run.run_id.slice('run-'.length));
        return run.state !== 'ended' || run.result !== (i % 4 === 0 ? 'failure' : 'success') || run.seconds !== 10 || run.stages !== STAGES.length;
      });
      expect(wrong, `retried ${retried} requests`).toEqual([]);
    } finally {
      await db.close();
    }
  }, 120_000);
});
