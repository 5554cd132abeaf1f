/**
 * The lineage of bench:query's estate, as a warehouse has it: in each tenant, ingest pipelines copy
 * source systems' tables into raw tables, loaders make clean tables of the raw ones, reports aggregate
 * clean tables, exports write report files. Each pipeline reads one to three datasets of the layer
 * before it, the first ones most (fan-out), and writes one or two of its own layer, some written by two
 * pipelines (fan-in). The busiest pipeline is a loader, in the middle of its chains, and its clean table
 * is the one reports read most. A few hundred datasets in all. Deterministic, on a generator of its own,
 * so that the rest of the data is the same as without lineage.
 */
import { datasetName, type DatasetRef } from '../contract/dataset-name.js';
import { random, TENANTS, type Pipeline } from './query-world.js';

const LAYERS = ['ingest', 'loader', 'report', 'export'] as const;
export type Layer = (typeof LAYERS)[number];
/** Shares of the pipelines after the busiest, by layer. */
const SHARES: Record<Layer, number> = { ingest: 0.3, loader: 0.3, report: 0.25, export: 0.15 };
/** Datasets a layer writes, per pipeline of it: fewer than one, so that some have two writers. */
const DATASETS_PER_WRITER = 0.75;
const SECOND_OUTPUT = 0.2;
const MAX_INPUTS = 3;
const WAREHOUSE = 'postgres://warehouse.internal:5432';
const SOURCE_NAMESPACES: Record<string, string> = {
  postgresql: 'postgres://shop-db.internal:5432',
  mysql: 'mysql://crm-db.internal:3306',
  s3: 's3://landing',
  kafka: 'kafka://broker.internal:9092',
  salesforce: 'salesforce',
};

export interface PipelineLineage {
  layer: Layer;
  /** Dataset names (contract/dataset-name.ts). */
  inputs: string[];
  outputs: DatasetRef[];
  /**
   * Where its records name them: on its run's start and end (pipemon.lineage.inputs and outputs), or on
   * its first stage (inputs) and its last stage (its first output as db.namespace + db.collection.name).
   */
  declared: 'run' | 'stages';
}

/** The dataset a layer writes, by its position in the tenant's pool. */
function written(layer: Layer | 'source', tenant: number, p: Pipeline, k: number): DatasetRef {
  const name = `${p.table}_${TENANTS[tenant]!.name}_${k}`;
  switch (layer) {
    case 'source':
      return { namespace: SOURCE_NAMESPACES[p.source]!, name: `${p.source === 's3' ? 'incoming/' : ''}${p.table.split('_')[0]}_${k}` };
    case 'ingest':
      return { namespace: WAREHOUSE, name: `dw.raw.${name}` };
    case 'loader':
      return { namespace: WAREHOUSE, name: `dw.clean.${name}` };
    case 'report':
      return { namespace: WAREHOUSE, name: `dw.reports.${name}` };
    case 'export':
      return { namespace: 's3://exports', name: `${TENANTS[tenant]!.name}/${p.table}/${k}.parquet` };
  }
}

function layerOf(i: number, rng: () => number): Layer {
  if (i === 0) return 'loader';
  let draw = rng();
  for (const layer of LAYERS) if ((draw -= SHARES[layer]) < 0) return layer;
  return 'export';
}

/** Each pipeline's lineage, by its index in `all`. */
export function planLineage(all: Pipeline[]): PipelineLineage[] {
  const rng = random(21);
  const layers = all.map((_, i) => layerOf(i, rng));
  // Pools of datasets per tenant and layer: each pipeline writes the next of its layer's pool.
  const pools = new Map<string, DatasetRef[]>();
  const writersOf = (tenant: number, layer: Layer) => all.filter((p, i) => p.tenant === tenant && layers[i] === layer);
  for (const tenant of TENANTS.keys()) {
    const ingest = writersOf(tenant, 'ingest');
    // As many source tables as ingest pipelines, each in the source system of one of them.
    pools.set(`${tenant} source`, ingest.map((p, k) => written('source', tenant, p, k)));
    for (const layer of LAYERS) {
      const writers = writersOf(tenant, layer);
      const size = Math.max(1, Math.round(writers.length * DATASETS_PER_WRITER));
      pools.set(`${tenant} ${layer}`, writers.slice(0, size).map((p, k) => written(layer, tenant, p, k)));
    }
  }
  const taken = new Map<string, number>();
  return all.map((p, i) => {
    const layer = layers[i]!;
    const own = pools.get(`${p.tenant} ${layer}`)!;
    const before = pools.get(`${p.tenant} ${layer === 'ingest' ? 'source' : LAYERS[LAYERS.indexOf(layer) - 1]}`)!;
    const k = taken.get(`${p.tenant} ${layer}`) ?? 0;
    taken.set(`${p.tenant} ${layer}`, k + 1);
    const outputs = [own[k % own.length]!, ...(rng() < SECOND_OUTPUT && own.length > 1 ? [own[(k + 1) % own.length]!] : [])];
    // Skewed to the pool's first datasets: a few are read by many.
    const reads = before.length === 0 ? 0 : 1 + Math.floor(rng() * MAX_INPUTS);
    const inputs = [...new Set(Array.from({ length: reads }, () => datasetName(before[Math.floor(before.length * rng() ** 2)]!)))];
    return { layer, inputs, outputs, declared: rng() < 0.5 ? 'run' : 'stages' };
  });
}
