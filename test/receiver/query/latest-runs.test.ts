/**
 * The stages and checks of a pipeline's latest runs (receiver/query/latest-runs.ts), through their routes
 * /api/v1/stages and /api/v1/checks: the runs /runs?pipeline= lists first, newest first, each run's parts
 * as its detail shows them; other pipelines' and tenants' runs left out; bad parameters a 400 that says
 * what to give.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { api } from '../../helpers/api.js';
import { otlpJsonLogs, type JsonRecord } from '../../helpers/otlp-json.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';

const MINUTE = 60_000;
const NOW = Date.now();

/** A run `startedAgo` minutes before now: its start, two stages (extract, load) a minute each, a check per stage, its end. */
function runRecords(pipeline: string, runId: string, startedAgo: number): JsonRecord[] {
  const run = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId };
  const at = (minutes: number) => NOW - (startedAgo - minutes) * MINUTE;
  const stage = (name: string, from: number): JsonRecord[] => [
    { eventName: EVENT.stageStart, timeMs: at(from), attributes: { ...run, [ATTR.stageName]: name } },
    { eventName: EVENT.check, timeMs: at(from) + 1, attributes: { ...run, [ATTR.stageName]: name, [ATTR.checkName]: `${name}_rows`, [ATTR.checkPassed]: name === 'load' } },
    { eventName: EVENT.stageEnd, timeMs: at(from + 1), attributes: { ...run, [ATTR.stageName]: name, [ATTR.stageResult]: 'success' } },
  ];
  return [
    { eventName: EVENT.runStart, timeMs: at(0), attributes: run },
    ...stage('extract', 0),
    ...stage('load', 1),
    { eventName: EVENT.runEnd, timeMs: at(2), attributes: { ...run, [ATTR.runResult]: 'success' } },
  ];
}

describe.each(receiverBackends())("a pipeline's latest runs' stages and checks on $name", (backend) => {
  let r: TestReceiver;
  let key: string;
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
    key = await r.keyFor(`latest-${randomBytes(3).toString('hex')}`, ['ingest', 'read']);
    const records = [...runRecords('nightly', 'n-1', 30), ...runRecords('nightly', 'n-2', 20), ...runRecords('nightly', 'n-3', 10), ...runRecords('other', 'o-1', 5)];
    const answer = await post(r.url, '/v1/logs', otlpJsonLogs({ 'service.name': 'etl' }, records), { key, contentType: 'application/json' });
    expect(answer.status).toBe(200);
  });
  afterAll(() => r?.close());

  const get = async (path: string, asKey = key) => api(r.url, path, { key: asKey });
  const items = async (path: string) => {
    const answer = await get(path);
    expect([path, answer.status]).toEqual([path, 200]);
    return answer.body.items as any[];
  };

  it("lists the stages of the latest runs, newest run first, each as the run's detail shows it", async () => {
    const stages = await items('/api/v1/stages?pipeline=nightly&runs=2');
    expect(stages.map((stage) => [stage.run_id, stage.stage])).toEqual([
      ['n-3', 'extract'],
      ['n-3', 'load'],
      ['n-2', 'extract'],
      ['n-2', 'load'],
    ]);
    const detail = (await get('/api/v1/runs/n-3')).body;
    expect(stages.slice(0, 2)).toEqual(detail.stages.map((stage: object) => ({ run_id: 'n-3', ...stage })));
    // Ten runs by default: all three.
    expect(new Set((await items('/api/v1/stages?pipeline=nightly')).map((stage) => stage.run_id))).toEqual(new Set(['n-1', 'n-2', 'n-3']));
  });

  it("lists the checks of the latest runs, newest run first, each as the run's detail shows it", async () => {
    const checks = await items('/api/v1/checks?pipeline=nightly&runs=2');
    expect(checks.map((check) => [check.run_id, check.name, check.passed])).toEqual([
      ['n-3', 'extract_rows', false],
      ['n-3', 'load_rows', true],
      ['n-2', 'extract_rows', false],
      ['n-2', 'load_rows', true],
    ]);
    const detail = (await get('/api/v1/runs/n-2')).body;
    expect(checks.slice(2)).toEqual(detail.checks.map((check: object) => ({ run_id: 'n-2', ...check })));
  });

  it("leaves out other pipelines' and other tenants' runs", async () => {
    expect((await items('/api/v1/stages?pipeline=other')).map((stage) => stage.run_id)).toEqual(['o-1', 'o-1']);
    expect(await items('/api/v1/checks?pipeline=absent')).toEqual([]);
    const stranger = await r.keyFor(`stranger-${randomBytes(3).toString('hex')}`, ['read']);
    const answer = await get('/api/v1/stages?pipeline=nightly', stranger);
    expect([answer.status, answer.body.items]).toEqual([200, []]);
  });

  it('answers CSV with the run id first', async () => {
    const answer = await api(r.url, '/api/v1/checks?pipeline=nightly&runs=1&format=csv', { key });
    expect(answer.status).toBe(200);
    expect(answer.text.split('\r\n')[0]).toBe('run_id,timestamp,name,passed,details,stage');
  });

  it('refuses a missing pipeline or a run count out of range with what to give', async () => {
    const missing = await get('/api/v1/stages?runs=2');
    expect([missing.status, missing.body.error]).toEqual([400, expect.stringMatching(/"pipeline" is required: give the pipeline/)]);
    for (const runs of ['0', '101', 'ten']) {
      const answer = await get(`/api/v1/checks?pipeline=nightly&runs=${runs}`);
      expect([answer.status, answer.body.error]).toEqual([400, `"runs" must be an integer from 1 to 100, got "${runs}"`]);
    }
  });
});
