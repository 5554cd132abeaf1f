/**
 * OTLP metric points for the dashboards' tests, as the decoders hand them on (MetricPointRow), written
 * through the receiver's write path (prepare + writeBatch) in one transaction.
 */
import type { Attributes, Metric, MetricKind, MetricPointRow, Resource, Tenant } from '../../../receiver/model/records.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import type { Database } from '../../../receiver/storage/database.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { nanos, pointRow } from '../../helpers/rows.js';

export const resourceOf = (attributes: Attributes): Resource => ({ attributes, schemaUrl: '', droppedAttributesCount: 0 });

const SCOPE = { name: 'pipemon-grafana-test', version: '1.0.0', attributes: {}, schemaUrl: '' };

/** A Metric: 'cumulative' and 'delta' temporality for sums and histograms, none for gauges and summaries. */
export function metric(name: string, kind: MetricKind, options: { temporality?: 'delta' | 'cumulative'; monotonic?: boolean; unit?: string } = {}): Metric {
  const temporality = options.temporality === 'delta' ? 1 : options.temporality === 'cumulative' ? 2 : 0;
  return { name, description: '', unit: options.unit ?? '', kind, temporality, monotonic: options.monotonic ?? false, metadata: {} };
}

export interface PointSpec {
  resource: Resource;
  metric: Metric;
  attributes: Attributes;
  atMs: number;
  /** A cumulative series' start; none for gauges. */
  startMs?: number;
  /** A gauge's or sum's value: a number as as_double, a string as as_int. */
  value?: number | string;
  /** A histogram's or summary's count and sum. */
  count?: number;
  sum?: number;
}

export function point(spec: PointSpec): MetricPointRow {
  const number = spec.count === undefined;
  return pointRow({
    resource: spec.resource,
    scope: SCOPE,
    metric: spec.metric,
    attributes: spec.attributes,
    startTimeUnixNano: spec.startMs === undefined ? '0' : nanos(spec.startMs),
    timeUnixNano: nanos(spec.atMs),
    asDouble: number && typeof spec.value === 'number' ? spec.value : null,
    asInt: number && typeof spec.value === 'string' ? spec.value : null,
    count: String(spec.count ?? 0),
    sum: spec.sum ?? null,
  });
}

export async function writePoints(db: Database, tenant: Tenant, points: MetricPointRow[]): Promise<void> {
  await db.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare(tenant, [], [], points)]));
}

/** The tenant's id and name, for prepare(): created by the key that sent its records. */
export async function tenantNamed(db: Database, name: string): Promise<Tenant> {
  const { rows } = await db.query<{ tenant_id: number }>('SELECT tenant_id FROM tenants WHERE name = $1', [name]);
  if (!rows[0]) throw new Error(`tenant ${name} not found: send its records (or create its key) before its metric points`);
  return { id: rows[0].tenant_id, name };
}
