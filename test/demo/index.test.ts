import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../bin/command.js';
import { demoCommand } from '../../bin/demo.js';
import { DEMO_DATASETS, DEMO_PIPELINES, runDemo, SCENARIOS, type DemoSummary, type Scenario } from '../../demo/index.js';
import { runIdFor } from '../../demo/random.js';
import { planRun, sdkRun } from '../../demo/run-context.js';
import { CLOSING, historySlots, slotsBetween, type Slot } from '../../demo/schedule.js';
import type { Run } from '../../sdk/activity/run.js';
import { pipemon, shutdown, start } from '../../sdk/activity/telemetry.js';
import { readPipelineUpstreams } from '../../receiver/query/pipeline-upstreams.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';
import { sleep, until } from '../helpers/async.js';
import { backends } from '../helpers/backends.js';
import { captured, closedPort } from '../helpers/cli.js';
import { getJson, startTestReceiver, type TestReceiver } from '../helpers/receiver.js';
import { CLI } from '../helpers/pipemon-process.js';
import { tempDir } from '../helpers/temp.js';

/** `pipemon demo` in this process, as bin/pipemon.ts runs it. */
const demoCli = async (argv: string[]) => (await runCommand(demoCommand, argv))!;
const SEED = 42;
const DAYS = 3;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
// A fixed clock for the backfill: both sends of the same seed make the same history. It differs from
// one test run to the next, so every assertion must hold whatever the current time.
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

/** The backfilled runs of a send, by run id: what the demo makes of the seed and the slots that exist at `nowMs`. */
function backfilledRuns(nowMs: number, days = DAYS): Map<string, { scenario: Scenario; slot: Slot }> {
  return new Map(
    SCENARIOS.flatMap((scenario) =>
      historySlots(scenario.schedule, scenario.history, nowMs, days).map((slot) => [runIdFor(SEED, 'backfill', scenario.pipeline, slot.slotMs), { scenario, slot }] as const),
    ),
  );
}

/** Every stored run of a tenant with all it is made of: its row in pipeline_runs and how many records of each kind it has. */
async function storedRuns(tenant: number): Promise<Map<string, Record<string, unknown>>> {
  const count = (table: string) => `(SELECT count(*)::int FROM ${table} t WHERE t.tenant_id = p.tenant_id AND t.run_id = p.run_id)`;
  const { rows } = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT p.*, ${count('logs')} AS log_records, ${count('spans')} AS span_rows, ${count('pipeline_stages')} AS stage_rows
       FROM pipeline_runs p WHERE p.tenant_id = $1`,
    [tenant],
  );
  return new Map(rows.map((row) => [row.run_id as string, row]));
}

async function stored(tenant: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['logs', 'spans', 'pipeline_runs', 'pipeline_stages']) {
    const { rows } = await r.receiver.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenant]);
    counts[table] = rows[0]!.n;
  }
  return counts;
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

  it('fails one flaky run in every four scheduled, with two error types, and its closing run, the latest', async () => {
    const runs = await runsOf(DEMO_PIPELINES.flaky);
    const failed = runs.filter((run) => run.result === 'failure');
    expect(failed.length).toBe(summary.backfill.pipelines[DEMO_PIPELINES.flaky]!.runs.failure);
    // The closing run starts off the hourly schedule, after every scheduled run has ended, and fails.
    const [closing, ...scheduled] = runs;
    expect(closing.result).toBe('failure');
    expect([7, 22, 37, 52]).toContain(new Date(closing.started_at).getUTCMinutes());
    expect(scheduled.every((run) => new Date(run.started_at).getUTCMinutes() === 20)).toBe(true);
    expect(Math.max(...scheduled.map((run) => Date.parse(run.ended_at)))).toBeLessThan(Date.parse(closing.started_at));
    // Exactly one in each block of four consecutive slots: n runs hold between floor(n/4) - 1 and ceil(n/4) + 1 whole or cut blocks.
    const failedScheduled = scheduled.filter((run) => run.result === 'failure').length;
    expect(failedScheduled).toBeGreaterThanOrEqual(Math.floor(scheduled.length / 4) - 1);
    expect(failedScheduled).toBeLessThanOrEqual(Math.ceil(scheduled.length / 4) + 1);
    // Each failure picks its cause at random: with ~19 failures, one cause only has a chance of 2^-18.
    expect(new Set(failed.map((run) => run.error.type))).toEqual(new Set(['ConnectionResetError', 'SchemaMismatchError']));
    const detail = await runDetail(failed[0].run_id);
    expect(detail.stages.find((stage: any) => stage.result === 'failure').error.type).toBe(failed[0].error.type);
  });

  it('makes the drifting pipeline about 25% slower each day of the UTC week', async () => {
    const runs = await runsOf(DEMO_PIPELINES.drifting);
    const hour = (run: any) => Math.floor(Date.parse(run.started_at) / HOUR) * HOUR;
    // UTC weeks start on Monday, 4 days after the epoch (a Thursday): the weekly maintenance resets the drift.
    const week = (ms: number) => Math.floor((ms - 4 * DAY) / WEEK);
    const byHour = new Map(runs.map((run) => [hour(run), run]));
    let pairs = 0;
    for (const run of runs) {
      const dayBefore = byHour.get(hour(run) - DAY);
      if (!dayBefore || week(hour(run)) !== week(hour(dayBefore))) continue;
      // 1.25 times the day before, each run give or take 5%: from 1.25 * 0.95 / 1.05 to 1.25 * 1.05 / 0.95.
      const ratio = run.duration_seconds / dayBefore.duration_seconds;
      expect(ratio, run.started_at).toBeGreaterThan(1.13);
      expect(ratio, run.started_at).toBeLessThan(1.39);
      pairs++;
    }
    // Of the ~47 pairs a day apart in 3 days, at most 24 straddle a Monday.
    expect(pairs).toBeGreaterThanOrEqual(20);
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

  it('chains a loader, a report and an export through shared datasets; the loader failed and what depends on it has not run since', async () => {
    const { loader, report, export: exporter } = DEMO_PIPELINES;
    // The lineage the receiver derived from the runs' inputs and outputs: who writes what the next one reads.
    expect((await readPipelineUpstreams(r.receiver.db, tenantId)).map(({ pipeline, upstream }) => `${upstream} -> ${pipeline}`)).toEqual([
      `${report} -> ${exporter}`,
      `${loader} -> ${report}`,
    ]);
    const { rows: edges } = await r.receiver.db.query<{ pipeline: string; direction: string; dataset: string }>(
      `SELECT DISTINCT e.pipeline, e.direction, d.dataset FROM lineage_edges e JOIN datasets d USING (tenant_id, dataset_id)
        WHERE e.tenant_id = $1 AND e.pipeline = ANY($2) ORDER BY 1, 2, 3`,
      [tenantId, [loader, report, exporter]],
    );
    expect(edges.map((e) => `${e.pipeline} ${e.direction} ${e.dataset}`)).toEqual([
      `${loader} read ${DEMO_DATASETS.shopOrderLines}`,
      `${loader} read ${DEMO_DATASETS.shopOrders}`,
      `${loader} write ${DEMO_DATASETS.orders}`,
      `${exporter} read ${DEMO_DATASETS.dailyRevenue}`,
      `${exporter} write ${DEMO_DATASETS.revenueFile}`,
      `${report} read ${DEMO_DATASETS.orders}`,
      `${report} write ${DEMO_DATASETS.dailyRevenue}`,
    ]);
    // The loader's closing run, three hours ago or a quarter hour more, failed on the shop's schema change.
    const [closing, ...before] = await runsOf(loader);
    expect(closing).toMatchObject({ result: 'failure', error: { type: 'UndefinedColumnError' } });
    expect(NOW - Date.parse(closing.started_at)).toBeGreaterThanOrEqual(3 * HOUR);
    expect(NOW - Date.parse(closing.started_at)).toBeLessThan(3 * HOUR + 15 * MINUTE);
    expect(new Set(before.map((run) => run.result))).toEqual(new Set(['success']));
    // The report and the export last succeeded before it: over two of their hourly intervals ago.
    for (const pipeline of [report, exporter]) {
      const runs = await runsOf(pipeline);
      expect(new Set(runs.map((run) => run.result)), pipeline).toEqual(new Set(['success']));
      expect(Date.parse(runs[0].ended_at), pipeline).toBeLessThan(Date.parse(closing.started_at));
      expect(NOW - Date.parse(runs[0].ended_at), pipeline).toBeGreaterThan(2 * HOUR);
    }
  });

  it('resends the same seed as the same records, which the receiver stores once', async () => {
    const before = await stored(tenantId);
    const again = await runDemo({ endpoint: r.url, key: r.key, days: DAYS, seed: SEED, now: () => NOW });
    expect(again).toEqual(summary);
    expect(await stored(tenantId)).toEqual(before);
  });

  it('resends the same seed later as the same records: only the slots that did not exist before add rows', async () => {
    const key = await r.keyFor('later', ['ingest', 'read']);
    const tenant = await tenantOf('later');
    let before = new Map<string, Record<string, unknown>>();
    let resent = 0;
    for (const nowMs of [NOW, NOW + HOUR, NOW + DAY]) {
      const sent = await runDemo({ endpoint: r.url, key, days: DAYS, seed: SEED, now: () => nowMs });
      const after = await storedRuns(tenant);
      // A run sent before is stored as it was: no record added, the same result, duration and rows.
      for (const [runId, run] of before) expect(after.get(runId), `${run.pipeline} run ${runId} after the send at now + ${nowMs - NOW} ms`).toEqual(run);
      // The new runs are those of the slots that did not exist before; earlier closing runs stay as they were.
      const runs = backfilledRuns(nowMs);
      const added = [...after.keys()].filter((runId) => !before.has(runId));
      expect(new Set(added)).toEqual(new Set([...runs.keys()].filter((runId) => !before.has(runId))));
      // And what this send sent is exactly what its runs hold: every resent record was one the receiver had.
      const sum = (column: string) => [...runs.keys()].reduce((total, runId) => total + (after.get(runId)![column] as number), 0);
      expect(sum('log_records')).toBe(sent.backfill.logRecords);
      expect(sum('span_rows')).toBe(sent.backfill.spans);
      resent += [...runs.keys()].filter((runId) => before.has(runId)).length;
      before = after;
    }
    // The two later sends overlapped the earlier ones: 71 of the 72 hours, then 2 of the 3 days.
    expect(resent).toBeGreaterThan(400);
    expect((await stored(tenant)).logs).toBe([...before.values()].reduce((total, run) => total + (run.log_records as number), 0));
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

  it('refuses to backfill while the SDK already runs in the process, and leaves it running and nothing of its own registered', async () => {
    const spoolDir = tempDir('pipemon-demo-running-');
    const sdk = start({ endpoint: r.url, apiKey: r.key, spoolDir, handleExit: false });
    try {
      await expect(runDemo({ endpoint: r.url, key: r.key, days: 1, seed: SEED, now: () => NOW })).rejects.toThrow(
        `the pipemon SDK already runs in this process (for ${sdk.config.endpoint})`,
      );
      expect(pipemon()).toBe(sdk);
    } finally {
      await shutdown(10_000);
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
    // The backfill's providers were unregistered: the next one registers its own again.
    expect((await runDemo({ endpoint: r.url, key: r.key, days: 1, seed: SEED, now: () => NOW })).backfill.spans).toBeGreaterThan(0);
  });
});

describe('pipemon demo: a run depends on its slot alone', () => {
  /** The pipeline minutes a scenario's run works at a slot, through a Run that only runs the stages. */
  async function minutesWorked(scenario: Scenario, mode: 'backfill' | 'live', schedule: Scenario['schedule'], slotMs: number): Promise<number> {
    let minutes = 0;
    const stage = { rows: () => undefined, set: () => undefined, log: { info: () => undefined, warn: () => undefined } };
    const run = { stage: async (_name: string, options: unknown, fn?: (s: unknown) => Promise<void>) => (fn ?? (options as typeof fn))!(stage) };
    const { context } = planRun({
      seed: SEED,
      mode,
      pipeline: scenario.pipeline,
      schedule,
      slot: { slotMs, closing: false },
      work: async (n) => void (minutes += n),
      hang: () => Promise.reject(new Error('no run hangs here')),
    });
    await scenario.body(run as unknown as Run, context);
    return minutes;
  }

  it('drifts live as in the backfill, by the week of the slot: past midnight, durations stay within a week\'s range', async () => {
    const drifting = SCENARIOS.find((scenario) => scenario.pipeline === DEMO_PIPELINES.drifting)!;
    // Live runs every second for five weeks around now (sampled every 7 hours and 1 s): 12 minutes on
    // Sunday night at most, 12 * 0.8^7 (2.5) on Monday morning at least, give or take 5%.
    const live = { everyMs: 1000, offsetMs: 0 };
    const monday = Math.floor((NOW - 4 * DAY) / WEEK) * WEEK + 4 * DAY;
    for (let slotMs = monday - 2 * WEEK; slotMs < monday + 3 * WEEK; slotMs += 7 * HOUR + 1000) {
      const minutes = await minutesWorked(drifting, 'live', live, slotMs);
      expect(minutes, new Date(slotMs).toISOString()).toBeGreaterThan(12 * 0.8 ** 7 * 0.95);
      expect(minutes, new Date(slotMs).toISOString()).toBeLessThan(12 * 1.05);
      expect(await minutesWorked(drifting, 'live', live, slotMs)).toBe(minutes);
    }
    // The weekly maintenance: the last run before Monday 00:00 takes over 3.5 times the first after it.
    const before = await minutesWorked(drifting, 'backfill', drifting.schedule, monday - 25 * MINUTE);
    const after = await minutesWorked(drifting, 'backfill', drifting.schedule, monday + 35 * MINUTE);
    expect(before / after).toBeGreaterThan(3.5);
  });

  it('starts closing runs off every schedule, so that an instant is never both a closing and a scheduled run', () => {
    for (const scenario of SCENARIOS) {
      for (const slotMs of slotsBetween(scenario.schedule, NOW - 4 * WEEK, NOW)) {
        expect((slotMs - CLOSING.offsetMs) % CLOSING.everyMs, `${scenario.pipeline} at ${new Date(slotMs).toISOString()}`).not.toBe(0);
      }
    }
  });
});

describe('pipemon demo: the command line', () => {
  it('exits 2 with the reason on bad flags', async () => {
    for (const [argv, reason] of [
      [['--days', 'many'], '--days must be a number, got "many"'],
      [['--days', '99'], '--days must be an integer from 0 to 28, got 99'],
      [['--seed', '1.5'], '--seed must be a non-negative integer, got 1.5'],
      [['--dayz', '3'], 'unknown option "--dayz"'],
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
    const dataDir = tempDir('pipemon-demo-');
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
    const dataDir = tempDir('pipemon-demo-');
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

const keys = (column: string) => `(SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(${column}) k)`;
/** A log record without its values: its kind, severity, attribute names and body with the numbers blanked. */
const LOG_SHAPE = `event_name, stage, severity_text, scope_name, ${keys('attributes')} AS keys, ${keys('resource_attributes')} AS resource,
  regexp_replace(body, '[0-9]+', '#', 'g') AS body`;

/**
 * A run's records as their kinds, attribute names and body shapes, without the values: what must match
 * between the SDK and the backfill. Heartbeats apart (heartbeatShapes): a run has as many as its length.
 */
async function recordShapes(tenant: number, runId: string): Promise<Set<string>> {
  const logs = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT ${LOG_SHAPE} FROM logs WHERE tenant_id = $1 AND run_id = $2 AND event_name IS DISTINCT FROM $3`,
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

/** The shapes of a pipeline's heartbeats, over all its runs in the tenant. */
async function heartbeatShapes(tenant: number, pipeline: string): Promise<Set<string>> {
  const { rows } = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT DISTINCT ${LOG_SHAPE} FROM logs WHERE tenant_id = $1 AND pipeline = $2 AND event_name = $3`,
    [tenant, pipeline, EVENT.runHeartbeat],
  );
  return new Set(rows.map((row) => JSON.stringify(row)));
}

/** What decides which records a run has: its result, error and rows, and which checks failed. */
async function outcomeOf(tenant: number, runId: string): Promise<Record<string, unknown>> {
  const { rows } = await r.receiver.db.query<Record<string, unknown>>(
    `SELECT result, error_type, rows_read, rows_written, rows_rejected,
            (SELECT string_agg(l.attributes->>'${ATTR.checkName}', ',' ORDER BY l.attributes->>'${ATTR.checkName}') FROM logs l
              WHERE l.tenant_id = p.tenant_id AND l.run_id = p.run_id AND l.event_name = '${EVENT.check}' AND l.attributes->>'${ATTR.checkPassed}' = 'false') AS failed_checks
       FROM pipeline_runs p WHERE tenant_id = $1 AND run_id = $2`,
    [tenant, runId],
  );
  expect(rows, `run ${runId} of tenant ${tenant}`).toHaveLength(1);
  return rows[0]!;
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
    let result: DemoSummary;
    try {
      await until(() => live.every((pipeline) => (ended.find((row) => row.pipeline === pipeline)?.n ?? 0) >= 2), 'two live runs of each pipeline are stored', 20_000);
    } finally {
      // Also when the wait fails: a demo left running keeps spawning `pipemon exec` and spooling after the receiver closes.
      clearInterval(poll);
      controller.abort();
      result = await demo;
    }

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
      // Live runs beat once per (compressed) pipeline minute, as backfilled ones every 60 s.
      const beats = await heartbeatShapes(liveTenant!, pipeline);
      expect(beats.size, `${pipeline}'s live heartbeats`).toBe(1);
      expect(await heartbeatShapes(tenantId, pipeline), pipeline).toEqual(beats);
    }
  });

  it('backfills failed runs and data-quality checks as the SDK records them, replaying backfilled runs through it', async () => {
    // A backfilled run replayed live: the same context (seed, slot, numbers), so the same outcome and
    // the same records, made by the SDK's run() in real time instead of on the backfill's clock.
    const runs = backfilledRuns(NOW);
    const runIds: string[] = [];
    const pick = async (pipeline: string, result: string, errorType?: string) => {
      const found = (await runsOf(pipeline)).find((run) => runs.get(run.run_id)?.slot.closing === false && run.result === result && run.error?.type === errorType);
      expect(found, `a backfilled ${pipeline} run to replay: ${result} ${errorType ?? ''}`).toBeDefined();
      runIds.push(found.run_id);
    };
    await pick(DEMO_PIPELINES.flaky, 'failure', 'ConnectionResetError');
    await pick(DEMO_PIPELINES.flaky, 'failure', 'SchemaMismatchError');
    await pick(DEMO_PIPELINES.flaky, 'success');
    await pick(DEMO_PIPELINES.healthy, 'success');
    // Two checks failing and one passing: about 4 quality runs in 10, so one of the 24 in 3 days but for a chance of 2e-6.
    for (const run of await runsOf(DEMO_PIPELINES.quality)) {
      if ((await outcomeOf(tenantId, run.run_id)).failed_checks === 'duplicates,null_ratio') {
        runIds.push(run.run_id);
        break;
      }
    }
    expect(runIds, 'a quality run whose duplicates and null_ratio checks failed').toHaveLength(5);

    const key = await r.keyFor('replay', ['ingest', 'read']);
    const tenant = await tenantOf('replay');
    const spoolDir = tempDir('pipemon-demo-replay-');
    // A pipeline minute lasts 40 ms and the SDK beats every 10: a run of a minute or more beats live as it did in the past.
    start({ endpoint: r.url, apiKey: key, serviceName: 'pipemon-demo', environment: 'demo', spoolDir, handleExit: false });
    try {
      for (const runId of runIds) {
        const { scenario, slot } = runs.get(runId)!;
        const { context } = planRun({
          seed: SEED,
          mode: 'backfill',
          pipeline: scenario.pipeline,
          schedule: scenario.schedule,
          slot,
          work: async (minutes) => void (await sleep(minutes * 40)),
          hang: () => Promise.reject(new Error('no replayed run hangs')),
        });
        await sdkRun(scenario, runId, context, { heartbeatSeconds: 0.01 });
      }
    } finally {
      await shutdown(10_000);
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }
    await until(async () => [...(await storedRuns(tenant)).values()].filter((run) => run.state === 'ended').length === runIds.length, 'the replayed runs are stored', 10_000);

    for (const runId of runIds) {
      const { pipeline } = runs.get(runId)!.scenario;
      expect(await outcomeOf(tenant, runId), `${pipeline} run ${runId} replayed`).toEqual(await outcomeOf(tenantId, runId));
      const shapes = await recordShapes(tenant, runId);
      expect(await recordShapes(tenantId, runId), `${pipeline} run ${runId}`).toEqual(shapes);
    }
    for (const pipeline of [DEMO_PIPELINES.flaky, DEMO_PIPELINES.quality, DEMO_PIPELINES.healthy]) {
      const beats = await heartbeatShapes(tenant, pipeline);
      expect(beats.size, `${pipeline}'s heartbeats replayed`).toBe(1);
      expect(await heartbeatShapes(tenantId, pipeline), pipeline).toEqual(beats);
    }
    // What the comparison covered: failures with their exception, and checks that passed and failed.
    const all = [...(await Promise.all(runIds.map((runId) => recordShapes(tenant, runId)))).flatMap((shapes) => [...shapes])].join('\n');
    for (const needle of [ATTR.exceptionType, ATTR.exceptionStacktrace, EVENT.check, '"severity_text":"WARN"', '"body":"check null_ratio failed"', '"body":"check duplicates failed"', '"body":"check schema_drift passed"']) {
      expect(all).toContain(needle);
    }
  });

  it('stops on SIGTERM from the command line', async () => {
    expect(fs.existsSync(CLI), `${CLI} is missing: build first (npm run build)`).toBe(true);
    const key = await r.keyFor('live-cli', ['ingest', 'read']);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'demo',
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
