/**
 * The log records of bench:query, as the receiver's decoders hand them on (LogRow): the records the
 * pipemon SDK sends for a run (run and stage starts and ends, data-quality checks, heartbeats while it
 * runs) and ordinary log records in between, plus records of a service outside any pipeline. Ordinary
 * records are the `realisticLogsRequest` fixture's record (~100-byte body, 10 attributes, trace and span
 * ids, 7 resource attributes), decoded by the receiver's own decoder, with this run's values.
 */
import { decodeLogsJson } from '../receiver/decode/otlp-json.js';
import type { Attributes, LogRow, Resource } from '../receiver/model/records.js';
import { ATTR, CHECK, EVENT } from '../contract/vocabulary.js';
import { realisticLogsRequest } from '../harness/otlp-fixtures.js';
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

const hex = (rng: () => number, bytes: number) =>
  Array.from({ length: bytes / 4 }, () => Math.floor(rng() * 0x1_0000_0000).toString(16).padStart(8, '0')).join('');

/** Builds records; resources are shared per pipeline host, as one process's records share theirs. */
export function recordMaker(rng: () => number) {
  const resources = new Map<string, Resource>();
  let sequence = 0;
  /** Nanoseconds of a millisecond time, made unique: records of one run share no timestamp. */
  const nanos = (ms: number) => `${Math.floor(ms)}${String(sequence++ % 1_000_000).padStart(6, '0')}`;

  function resourceOf(service: string, environment: string, host: number): Resource {
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
  }

  function record(resource: Resource, atMs: number, severity: Severity, body: string, attributes: Attributes, traceId: string, spanId: string, eventName = ''): LogRow {
    const time = nanos(atMs);
    return {
      ...TEMPLATE,
      resource,
      timeUnixNano: time,
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
  function run(p: Pipeline, runNumber: number, startMs: number, intervalSeconds: number, nowMs: number): LogRow[] {
    const resource = resourceOf(p.service, p.environment, Math.floor(rng() * HOSTS_PER_PIPELINE));
    const runId = `${p.name}-${runNumber}`;
    const traceId = hex(rng, 16);
    const rootSpan = hex(rng, 8);
    const base: Attributes = {
      [ATTR.pipelineName]: p.name,
      [ATTR.runId]: runId,
      [ATTR.pipelineOwner]: p.owner,
      [ATTR.expectedIntervalSeconds]: intervalSeconds,
    };
    const rows: LogRow[] = [];
    const add = (atMs: number, severity: Severity, body: string, attributes: Attributes, spanId: string, event = '') => {
      if (atMs <= nowMs) rows.push(record(resource, atMs, severity, body, attributes, traceId, spanId, event));
    };
    add(startMs, 'INFO', `run started: ${p.name}`, base, rootSpan, EVENT.runStart);
    const stuck = rng() < STUCK_RATE;
    const failing = rng() < p.failureRate ? Math.floor(rng() * p.stages.length) : -1;
    const error = ERRORS[Math.floor(rng() * ERRORS.length)]!;
    const totals = { read: 0, written: 0, rejected: 0 };
    let at = startMs + 1000;
    for (const [index, stage] of p.stages.entries()) {
      const spanId = hex(rng, 8);
      const attrs: Attributes = { ...base, [ATTR.stageName]: stage, [ATTR.stageRunId]: `${runId}-${stage}` };
      add(at, 'INFO', `stage started: ${stage}`, attrs, spanId, EVENT.stageStart);
      if (stuck) {
        add(at + 60_000, 'INFO', `run running for 60s: ${p.name}`, { ...base, [ATTR.durationSeconds]: 60 }, rootSpan, EVENT.runHeartbeat);
        return rows;
      }
      const seconds = Math.round(p.stageSeconds * (0.5 + rng()));
      const end = at + seconds * 1000;
      const rowsRead = Math.floor(rng() * 100_000);
      const rejected = Math.floor(rowsRead * rng() * 0.01);
      const ordinary = rng() < 0.55 ? 0 : rng() < 0.67 ? 1 : 2;
      for (let batch = 0; batch < ordinary; batch++) {
        add(at + ((batch + 1) * seconds * 1000) / (ordinary + 2), ...ordinaryRecord(p, attrs, batch, rowsRead, rejected, seconds), spanId);
      }
      if (rng() < 0.4) {
        const passed = index !== failing && rng() < 0.95;
        const name = CHECKS[Math.floor(rng() * CHECKS.length)]!;
        add(end - 500, passed ? 'INFO' : 'WARN', `check ${name} ${passed ? 'passed' : 'failed'} on ${p.table}`,
          { ...attrs, [ATTR.checkName]: name, [ATTR.checkPassed]: passed, [ATTR.checkDetails]: passed ? '{}' : '{"duplicates":3}' }, spanId, EVENT.check);
      }
      const failed = index === failing;
      const outcome: Attributes = {
        [ATTR.stageResult]: failed ? 'failure' : 'success',
        [ATTR.durationSeconds]: seconds,
        [ATTR.rowsRead]: rowsRead,
        [ATTR.rowsWritten]: failed ? 0 : rowsRead - rejected,
        [ATTR.rowsRejected]: rejected,
      };
      if (failed) {
        Object.assign(outcome, { [ATTR.errorType]: error[0], [ATTR.exceptionType]: error[0], [ATTR.exceptionMessage]: `${error[1]} ${p.table}` });
        add(end - 1, 'ERROR', `${stage} failed: ${error[1]} ${p.table}`, attrs, spanId);
      }
      add(end, failed ? 'ERROR' : 'INFO', `stage ${failed ? 'failure' : 'success'}: ${stage}`, { ...attrs, ...outcome }, spanId, EVENT.stageEnd);
      totals.read += rowsRead;
      totals.written += failed ? 0 : rowsRead - rejected;
      totals.rejected += rejected;
      at = end + 1000;
      if (failed) break;
    }
    const outcome: Attributes = {
      [ATTR.runResult]: failing >= 0 ? 'failure' : 'success',
      [ATTR.durationSeconds]: (at - startMs) / 1000,
      [ATTR.rowsRead]: totals.read,
      [ATTR.rowsWritten]: totals.written,
      [ATTR.rowsRejected]: totals.rejected,
    };
    if (failing >= 0) Object.assign(outcome, { [ATTR.errorType]: error[0], [ATTR.exceptionType]: error[0], [ATTR.exceptionMessage]: `${error[1]} ${p.table}` });
    if (at > nowMs) {
      // Still running: its SDK sends a heartbeat a minute.
      add(nowMs - 30_000, 'INFO', `run running: ${p.name}`, { ...base, [ATTR.durationSeconds]: (nowMs - startMs) / 1000 }, rootSpan, EVENT.runHeartbeat);
    } else {
      add(at, failing >= 0 ? 'ERROR' : 'INFO', `run ${failing >= 0 ? 'failure' : 'success'}: ${p.name}`, { ...base, ...outcome }, rootSpan, EVENT.runEnd);
    }
    return rows;
  }

  /** The fixture's batch record with this stage's values; now and then a retry after a deadlock. */
  function ordinaryRecord(p: Pipeline, attrs: Attributes, batch: number, rowsRead: number, rejected: number, seconds: number) {
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

  /** A record of a service outside any pipeline: an HTTP API in front of the warehouse. */
  function service(atMs: number): LogRow {
    const status = rng() < 0.03 ? 500 : 200;
    const route = ['/api/orders', '/api/customers', '/api/reports', '/health'][Math.floor(rng() * 4)]!;
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
