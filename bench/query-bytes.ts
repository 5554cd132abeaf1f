/**
 * Bytes per log record: on disk, over every relation that the `logs` relation reads (the table and its
 * partitions today; the tables under the view if `logs` becomes one), beside the OTLP protobuf bytes of
 * the same records.
 */
import type { Attributes, LogRow, Resource } from '../receiver/model/records.js';
import type { Queryable } from '../receiver/storage/database.js';
import { otlpType } from '../harness/otlp-fixtures.js';

/**
 * Every stored table under `logs`: followed through views (the tables a view's rewrite rule depends
 * on), then down partition trees to their leaves. Sizes as PostgreSQL reports them: heap with its free
 * space and visibility maps, indexes, and the TOAST table with its index.
 */
const SIZES_SQL = `
WITH RECURSIVE under(oid) AS (
  SELECT 'logs'::regclass::oid
  UNION
  SELECT d.refobjid
    FROM under u
    JOIN pg_rewrite w ON w.ev_class = u.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass
   WHERE d.refobjid <> u.oid
), leaves AS (
  SELECT DISTINCT t.relid AS oid, coalesce(pg_partition_root(t.relid), t.relid)::regclass::text AS root
    FROM under u JOIN pg_class c ON c.oid = u.oid AND c.relkind IN ('r', 'p'), pg_partition_tree(u.oid) t
   WHERE t.isleaf
)
SELECT l.root,
       sum(pg_relation_size(c.oid, 'main') + pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm'))::float8 AS heap,
       sum(pg_indexes_size(c.oid))::float8 AS indexes,
       sum(CASE WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END)::float8 AS toast
  FROM leaves l JOIN pg_class c ON c.oid = l.oid
 GROUP BY l.root ORDER BY l.root`;

interface Sizes {
  heap: number;
  indexes: number;
  toast: number;
}

export async function storedBytesPerRecord(db: Queryable) {
  const { rows } = await db.query<Sizes & { root: string }>(SIZES_SQL);
  const { rows: counted } = await db.query<{ n: number }>('SELECT count(*)::float8 AS n FROM logs');
  const records = counted[0]!.n;
  const perRecord = (bytes: number) => Math.round((bytes / records) * 10) / 10;
  const total = rows.reduce((sum, row) => ({ heap: sum.heap + row.heap, indexes: sum.indexes + row.indexes, toast: sum.toast + row.toast }), { heap: 0, indexes: 0, toast: 0 });
  return {
    records,
    total_mb: Math.round((total.heap + total.indexes + total.toast) / 1024 / 1024),
    per_record: {
      total: perRecord(total.heap + total.indexes + total.toast),
      heap: perRecord(total.heap),
      indexes: perRecord(total.indexes),
      toast: perRecord(total.toast),
    },
    by_table: Object.fromEntries(rows.map((row) => [row.root, { heap: perRecord(row.heap), indexes: perRecord(row.indexes), toast: perRecord(row.toast) }])),
  };
}

// --- OTLP ---------------------------------------------------------------------------------------

const Request = otlpType('ExportLogsServiceRequest');

/** An attribute value as OTLP carries it: what the decoders made of it, turned back. */
function anyValue(value: unknown): object {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  // The datasets a run reads and writes: a list of names.
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return { stringValue: JSON.stringify(value) };
}

const keyValues = (attributes: Attributes) => Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
const bytes = (hex: string) => Buffer.from(hex, 'hex');

/**
 * These records as an SDK sends them: an ExportLogsServiceRequest per resource (one process), its
 * records under one scope.
 */
export function otlpRequests(rows: LogRow[]): Uint8Array[] {
  const byResource = new Map<Resource, LogRow[]>();
  for (const row of rows) {
    const records = byResource.get(row.resource);
    if (records) records.push(row);
    else byResource.set(row.resource, [row]);
  }
  return [...byResource].map(([resource, records]) => {
    const scope = records[0]!.scope;
    const request = {
      resourceLogs: [
        {
          resource: { attributes: keyValues(resource.attributes) },
          schemaUrl: resource.schemaUrl,
          scopeLogs: [
            {
              scope: { name: scope.name, version: scope.version },
              logRecords: records.map((row) => ({
                timeUnixNano: row.timeUnixNano,
                observedTimeUnixNano: row.observedTimeUnixNano,
                severityNumber: row.severityNumber,
                severityText: row.severityText,
                body: row.body === null ? undefined : { stringValue: row.body },
                attributes: keyValues(row.attributes),
                flags: row.flags,
                traceId: bytes(row.traceId),
                spanId: bytes(row.spanId),
                eventName: row.eventName,
              })),
            },
          ],
        },
      ],
    };
    return Request.encode(Request.fromObject(request)).finish();
  });
}

export function otlpBytesPerRecord(rows: LogRow[]): number {
  const total = otlpRequests(rows).reduce((sum, request) => sum + request.length, 0);
  return Math.round((total / rows.length) * 10) / 10;
}
