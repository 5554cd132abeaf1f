/**
 * The metrics decoders on bad input made from a good request of every kind and field: each mutant, cut-off
 * request or odd JSON value either decodes into rows that validation and rendering take without throwing, or
 * is refused with a DecodeError (a 400 naming the problem); anything else would be a 500.
 */
import { describe, expect, it } from 'vitest';
import { decodeMetricsJson } from '../../../receiver/decode/otlp-metrics-json.js';
import { decodeMetricsProtobuf } from '../../../receiver/decode/otlp-metrics-protobuf.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { timeWindow, validatePoints } from '../../../receiver/ingest/validate.js';
import { DecodeError, type MetricPointRow } from '../../../receiver/model/records.js';
import { byteMutants, jsonMutants, prefixes } from '../../helpers/fuzz.js';
import { everyFieldRequest } from '../../helpers/otlp-metrics-proto.js';
import { encode } from '../../helpers/otlp-decode.js';

const NOW = Date.now();
const WINDOW = timeWindow(30, NOW);
const TENANT = { id: 1, name: 'default' };
const protobufSeed = Buffer.from(encode('ExportMetricsServiceRequest', everyFieldRequest(NOW - 1000, 'protobuf')));
const jsonSeed = everyFieldRequest(NOW - 1000, 'json');

/**
 * 'refused' for a DecodeError, else the rows kept after validation and rendering as the ingest line does
 * them; anything else thrown fails the test, naming `what` was decoded.
 */
function outcome(what: string, decode: () => MetricPointRow[]): 'refused' | number {
  try {
    const { valid } = validatePoints(decode(), WINDOW);
    prepare(TENANT, [], [], valid);
    return valid.length;
  } catch (error) {
    if (!(error instanceof DecodeError) || error.message === '') throw new Error(`${what}: ${(error as Error).stack}`);
    return 'refused';
  }
}

const hex = (bytes: Buffer) => bytes.toString('hex');
const kinds = (outcomes: ('refused' | number)[]) => new Set(outcomes.map((o) => (o === 'refused' ? o : 'decoded')));

describe('the metrics decoders on bad input', () => {
  it('decode the seed request alike in both encodings, every point kept', () => {
    const rows = decodeMetricsProtobuf(protobufSeed);
    expect(rows.map((row) => row.metric.kind)).toEqual(['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary']);
    expect(decodeMetricsJson(JSON.stringify(jsonSeed))).toEqual(rows);
    expect(outcome('the seed', () => rows)).toBe(5);
  });

  it('refuse or decode every cut-off protobuf request, never throwing anything else', () => {
    const outcomes = prefixes(protobufSeed).map((prefix) => outcome(`prefix ${hex(prefix)}`, () => decodeMetricsProtobuf(prefix)));
    // Most cuts fall inside a field; a few at a boundary are a shorter, valid request.
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThan(outcomes.length / 2);
  });

  it('refuse or decode 5,000 protobuf mutants, never throwing anything else', () => {
    const outcomes = byteMutants(protobufSeed, 5_000, 1).map((mutant) => outcome(`mutant ${hex(mutant)}`, () => decodeMetricsProtobuf(mutant)));
    expect(kinds(outcomes)).toEqual(new Set(['refused', 'decoded']));
  });

  it('refuse or decode 5,000 JSON requests with an odd value anywhere, never throwing anything else', () => {
    const outcomes = jsonMutants(jsonSeed, 5_000, 2).map((mutant) => outcome(`mutant ${mutant}`, () => decodeMetricsJson(mutant)));
    expect(kinds(outcomes)).toEqual(new Set(['refused', 'decoded']));
  });

  it('refuse cut-off and byte-mutated JSON text, never throwing anything else', () => {
    const text = Buffer.from(JSON.stringify(jsonSeed));
    const outcomes = [...prefixes(text, 7), ...byteMutants(text, 1_000, 3)].map((mutant) =>
      outcome(`text ${mutant.toString('utf8')}`, () => decodeMetricsJson(mutant.toString('utf8'))),
    );
    expect(kinds(outcomes)).toEqual(new Set(['refused', 'decoded']));
  });
});
