/**
 * The shape of bench:query's data: a few tenants, 500 pipelines of skewed sizes (Zipf: a few pipelines
 * run every minute, a long tail runs a few times a day), their runs spread over 30 days, and how each
 * pipeline's runs go (stages, failure rate). Deterministic for a seed, so runs at two sizes differ only
 * in size.
 */

export const PIPELINES = 500;
export const DAYS = 30;
const DAY_MS = 86_400_000;
/** Tenants and their share of the pipelines: one big, one middling, one small. */
export const TENANTS = [
  { name: 'acme', share: 0.6 },
  { name: 'globex', share: 0.3 },
  { name: 'initech', share: 0.1 },
] as const;
/** Zipf exponent of pipeline sizes: the largest of 500 gets ~20 % of the runs, the smallest ~0.02 %. */
const ZIPF = 1.1;
const STAGE_NAMES = ['extract', 'transform', 'load', 'validate'];
const NOUNS = ['orders', 'customers', 'invoices', 'payments', 'shipments', 'events', 'sessions', 'products', 'inventory', 'refunds', 'ledger', 'clicks'];
const KINDS = ['daily', 'hourly', 'raw', 'clean', 'agg'];
const SOURCES = ['postgresql', 'mysql', 's3', 'kafka', 'salesforce'];
export const ENVIRONMENTS = ['production', 'staging'];

/** mulberry32: a small seeded generator, so that the data is the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Pipeline {
  name: string;
  tenant: number;
  service: string;
  environment: string;
  table: string;
  source: string;
  stages: string[];
  /** Seconds a stage typically takes. */
  stageSeconds: number;
  /** Share of runs that fail: most pipelines rarely, a few flaky ones often. */
  failureRate: number;
  /** Share of all runs. */
  weight: number;
  owner: string;
}

export function pipelines(rng: () => number): Pipeline[] {
  const weights = Array.from({ length: PIPELINES }, (_, i) => 1 / (i + 1) ** ZIPF);
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight, i) => {
    const noun = NOUNS[i % NOUNS.length]!;
    const kind = KINDS[Math.floor(i / NOUNS.length) % KINDS.length]!;
    const draw = rng();
    const tenant = draw < TENANTS[0].share ? 0 : draw < TENANTS[0].share + TENANTS[1].share ? 1 : 2;
    return {
      name: `${noun}-${kind}-${i}`,
      tenant,
      service: `${noun}-etl`,
      environment: rng() < 0.8 ? ENVIRONMENTS[0]! : ENVIRONMENTS[1]!,
      table: `${noun}_${kind}`,
      source: SOURCES[i % SOURCES.length]!,
      stages: STAGE_NAMES.slice(0, 1 + Math.floor(rng() * STAGE_NAMES.length)),
      stageSeconds: 5 + Math.floor(rng() * 120),
      failureRate: rng() < 0.05 ? 0.25 : 0.01 + rng() * 0.04,
      weight: weight / total,
      owner: `team-${i % 9}`,
    };
  });
}

/** Every run's pipeline and start, in start order (as records reach a receiver), over the DAYS before `nowMs`. */
export interface Schedule {
  pipeline: Uint16Array;
  startMs: Float64Array;
  /** Each pipeline's run interval, seconds: what it declares as its expected interval. */
  intervalSeconds: number[];
}

/**
 * `runs` runs shared out by weight, each pipeline's evenly spaced with jitter. The window starts an
 * hour inside the retention period, so that a receiver started on the data drops none of it.
 */
export function schedule(all: Pipeline[], runs: number, nowMs: number, rng: () => number): Schedule {
  const windowMs = DAYS * DAY_MS - 3_600_000;
  const from = nowMs - windowMs;
  const counts = all.map((p) => Math.max(1, Math.round(runs * p.weight)));
  const n = counts.reduce((a, b) => a + b, 0);
  const pipeline = new Uint16Array(n);
  const startMs = new Float64Array(n);
  let at = 0;
  const intervalSeconds = counts.map((count, p) => {
    const interval = windowMs / count;
    for (let k = 0; k < count; k++, at++) {
      pipeline[at] = p;
      startMs[at] = Math.floor(from + k * interval + rng() * interval * 0.5);
    }
    return Math.round(interval / 1000);
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => startMs[a]! - startMs[b]!);
  return {
    pipeline: Uint16Array.from(order, (i) => pipeline[i]!),
    startMs: Float64Array.from(order, (i) => startMs[i]!),
    intervalSeconds,
  };
}
