/**
 * Decoding speed of OTLP log requests (1,000 realistic records each): our hand-written protobuf decoder
 * against protobufjs (reflection decode, and decode + flatten to the same rows for a fair comparison) and
 * against JSON.parse + our OTLP/JSON decoder, all in one process, rounds interleaved, median reported.
 * Checks first that all paths produce the same rows. Prints one JSON object.
 *
 * `npm run bench:decode -- --small`: 3 rounds of 2 requests, every path checked and timed as in a full run,
 * in about a second; CI runs it so that the bench cannot rot (its figures then mean little).
 */
import { deepStrictEqual } from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { loadavg } from 'node:os';
import { decodeLogsJson } from '../receiver/decode/otlp-json.js';
import { decodeLogsProtobuf } from '../receiver/decode/otlp-protobuf.js';
import type { Attributes, LogRow } from '../receiver/model/records.js';
import { bodyText, doubleValue, int64Value, newResource, newScope, setAttribute } from '../receiver/decode/otlp-values.js';
import { otlpString, otlpType, realisticLogsRequest, type OtlpValueShapes, type RealisticLogsRequest } from '../harness/otlp-fixtures.js';

const SMALL = process.argv.includes('--small');
const RECORDS = 1000;
const REQUESTS_PER_ROUND = SMALL ? 2 : 40;
const ROUNDS = SMALL ? 3 : 9;

const Request = otlpType('ExportLogsServiceRequest');

// The shapes protobufjs decodes to (unset scalars read as defaults from the prototype).
interface PbLong {
  low: number;
  high: number;
  toString(): string;
}
interface PbAnyValue {
  value?: string;
  stringValue: string;
  boolValue: boolean;
  intValue: PbLong;
  doubleValue: number;
  arrayValue: { values: PbAnyValue[] };
  kvlistValue: { values: PbKeyValue[] };
  bytesValue: Uint8Array;
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
interface PbLogRecord {
  timeUnixNano: PbLong;
  observedTimeUnixNano: PbLong;
  severityNumber: number;
  severityText: string;
  body?: PbAnyValue | null;
  attributes: PbKeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
  eventName: string;
}
interface PbRequest {
  resourceLogs: {
    resource?: { attributes: PbKeyValue[]; droppedAttributesCount: number } | null;
    scopeLogs: { scope?: { name: string; version: string; attributes: PbKeyValue[] } | null; logRecords: PbLogRecord[]; schemaUrl: string }[];
    schemaUrl: string;
  }[];
}

/** protobufjs output flattened to our rows, with the same conventions (values.ts). */
function flatten(request: PbRequest): LogRow[] {
  const rows: LogRow[] = [];
  for (const rl of request.resourceLogs) {
    const resource = newResource();
    resource.schemaUrl = rl.schemaUrl;
    if (rl.resource) {
      attributesInto(resource.attributes, rl.resource.attributes);
      resource.droppedAttributesCount = rl.resource.droppedAttributesCount;
    }
    for (const sl of rl.scopeLogs) {
      const scope = newScope();
      scope.schemaUrl = sl.schemaUrl;
      if (sl.scope) {
        scope.name = sl.scope.name;
        scope.version = sl.scope.version;
        attributesInto(scope.attributes, sl.scope.attributes);
      }
      for (const r of sl.logRecords) {
        const body = r.body ? anyValue(r.body) : null;
        const attributes: Attributes = {};
        attributesInto(attributes, r.attributes);
        rows.push({
          resource,
          scope,
          timeUnixNano: r.timeUnixNano.toString(),
          observedTimeUnixNano: r.observedTimeUnixNano.toString(),
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          body: r.body ? bodyText(body, r.body.value === 'stringValue') : null,
          attributes,
          droppedAttributesCount: r.droppedAttributesCount,
          flags: r.flags,
          traceId: Buffer.from(r.traceId).toString('hex'),
          spanId: Buffer.from(r.spanId).toString('hex'),
          eventName: r.eventName,
        });
      }
    }
  }
  return rows;
}

function attributesInto(into: Attributes, list: PbKeyValue[]): void {
  for (const kv of list) setAttribute(into, kv.key, kv.value ? anyValue(kv.value) : null);
}

function anyValue(v: PbAnyValue): unknown {
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return int64Value(v.intValue.low >>> 0, v.intValue.high >>> 0);
    case 'doubleValue':
      return doubleValue(v.doubleValue);
    case 'arrayValue':
      return v.arrayValue.values.map(anyValue);
    case 'kvlistValue': {
      const out: Attributes = {};
      attributesInto(out, v.kvlistValue.values);
      return out;
    }
    case 'bytesValue':
      return Buffer.from(v.bytesValue).toString('base64');
    default:
      return null;
  }
}

/** The realistic request (one resource, one scope, 1,000 records) at a fixed time, in either value shape. */
function otlpRequest(values: OtlpValueShapes): RealisticLogsRequest {
  return realisticLogsRequest({
    values,
    records: RECORDS,
    startUnixNano: 1_700_000_000_000_000_000n,
    stepNanos: 1_234_567n,
    scope: { name: 'pipemon', version: '0.1.0' },
    // The names this benchmark has always measured with (its request_bytes are comparable across runs).
    pipelineKeys: { name: 'pipeline.name', runId: 'pipeline.run_id', stage: 'pipeline.stage' },
    moreResourceAttributes: [otlpString('telemetry.sdk.name', 'opentelemetry'), otlpString('telemetry.sdk.version', '2.0.1')],
  });
}

const protobufBody = Request.encode(Request.fromObject(otlpRequest('protobuf'))).finish();
const jsonBody = JSON.stringify(otlpRequest('json'));

const contenders: Record<string, () => number> = {
  hand_written_protobuf: () => decodeLogsProtobuf(protobufBody).length,
  protobufjs_decode: () => (Request.decode(protobufBody) as unknown as PbRequest).resourceLogs[0]!.scopeLogs[0]!.logRecords.length,
  protobufjs_decode_flatten: () => flatten(Request.decode(protobufBody) as unknown as PbRequest).length,
  json_parse_and_decode: () => decodeLogsJson(jsonBody).length,
};

// All paths must agree before their speeds mean anything.
const expected = decodeLogsProtobuf(protobufBody);
deepStrictEqual(expected.length, RECORDS);
deepStrictEqual(decodeLogsJson(jsonBody), expected);
deepStrictEqual(flatten(Request.decode(protobufBody) as unknown as PbRequest), expected);

const samples: Record<string, number[]> = {};
for (const name of Object.keys(contenders)) samples[name] = [];
for (let round = -1; round < ROUNDS; round++) {
  for (const [name, decode] of Object.entries(contenders)) {
    let records = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < REQUESTS_PER_ROUND; i++) records += decode();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (records !== REQUESTS_PER_ROUND * RECORDS) throw new Error(`${name} decoded ${records} records`);
    if (round >= 0) samples[name]!.push(records / seconds); // round -1 warms up the JIT
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const recordsPerSecond: Record<string, number> = {};
for (const [name, xs] of Object.entries(samples)) recordsPerSecond[name] = Math.round(median(xs));
const ratio = (a: string, b: string) => Math.round((recordsPerSecond[a]! / recordsPerSecond[b]!) * 100) / 100;

console.log(
  JSON.stringify({
    benchmark: 'decode OTLP logs requests',
    node: process.version,
    small: SMALL,
    load_average: loadavg().map((x) => Math.round(x * 100) / 100),
    records_per_request: RECORDS,
    request_bytes: { protobuf: protobufBody.length, json: Buffer.byteLength(jsonBody) },
    rounds: ROUNDS,
    requests_per_round: REQUESTS_PER_ROUND,
    records_per_second_median: recordsPerSecond,
    ratios: {
      hand_written_vs_protobufjs_decode_flatten: ratio('hand_written_protobuf', 'protobufjs_decode_flatten'),
      hand_written_vs_protobufjs_decode: ratio('hand_written_protobuf', 'protobufjs_decode'),
      hand_written_vs_json: ratio('hand_written_protobuf', 'json_parse_and_decode'),
    },
  }),
);
