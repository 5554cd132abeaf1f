/**
 * The log records of bench:query, as the receiver's decoders hand them on (LogRow): the records the
 * pipemon SDK sends for a run (run and stage starts and ends, data-quality checks, heartbeats while it
 * runs) and ordinary log records in between, plus records of a service outside any pipeline. Ordinary
 * records are the `realisticLogsRequest` fixture's record (~100-byte body, 10 attributes, trace and span
 * ids, 7 resource attributes), decoded by the receiver's own decoder, with this run's values. Runs and
 * stages name the datasets they read and write (query-lineage.ts) as the SDK sends them.
 */
import { decodeLogsJson } from '../receiver/decode/otlp-json.js';
import type { Attributes, LogRow, Resource } from '../receiver/model/records.js';
import { datasetName } from '../contract/dataset-name.js';
import { ATTR, CHECK, EVENT } from '../contract/vocabulary.js';
import { realisticLogsRequest } from '../harness/otlp-fixtures.js';
import type { PipelineLineage } from './query-lineage.js';
import type { Pipeline } from './query-world.js';

const [TEMPLATE] = decodeLogsJson(
  JSON.stringify(
    realisticLogsRequest({ values: 'json', records: 1, startUnixNano: 0n, stepNanos: 0n, scope: { name: 'pipemon-sdk', version: '0.1.0' } }),
  ),
) as [LogRow];
const BODY_BYTES = TEMPLATE.body!.length;
const HOSTS_PER_PIPELINE = 3;
const STUCK_RATE = 0.0002;
const SEVERITY = { INFO: 9, WARN: 13, ERROR: 17 } as const;
type Severity = keyof typeof SEVERITY;
const ERRORS = [
  ['TimeoutError', 'upstream timeout after 30 s'],
  ['ConnectionResetError', 'connection reset by peer while reading'],
  ['PermissionError', 'permission denied for table'],
  ['SchemaMismatch', 'column type changed upstream in'],
] as const;
const CHECKS = Object.values(CHECK);
/** Words that q= looks for: one in about one record in a hundred, and one in nearly every ordinary record. */
export const RARE_WORD = 'deadlock';
export const COMMON_WORD = 'rows';

const ROUTES = ['/api/orders', '/api/customers', '/api/reports', '/health'];

type ErrorKind = (typeof ERRORS)[number];

/** How a run goes, drawn before its first stage. */
interface Fate {
  /** Hangs in its first stage: nothing after the stage start but a heartbeat. */
  stuck: boolean;
  /** The index of the stage that fails; -1 when the run succeeds. */
  failing: number;
  error: ErrorKind;
}

/** Adds a record to one run's records, unless it lies after now (it has not happened yet). */
type Add = (atMs: number, severity: Severity, body: string, attributes: Attributes, spanId: string, event?: string) => void;

/** What every record of one run shares. */
interface RunScope {
  p: Pipeline;
  runId: string;
  base: Attributes;
  lineage: LineageAttributes;
  rootSpan: string;
  fate: Fate;
  add: Add;
}

/** One stage of a run, from its start. */
interface StageScope {
  stage: string;
  attrs: Attributes;
  spanId: string;
  atMs: number;
  failed: boolean;
}

interface RowCounts {
  read: number;
  written: number;
  rejected: number;
}

const hex = (rng: () => number, bytes: number) =>
  Array.from({ length: bytes / 4 }, () => Math.floor(rng() * 0x1_0000_0000).toString(16).padStart(8, '0')).join('');

/** Builds records; resources are shared per pipeline host, as one process's records share theirs. */
export function recordMaker(rng: () => number) {
  const resourceOf = resourcePool();
  const nanos = stamper();

  function record(resource: Resource, atMs: number, severity: Severity, body: string, attributes: Attributes, traceId: string, spanId: string, eventName = ''): LogRow {
    return {
      ...TEMPLATE,
      resource,
      timeUnixNano: nanos(atMs),
      // Observed a few milliseconds later, as a batching SDK stamps it.
      observedTimeUnixNano: nanos(atMs + 3),
      severityNumber: SEVERITY[severity],
      severityText: severity,
      body: body.padEnd(BODY_BYTES, '.'),
      attributes,
      traceId,
      spanId,
      eventName,
    };
  }

  /** A run's records up to nowMs: those after it have not happened yet, so the run shows as running. */
  function run(p: Pipeline, lineage: PipelineLineage, runNumber: number, startMs: number, intervalSeconds: number, nowMs: number): LogRow[] {
    const resource = resourceOf(p.service, p.environment, Math.floor(rng() * HOSTS_PER_PIPELINE));
    const runId = `${p.name}-${runNumber}`;
    const traceId = hex(rng, 16);
    const rootSpan = hex(rng, 8);
    const rows: LogRow[] = [];
    const add: Add = (atMs, severity, body, attributes, spanId, event = '') => {
      if (atMs <= nowMs) rows.push(record(resource, atMs, severity, body, attributes, traceId, spanId, event));
    };
    const base: Attributes = {
      [ATTR.pipelineName]: p.name,
      [ATTR.runId]: runId,
      [ATTR.pipelineOwner]: p.owner,
      [ATTR.expectedIntervalSeconds]: intervalSeconds,
    };
    runRecords(rng, { p, runId, base, lineage: lineageAttributes(lineage), rootSpan, fate: drawFate(rng, p), add }, startMs, nowMs);
    return rows;
  }

  /** A record of a service outside any pipeline: an HTTP API in front of the warehouse. */
  function service(atMs: number): LogRow {
    const status = rng() < 0.03 ? 500 : 200;
    const route = ROUTES[Math.floor(rng() * ROUTES.length)]!;
    return record(
      resourceOf('api-gateway', 'production', Math.floor(rng() * HOSTS_PER_PIPELINE)),
      atMs,
      status === 500 ? 'ERROR' : 'INFO',
      `GET ${route} ${status} ${Math.floor(rng() * 300)} ms`,
      { [ATTR.httpMethod]: 'GET', [ATTR.httpRoute]: route, [ATTR.httpStatus]: status },
      hex(rng, 16),
      hex(rng, 8),
    );
  }

  return { run, service };
}

/** One resource per service, environment and host, each with its own host name and process id. */
function resourcePool(): (service: string, environment: string, host: number) => Resource {
  const resources = new Map<string, Resource>();
  return (service, environment, host) => {
    const key = `${service}\u0000${environment}\u0000${host}`;
    let resource = resources.get(key);
    if (!resource) {
      const attributes: Attributes = {
        ...TEMPLATE.resource.attributes,
        [ATTR.serviceName]: service,
        [ATTR.environment]: environment,
        'host.name': `ip-10-0-${host % 256}-${17 + (resources.size % 200)}.ec2.internal`,
        'process.pid': 1000 + resources.size,
      };
      resources.set(key, (resource = { ...TEMPLATE.resource, attributes }));
    }
    return resource;
  };
}

/** Nanoseconds of a millisecond time, made unique: records of one run share no timestamp. */
function stamper(): (ms: number) => string {
  let sequence = 0;
  return (ms) => `${Math.floor(ms)}${String(sequence++ % 1_000_000).padStart(6, '0')}`;
}

function drawFate(rng: () => number, p: Pipeline): Fate {
  const stuck = rng() < STUCK_RATE;
  const failing = rng() < p.failureRate ? Math.floor(rng() * p.stages.length) : -1;
  return { stuck, failing, error: ERRORS[Math.floor(rng() * ERRORS.length)]! };
}

/** The attributes that name a run's datasets: on its start and end records, or on its first and last stages' records. */
interface LineageAttributes {
  run: Attributes;
  firstStage: Attributes;
  lastStage: Attributes;
}

function lineageAttributes({ inputs, outputs, declared }: PipelineLineage): LineageAttributes {
  const reads: Attributes = inputs.length > 0 ? { [ATTR.lineageInputs]: inputs } : {};
  if (declared === 'run') return { run: { ...reads, [ATTR.lineageOutputs]: outputs.map(datasetName) }, firstStage: {}, lastStage: {} };
  const [target, ...more] = outputs;
  const writes: Attributes = { [ATTR.dbNamespace]: target!.namespace, [ATTR.dbCollection]: target!.name };
  if (more.length > 0) writes[ATTR.lineageOutputs] = more.map(datasetName);
  return { run: {}, firstStage: reads, lastStage: writes };
}

/** Start, stages in order until one fails or hangs, then the end, or a heartbeat while still running at now. */
function runRecords(rng: () => number, run: RunScope, startMs: number, nowMs: number): void {
  const { p, base, lineage, rootSpan, fate, add } = run;
  add(startMs, 'INFO', `run started: ${p.name}`, { ...base, ...lineage.run }, rootSpan, EVENT.runStart);
  const totals: RowCounts = { read: 0, written: 0, rejected: 0 };
  let atMs = startMs + 1000;
  for (const [index, stage] of p.stages.entries()) {
    const spanId = hex(rng, 8);
    const attrs: Attributes = {
      ...base,
      ...(index === 0 ? lineage.firstStage : {}),
      ...(index === p.stages.length - 1 ? lineage.lastStage : {}),
      [ATTR.stageName]: stage,
      [ATTR.stageRunId]: `${run.runId}-${stage}`,
    };
    add(atMs, 'INFO', `stage started: ${stage}`, attrs, spanId, EVENT.stageStart);
    if (fate.stuck) {
      add(atMs + 60_000, 'INFO', `run running for 60s: ${p.name}`, { ...base, [ATTR.durationSeconds]: 60 }, rootSpan, EVENT.runHeartbeat);
      return;
    }
    const failed = index === fate.failing;
    const rows = stageRecords(rng, run, { stage, attrs, spanId, atMs, failed });
    totals.read += rows.read;
    totals.written += rows.written;
    totals.rejected += rows.rejected;
    atMs = rows.endMs + 1000;
    if (failed) break;
  }
  if (atMs > nowMs) {
    // Still running: its SDK sends a heartbeat a minute.
    add(nowMs - 30_000, 'INFO', `run running: ${p.name}`, { ...base, [ATTR.durationSeconds]: (nowMs - startMs) / 1000 }, rootSpan, EVENT.runHeartbeat);
    return;
  }
  const failed = fate.failing >= 0;
  const outcome = outcomeAttributes(ATTR.runResult, failed, (atMs - startMs) / 1000, totals, failed ? fate.error : null, p.table);
  add(atMs, failed ? 'ERROR' : 'INFO', `run ${failed ? 'failure' : 'success'}: ${p.name}`, { ...base, ...lineage.run, ...outcome }, rootSpan, EVENT.runEnd);
}

/** A stage's records after its start: ordinary records, maybe a check, the error if it fails, its end. */
function stageRecords(rng: () => number, run: RunScope, s: StageScope): RowCounts & { endMs: number } {
  const { p, fate, add } = run;
  const seconds = Math.round(p.stageSeconds * (0.5 + rng()));
  const endMs = s.atMs + seconds * 1000;
  const read = Math.floor(rng() * 100_000);
  const rejected = Math.floor(read * rng() * 0.01);
  const rows: RowCounts = { read, written: s.failed ? 0 : read - rejected, rejected };
  // About half the stages log nothing between start and end, the rest one or two batches.
  const ordinary = rng() < 0.55 ? 0 : rng() < 0.67 ? 1 : 2;
  for (let batch = 0; batch < ordinary; batch++) {
    add(s.atMs + ((batch + 1) * seconds * 1000) / (ordinary + 2), ...ordinaryRecord(rng, p, s.attrs, batch, read, rejected, seconds), s.spanId);
  }
  if (rng() < 0.4) {
    const passed = !s.failed && rng() < 0.95;
    const name = CHECKS[Math.floor(rng() * CHECKS.length)]!;
    add(endMs - 500, passed ? 'INFO' : 'WARN', `check ${name} ${passed ? 'passed' : 'failed'} on ${p.table}`,
      { ...s.attrs, [ATTR.checkName]: name, [ATTR.checkPassed]: passed, [ATTR.checkDetails]: passed ? '{}' : '{"duplicates":3}' }, s.spanId, EVENT.check);
  }
  if (s.failed) add(endMs - 1, 'ERROR', `${s.stage} failed: ${fate.error[1]} ${p.table}`, s.attrs, s.spanId);
  const outcome = outcomeAttributes(ATTR.stageResult, s.failed, seconds, rows, s.failed ? fate.error : null, p.table);
  add(endMs, s.failed ? 'ERROR' : 'INFO', `stage ${s.failed ? 'failure' : 'success'}: ${s.stage}`, { ...s.attrs, ...outcome }, s.spanId, EVENT.stageEnd);
  return { ...rows, endMs };
}

/** The attributes of a run's or stage's end record: result, duration, rows, and the error of a failure. */
function outcomeAttributes(resultKey: string, failed: boolean, seconds: number, rows: RowCounts, error: ErrorKind | null, table: string): Attributes {
  const outcome: Attributes = {
    [resultKey]: failed ? 'failure' : 'success',
    [ATTR.durationSeconds]: seconds,
    [ATTR.rowsRead]: rows.read,
    [ATTR.rowsWritten]: rows.written,
    [ATTR.rowsRejected]: rows.rejected,
  };
  if (error) Object.assign(outcome, { [ATTR.errorType]: error[0], [ATTR.exceptionType]: error[0], [ATTR.exceptionMessage]: `${error[1]} ${table}` });
  return outcome;
}

/** The fixture's batch record with this stage's values; now and then a retry after a deadlock. */
function ordinaryRecord(rng: () => number, p: Pipeline, attrs: Attributes, batch: number, rowsRead: number, rejected: number, seconds: number) {
  const retried = rng() < 0.02;
  const body = retried
    ? `retrying batch ${batch} of ${p.table} after deadlock detected, attempt 2`
    : `batch ${batch} of ${p.table} loaded into warehouse.${p.table}: ${rowsRead} rows, ${rejected} rejected, ${seconds} s`;
  const attributes: Attributes = {
    ...attrs,
    'db.system': p.source,
    [ATTR.dbCollection]: p.table,
    'batch.index': batch,
    'batch.rows': rowsRead,
    'batch.rejected': rejected,
    'batch.duration_s': seconds + rng(),
    'batch.retried': retried,
  };
  return [retried ? 'WARN' : 'INFO', body, attributes] as const;
}
