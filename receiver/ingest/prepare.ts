/**
 * Step 3 of the line: a request's valid records rendered as COPY lines and the runs, stages, checks and lineage
 * they describe derived, outside any transaction, while the writer commits the previous batch.
 */
import type { LogRow, MetricPointRow, SpanRow, Tenant } from '../model/records.js';
import { renderLog, renderSpan } from '../storage/rows-csv.js';
import { renderPoint } from '../storage/metric-csv.js';
import { logKey, spanKey } from '../storage/record-copy.js';
import type { Prepared } from '../storage/write-batch.js';
import { deriveCheck, deriveFromLog, deriveFromSpan } from '../model/derive.js';
import { lineageOfLog, lineageOfSpan } from '../model/lineage.js';

export function prepare(tenant: Tenant, logs: LogRow[], spans: SpanRow[], points: MetricPointRow[] = []): Prepared {
  const prepared: Prepared = {
    logLines: [], streamLines: new Map(), spanLines: [], logDays: new Set(), spanDays: new Set(),
    pointLines: [], metricStreamLines: new Map(), pointDays: new Set(), candidates: new Map(),
  };
  for (const row of logs) {
    const { line, fingerprint, stream, dayMs } = renderLog(tenant.id, row);
    prepared.logLines.push(line);
    prepared.streamLines.set(stream.key, stream.line);
    prepared.logDays.add(dayMs);
    const derived = deriveFromLog(row);
    const check = deriveCheck(row);
    const lineage = lineageOfLog(row, derived);
    if (derived.run || derived.stage || check || lineage) {
      prepared.candidates.set(logKey(tenant.id, fingerprint), { tenant, derived, check: check && { ...check, fingerprint }, lineage });
    }
  }
  for (const row of spans) {
    const { line, dayMs } = renderSpan(tenant.id, row);
    prepared.spanLines.push(line);
    prepared.spanDays.add(dayMs);
    const derived = deriveFromSpan(row);
    if (derived.run || derived.stage) prepared.candidates.set(spanKey(tenant.id, row.traceId, row.spanId), { tenant, derived, lineage: lineageOfSpan(row, derived) });
  }
  for (const row of points) {
    const { line, stream, dayMs } = renderPoint(tenant.id, row);
    prepared.pointLines.push(line);
    prepared.metricStreamLines.set(stream.key, stream.line);
    prepared.pointDays.add(dayMs);
  }
  return prepared;
}
