/**
 * bench:decode in its small mode, the compiled script as `npm run bench:decode -- --small` runs it, so that it
 * keeps running as the decoders change: every decoder agrees (the bench exits non-zero otherwise) and its JSON
 * holds a speed for each and ratios that follow from them. No timings are asserted.
 */
import { describe, expect, it } from 'vitest';
import { benchJson, compiledBench, eachOf, positive } from '../helpers/bench.js';

const CONTENDERS = ['hand_written_protobuf', 'protobufjs_decode', 'protobufjs_decode_flatten', 'json_parse_and_decode'];
/** Each ratio's name: the contenders it divides. */
const RATIOS = {
  hand_written_vs_protobufjs_decode_flatten: ['hand_written_protobuf', 'protobufjs_decode_flatten'],
  hand_written_vs_protobufjs_decode: ['hand_written_protobuf', 'protobufjs_decode'],
  hand_written_vs_json: ['hand_written_protobuf', 'json_parse_and_decode'],
} as const;

describe('bench:decode --small', () => {
  it('decodes with every contender and prints each one\'s speed and the ratios between them', async () => {
    const out = await benchJson(process.execPath, [compiledBench('decode'), '--small']);
    expect(out).toMatchObject({ benchmark: 'decode OTLP logs requests', small: true, records_per_request: 1000, rounds: 3, requests_per_round: 2 });
    expect(out.load_average).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    const bytes = out.request_bytes as { protobuf: number; json: number };
    expect(bytes.protobuf).toBeGreaterThan(0);
    expect(bytes.json).toBeGreaterThan(bytes.protobuf);

    const speeds = out.records_per_second_median as Record<string, number>;
    expect(speeds).toEqual(eachOf(CONTENDERS, positive()));
    const ratios = out.ratios as Record<string, number>;
    expect(Object.keys(ratios).sort()).toEqual(Object.keys(RATIOS).sort());
    for (const [name, [a, b]] of Object.entries(RATIOS)) expect(ratios[name], name).toBeCloseTo(speeds[a]! / speeds[b]!, 1);
  }, 120_000);
});
