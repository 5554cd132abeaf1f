import { describe, expect, it } from 'vitest';
import { ACTIVITY, ATTR, EVENT } from '../../../contract/vocabulary.js';
import { decodeActivity, WORKFLOW_PIPELINE } from '../../../receiver/decode/activity.js';
import { RECORD_MAX_BYTES } from '../../../receiver/decode/activity-fields.js';
import { STATUS_WORDS } from '../../../receiver/decode/activity-status.js';
import { deriveFromLog } from '../../../receiver/model/derive.js';
import { renderLog } from '../../../receiver/storage/rows-csv.js';
import { decodeRefusal } from '../../helpers/decode-refusal.js';

/** A Fabric notebook logger's documented POST /api/v1/logs example, its "..." placeholders filled in. */
const NOTEBOOK = {
  source_system: 'zephyr',
  stage: 'source',
  notebook_name: 'sourceZephyr',
  workspace_id: 'ws-1',
  lakehouse_id: 'lh-1',
  status: 'Success',
  logged_at: '2025-12-05T10:30:00Z',
  duration: 45.2,
  capabilities: ['authVerified', 'bootstrapped'],
  entity_name: null,
  target_table: null,
  row_count: null,
  additional_metadata: { run_by: 'scheduler', attempt: 1 },
};

/** A workflow logger's documented POST /api/v1/logs example, its "..." placeholder filled in. */
const WORKFLOW = {
  environment: 'production',
  executed_at: '2025-12-24T10:30:00Z',
  ticket_id: 'TICKET-123',
  status: 'SUCCESS',
  execution_time_seconds: 5.2,
  category: 'billing_issue',
  metrics: { confidence: 0.95 },
  payload: { trace: [{ node: 'classify', ms: 120 }] },
};

const nanos = (iso: string) => (BigInt(Date.parse(iso)) * 1_000_000n).toString();

const refusal = (record: unknown): string => decodeRefusal(() => decodeActivity(record));

describe('notebook records', () => {
  it('become a run of the source system with the notebook as its one stage', () => {
    const decoded = decodeActivity(NOTEBOOK);
    const id = 'zephyr/sourceZephyr@2025-12-05T10:30:00.000Z';
    expect(decoded).toMatchObject({ id, pipeline: 'zephyr', stage: 'source', timeField: 'logged_at', unknownFields: [] });
    const [run, stage] = decoded.logs;
    expect(run!.eventName).toBe(EVENT.runEnd);
    expect(stage!.eventName).toBe(EVENT.stageEnd);
    expect(run!.timeUnixNano).toBe(nanos('2025-12-05T10:30:00Z'));
    expect(run!.observedTimeUnixNano).toBe('0');
    expect(run!.resource.attributes).toEqual({ [ATTR.serviceName]: 'sourceZephyr' });
    expect(run!.attributes).toEqual({
      [ATTR.pipelineName]: 'zephyr',
      [ATTR.runId]: id,
      [ATTR.sourceSystem]: 'zephyr',
      [ACTIVITY.status]: 'Success',
      [ATTR.durationSeconds]: 45.2,
      [ATTR.capabilities]: ['authVerified', 'bootstrapped'],
      [ACTIVITY.workspaceId]: 'ws-1',
      [ACTIVITY.lakehouseId]: 'lh-1',
      [ACTIVITY.additionalMetadata]: { attempt: 1, run_by: 'scheduler' },
      [ATTR.runResult]: 'success',
    });
    expect(stage!.attributes).toMatchObject({ [ATTR.stageName]: 'source', [ATTR.stageRunId]: 'sourceZephyr', [ATTR.stageResult]: 'success' });
  });

  it('derive an ended run and stage with the result, duration, rows and target', () => {
    const decoded = decodeActivity({ ...NOTEBOOK, status: 'Failed', row_count: 1200, target_table: 'source.issues', entity_name: 'issues' });
    const run = deriveFromLog(decoded.logs[0]!).run!;
    expect(run).toMatchObject({
      pipeline: 'zephyr',
      runId: decoded.id,
      state: 'ended',
      result: 'failure',
      durationSeconds: 45.2,
      rowsWritten: 1200,
      targetCollection: 'source.issues',
      sourceSystem: 'zephyr',
      serviceName: 'sourceZephyr',
    });
    const stage = deriveFromLog(decoded.logs[1]!).stage!;
    expect(stage).toMatchObject({ stage: 'source', stageRunId: 'sourceZephyr', result: 'failure', rowsWritten: 1200, targetCollection: 'source.issues' });
    expect(decoded.logs[0]!.severityText).toBe('ERROR');
  });

  it('take entity_name as the target when there is no target_table', () => {
    const run = deriveFromLog(decodeActivity({ ...NOTEBOOK, entity_name: 'issues' }).logs[0]!).run!;
    expect(run.targetCollection).toBe('issues');
  });
});

describe('workflow records', () => {
  it('become a run of the workflow per ticket execution, keeping every field', () => {
    const decoded = decodeActivity({ ...WORKFLOW, workflow_version: '1.4.0', resolution_status: 'resolved' });
    const id = 'workflow/TICKET-123@2025-12-24T10:30:00.000Z';
    expect(decoded).toMatchObject({ id, pipeline: WORKFLOW_PIPELINE, stage: null, timeField: 'executed_at' });
    expect(decoded.logs).toHaveLength(1);
    const [log] = decoded.logs;
    expect(log!.resource.attributes).toEqual({ [ATTR.environment]: 'production', [ACTIVITY.serviceVersion]: '1.4.0' });
    expect(log!.attributes).toEqual({
      [ATTR.pipelineName]: 'workflow',
      [ATTR.runId]: id,
      [ACTIVITY.status]: 'SUCCESS',
      [ATTR.durationSeconds]: 5.2,
      [ACTIVITY.ticketId]: 'TICKET-123',
      [ACTIVITY.category]: 'billing_issue',
      [ACTIVITY.resolutionStatus]: 'resolved',
      [ACTIVITY.metrics]: { confidence: 0.95 },
      [ACTIVITY.payload]: { trace: [{ ms: 120, node: 'classify' }] },
      [ATTR.runResult]: 'success',
    });
    expect(deriveFromLog(log!).run).toMatchObject({ runId: id, pipeline: 'workflow', state: 'ended', result: 'success', durationSeconds: 5.2 });
  });

  it('need no ticket', () => {
    const { ticket_id: _, ...rest } = WORKFLOW;
    expect(decodeActivity(rest).id).toBe('workflow/-@2025-12-24T10:30:00.000Z');
  });
});

describe('status words', () => {
  const expected: Record<string, [string, string | null]> = {
    started: [EVENT.runStart, null],
    starting: [EVENT.runStart, null],
    running: [EVENT.runHeartbeat, null],
    in_progress: [EVENT.runHeartbeat, null],
    success: [EVENT.runEnd, 'success'],
    succeeded: [EVENT.runEnd, 'success'],
    successful: [EVENT.runEnd, 'success'],
    completed: [EVENT.runEnd, 'success'],
    complete: [EVENT.runEnd, 'success'],
    done: [EVENT.runEnd, 'success'],
    failed: [EVENT.runEnd, 'failure'],
    failure: [EVENT.runEnd, 'failure'],
    error: [EVENT.runEnd, 'error'],
    errored: [EVENT.runEnd, 'error'],
    timeout: [EVENT.runEnd, 'timeout'],
    timed_out: [EVENT.runEnd, 'timeout'],
    cancelled: [EVENT.runEnd, 'cancellation'],
    canceled: [EVENT.runEnd, 'cancellation'],
    aborted: [EVENT.runEnd, 'cancellation'],
    skipped: [EVENT.runEnd, 'skip'],
  };

  it('are all mapped', () => expect([...STATUS_WORDS].sort()).toEqual(Object.keys(expected).sort()));

  it.each(Object.entries(expected))('%s → %s %s, in either shape and any case', (word, [event, result]) => {
    for (const status of [word, word.toUpperCase(), word[0]!.toUpperCase() + word.slice(1)]) {
      const [run] = decodeActivity({ ...WORKFLOW, status }).logs;
      expect(run!.eventName).toBe(event);
      expect(run!.attributes[ATTR.runResult]).toBe(result ?? undefined);
      const derived = deriveFromLog(decodeActivity({ ...NOTEBOOK, status }).logs[0]!).run!;
      expect(derived.result).toBe(result);
      expect(derived.state).toBe(result === null ? 'running' : 'ended');
    }
  });

  it('read spaces and dashes as underscores', () => {
    expect(decodeActivity({ ...WORKFLOW, status: 'In Progress' }).logs[0]!.eventName).toBe(EVENT.runHeartbeat);
    expect(decodeActivity({ ...WORKFLOW, status: 'timed-out' }).logs[0]!.attributes[ATTR.runResult]).toBe('timeout');
  });

  it('start a stage for a running notebook (stages have no heartbeat)', () => {
    const [run, stage] = decodeActivity({ ...NOTEBOOK, status: 'Running' }).logs;
    expect([run!.eventName, stage!.eventName]).toEqual([EVENT.runHeartbeat, EVENT.stageStart]);
  });

  it('refuse an unknown word, naming the field and the accepted words', () => {
    expect(refusal({ ...WORKFLOW, status: 'Finished' })).toBe(
      `"status" must be one of ${STATUS_WORDS.join(', ')} (any case), got the string "Finished"`,
    );
  });
});

describe('validation', () => {
  const cases: [string, unknown, string][] = [
    ['a non-object record', [NOTEBOOK], 'an activity record must be a JSON object, got an array'],
    ['a record of neither shape', { hello: 1 }, 'not an activity record: expected a notebook record (source_system'],
    ['both time fields', { ...NOTEBOOK, executed_at: '2025-12-24T10:30:00Z' }, 'has "logged_at" (a notebook record) or "executed_at"'],
    ['a missing logged_at', { ...NOTEBOOK, logged_at: undefined }, '"logged_at" is required (an ISO 8601 time'],
    ['a missing executed_at', { ...WORKFLOW, executed_at: undefined }, '"executed_at" is required'],
    ['a missing source_system', { ...NOTEBOOK, source_system: undefined }, '"source_system" is required'],
    ['a null stage', { ...NOTEBOOK, stage: null }, '"stage" is required'],
    ['an empty notebook_name', { ...NOTEBOOK, notebook_name: ' ' }, '"notebook_name" must not be empty'],
    ['a missing environment', { ...WORKFLOW, environment: undefined }, '"environment" is required'],
    ['a missing status', { ...WORKFLOW, status: undefined }, '"status" is required: one of started'],
    ['a numeric status', { ...WORKFLOW, status: 1 }, '"status" must be a string, one of started'],
    ['a numeric stage', { ...NOTEBOOK, stage: 3 }, '"stage" must be a string, got number 3'],
    ['a string duration', { ...NOTEBOOK, duration: '45.2' }, '"duration" must be a number of seconds from 0 to 31622400, got the string "45.2"'],
    ['a negative duration', { ...NOTEBOOK, duration: -1 }, '"duration" must be a number of seconds'],
    ['a duration in milliseconds', { ...WORKFLOW, execution_time_seconds: 1e12 }, '"execution_time_seconds" must be a number of seconds'],
    ['a fractional row_count', { ...NOTEBOOK, row_count: 1.5 }, '"row_count" must be a non-negative integer, got number 1.5'],
    ['a negative row_count', { ...NOTEBOOK, row_count: -3 }, '"row_count" must be a non-negative integer'],
    ['a boolean row_count', { ...NOTEBOOK, row_count: true }, '"row_count" must be a non-negative integer, got boolean true'],
    ['capabilities not an array', { ...NOTEBOOK, capabilities: 'authVerified' }, '"capabilities" must be an array of strings'],
    ['a number in capabilities', { ...NOTEBOOK, capabilities: ['a', 2] }, '"capabilities" must be an array of strings, got number 2 at index 1'],
    ['metadata not an object', { ...NOTEBOOK, additional_metadata: [1] }, '"additional_metadata" must be a JSON object, got an array'],
    ['metrics not an object', { ...WORKFLOW, metrics: 0.95 }, '"metrics" must be a JSON object, got number 0.95'],
    ['a numeric ticket', { ...WORKFLOW, ticket_id: 123 }, '"ticket_id" must be a string, got number 123'],
    ['a time without a date', { ...NOTEBOOK, logged_at: '10:30' }, '"logged_at" must be an ISO 8601 time'],
    ['an epoch time', { ...WORKFLOW, executed_at: 1764930600 }, '"executed_at" must be an ISO 8601 time such as "2025-12-05T10:30:00Z", got number 1764930600'],
    ['an impossible date', { ...NOTEBOOK, logged_at: '2025-02-30T10:30:00Z' }, '"logged_at" is not a real time'],
    ['a time before 1970', { ...NOTEBOOK, logged_at: '1969-12-31T23:59:59Z' }, '"logged_at" must be after 1970-01-01'],
    ['a NUL byte in a field', { ...NOTEBOOK, stage: 'sou\u0000rce' }, '"stage" contains a NUL byte (\\u0000), which PostgreSQL text cannot store'],
    ['a NUL byte deep in metadata', { ...NOTEBOOK, additional_metadata: { a: [{ b: 'x\u0000' }] } }, '"additional_metadata.a[0].b" contains a NUL byte'],
    ['a NUL byte in a key', { ...WORKFLOW, payload: { 'k\u0000': 1 } }, '"payload" has a key with a NUL byte'],
    ['a NUL byte in a field name', { ...WORKFLOW, ['x\u0000']: 1 }, 'the record has a field name with a NUL byte'],
    ['an oversize name', { ...NOTEBOOK, source_system: 'z'.repeat(257) }, '"source_system" must be at most 256 characters, got 257'],
    ['an oversize record', { ...WORKFLOW, payload: { trace: 'x'.repeat(RECORD_MAX_BYTES) } }, `over the limit of ${RECORD_MAX_BYTES}`],
    ['deep nesting', { ...WORKFLOW, payload: JSON.parse('['.repeat(40) + ']'.repeat(40)) }, 'nests deeper than 32 levels'],
  ];

  it.each(cases)('refuses %s, naming the field', (_name, record, message) => {
    expect(refusal(record)).toContain(message);
  });

  it('keeps unknown fields and names them (a misspelling is seen, nothing sent is lost)', () => {
    const decoded = decodeActivity({ ...NOTEBOOK, row_cuont: 5, run_id: 'r-1' });
    expect(decoded.unknownFields).toEqual(['row_cuont', 'run_id']);
    expect(decoded.logs[0]!.attributes[ACTIVITY.unknownFields]).toEqual({ row_cuont: 5, run_id: 'r-1' });
  });

  it('does not read inherited properties as fields', () => {
    expect(refusal({ logged_at: '2025-12-05T10:30:00Z', status: 'Success' })).toContain('"source_system" is required');
    const constructor = JSON.parse('{"constructor": "x", "__proto__": {"status": "Success"}, "executed_at": "2025-12-24T10:30:00Z", "environment": "p"}');
    expect(refusal(constructor)).toContain('"status" is required');
  });
});

describe('times', () => {
  const time = (at: string) => decodeActivity({ ...WORKFLOW, executed_at: at }).logs[0]!.timeUnixNano;

  it('read Python isoformat(), str() and offsets; no offset is UTC', () => {
    expect(time('2025-12-24T10:30:00.123456+00:00')).toBe('1766572200123456000');
    expect(time('2025-12-24 10:30:00.123456')).toBe('1766572200123456000');
    expect(time('2025-12-24T11:30:00.123456789+01:00')).toBe('1766572200123456789');
    expect(time('2025-12-24T05:00:00-0530')).toBe(nanos('2025-12-24T10:30:00Z'));
  });
});

describe('idempotency', () => {
  const fingerprints = (record: unknown) => decodeActivity(record).logs.map((row) => renderLog(1, row).fingerprint);

  it('makes the same rows from the same record, whenever and in whatever key order it comes', () => {
    const reordered = Object.fromEntries(Object.entries(NOTEBOOK).reverse());
    reordered.additional_metadata = { attempt: 1, run_by: 'scheduler' };
    expect(fingerprints(reordered)).toEqual(fingerprints(NOTEBOOK));
    expect(fingerprints({ ...WORKFLOW, category: null })).toEqual(fingerprints((({ category: _, ...rest }) => rest)(WORKFLOW)));
  });
});
