/**
 * Quantiles of a distribution's counts, as Prometheus' histogram_quantile() estimates them: of explicit
 * bucket bounds by linear interpolation within the bucket the rank falls in, of exponential buckets by
 * interpolation on their logarithmic scale (linear within the zero bucket), as it does for native
 * histograms. A summary's quantile is the one it sent, when it sent it. Null where there is nothing to
 * estimate from (no observations), where Prometheus answers NaN.
 */

/**
 * The q-quantile (0 < q <= 1) of a histogram's counts per bucket: bucket i holds the values up to
 * bounds[i] (above bounds[i-1]), the last bucket those above the last bound. A rank in the last bucket
 * answers the last bound, as no upper one is known; one in a first bucket whose bound is not above 0, that bound.
 */
export function bucketQuantile(q: number, bounds: readonly number[], counts: readonly bigint[]): number | null {
  if (bounds.length === 0 || counts.length !== bounds.length + 1) return null;
  const cumulative: number[] = [];
  counts.reduce((sum, count, i) => (cumulative[i] = sum + Number(count)), 0);
  const total = cumulative[cumulative.length - 1]!;
  if (total === 0) return null;
  let rank = q * total;
  const b = cumulative.findIndex((count, i) => i < bounds.length && count >= rank);
  if (b < 0) return bounds[bounds.length - 1]!;
  if (b === 0 && bounds[0]! <= 0) return bounds[0]!;
  const start = b === 0 ? 0 : bounds[b - 1]!;
  const below = b === 0 ? 0 : cumulative[b - 1]!;
  rank -= below;
  return start + (bounds[b]! - start) * (rank / (cumulative[b]! - below));
}

/** An exponential histogram's buckets by index, at one scale: bucket i counts |values| in (base^i, base^(i+1)], base = 2^(2^-scale). */
export interface ExponentialCounts {
  scale: number;
  zeroThreshold: number;
  zero: bigint;
  positive: Map<number, bigint>;
  negative: Map<number, bigint>;
}

interface Bucket {
  lower: number;
  upper: number;
  count: number;
}

/** The buckets in the order of their values: negative ones from the most negative, the zero bucket, then the positive ones. */
function bucketsInOrder(h: ExponentialCounts): Bucket[] {
  const bound = (index: number) => 2 ** (index * 2 ** -h.scale);
  const sorted = (side: Map<number, bigint>) => [...side].filter(([, count]) => count > 0n).sort(([a], [b]) => a - b);
  const negative = sorted(h.negative).reverse().map(([i, count]) => ({ lower: -bound(i + 1), upper: -bound(i), count: Number(count) }));
  const positive = sorted(h.positive).map(([i, count]) => ({ lower: bound(i), upper: bound(i + 1), count: Number(count) }));
  // Where only one side has buckets, the zero bucket's observations are taken to lie on that side of 0.
  const zero = {
    lower: negative.length === 0 && positive.length > 0 ? 0 : -h.zeroThreshold,
    upper: positive.length === 0 && negative.length > 0 ? 0 : h.zeroThreshold,
    count: Number(h.zero),
  };
  return [...negative, ...(zero.count > 0 ? [zero] : []), ...positive];
}

export function exponentialQuantile(q: number, h: ExponentialCounts): number | null {
  const buckets = bucketsInOrder(h);
  const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  let at = buckets.length - 1;
  for (let i = 0; i < buckets.length; i++) {
    if (below + buckets[i]!.count >= rank) {
      at = i;
      break;
    }
    below += buckets[i]!.count;
  }
  const { lower, upper, count } = buckets[at]!;
  const fraction = Math.min(1, Math.max(0, (rank - below) / count));
  if (lower <= 0 && upper >= 0) return lower + (upper - lower) * fraction;
  // Exponential bounds are evenly spaced on a logarithmic scale: the rank's place in the bucket is taken there.
  const [logLower, logUpper] = [Math.log2(Math.abs(lower)), Math.log2(Math.abs(upper))];
  if (lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

/** A summary's q-quantile: the value it sent for exactly q, or null when it sent none for q. */
export function summaryQuantile(q: number, quantiles: readonly { quantile: number; value: number }[]): number | null {
  return quantiles.find((sent) => Math.abs(sent.quantile - q) < 1e-12)?.value ?? null;
}
