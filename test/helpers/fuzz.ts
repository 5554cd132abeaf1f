/**
 * Bad input made from good: seeded, so that a failure names the mutant that caused it and recurs. Byte
 * mutants of a protobuf request (bytes changed, inserted, cut out, repeated), its prefixes, and JSON
 * requests with one value anywhere replaced by a value of another type or range.
 */

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const below = (random: () => number, n: number) => Math.floor(random() * n);

/** Bytes that make varints, lengths and tags go wrong most often. */
const ODD_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x09, 0x11];

/** One mutation of `bytes`: a byte changed, bytes inserted, a range cut out or a range repeated. */
function mutate(bytes: Buffer, random: () => number): Buffer {
  const at = below(random, bytes.length);
  const length = 1 + below(random, 8);
  switch (below(random, 4)) {
    case 0: {
      const copy = Buffer.from(bytes);
      copy[at] = random() < 0.5 ? ODD_BYTES[below(random, ODD_BYTES.length)]! : below(random, 256);
      return copy;
    }
    case 1:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length }, () => ODD_BYTES[below(random, ODD_BYTES.length)]!)), bytes.subarray(at)]);
    case 2:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]);
    default:
      return Buffer.concat([bytes.subarray(0, at + length), bytes.subarray(at)]);
  }
}

/** `count` mutants of `bytes`, each of one to three mutations. */
export function byteMutants(bytes: Buffer, count: number, seed: number): Buffer[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => {
    let mutant = bytes;
    for (let i = 1 + below(random, 3); i > 0; i--) mutant = mutate(mutant, random);
    return mutant;
  });
}

/** Every `step`-th proper prefix of `bytes`, from one byte: requests cut off in the middle. */
export function prefixes(bytes: Buffer, step = 1): Buffer[] {
  const cut: Buffer[] = [];
  for (let end = 1; end < bytes.length; end += step) cut.push(bytes.subarray(0, end));
  return cut;
}

/** Values of every JSON type and of ranges no field takes: what a value anywhere is replaced with. */
const ODD_VALUES: unknown[] = [
  null, true, 0, -1, 1.5, 2 ** 53 + 2, 1e308, -1e308, '', 'x', '-1', '1.5', 'NaN', 'Infinity', '-Infinity',
  '18446744073709551615', '18446744073709551616', '9223372036854775808', '-9223372036854775809', '99999999999999999999999',
  'zz', 'AAAA', [], [1], [null], {}, { stringValue: 'x' }, { intValue: '1e3' }, { arrayValue: { values: [{}] } }, '\u0000',
];

/** The paths of every value in `json`, containers included. */
function paths(json: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(json)) json.forEach((item, i) => paths(item, [...at, i], out));
  else if (json !== null && typeof json === 'object') for (const [key, value] of Object.entries(json)) paths(value, [...at, key], out);
  return out;
}

/** `count` copies of `json`, each with one value (anywhere but the root) replaced by an odd one. */
export function jsonMutants(json: unknown, count: number, seed: number): string[] {
  const random = seeded(seed);
  const all = paths(json).filter((path) => path.length > 0);
  return Array.from({ length: count }, () => {
    const copy = structuredClone(json) as Record<string | number, unknown>;
    const path = all[below(random, all.length)]!;
    let parent = copy;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[path.at(-1)!] = structuredClone(ODD_VALUES[below(random, ODD_VALUES.length)]);
    return JSON.stringify(copy);
  });
}
