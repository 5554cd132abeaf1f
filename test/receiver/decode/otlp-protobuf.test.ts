/**
 * The OTLP protobuf decoder: what the OpenTelemetry JS exporters serialize, field for field; what no
 * well-behaved encoder writes (unknown fields, wrong wire types, truncation, invalid UTF-8), refused
 * with a DecodeError or decoded, never anything else, also for fuzzed bytes; and the protobuf responses.
 */
import { describe, expect, it } from 'vitest';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  decodeLogsProtobuf,
  decodeTracesProtobuf,
  encodeExportResponseProtobuf,
  encodeStatusProtobuf,
} from '../../../receiver/decode/otlp-protobuf.js';
import { DecodeError } from '../../../receiver/model/records.js';
import { random } from '../../../bench/query-world.js';
import { decodesOrRefuses } from '../../helpers/decode-refusal.js';
import { decode, encode, sdkLogRecords, sdkSpans, SPAN_ID, TRACE_ID } from '../../helpers/otlp-decode.js';

// Raw protobuf, for what no well-behaved encoder writes.
function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const len = (field: number, bytes: ArrayLike<number>): number[] => [...tag(field, 2), ...varint(bytes.length), ...Array.from(bytes)];
const str = (field: number, s: string): number[] => len(field, Buffer.from(s));
/** An ExportLogsServiceRequest holding one LogRecord with these raw fields. */
const logsRequest = (record: number[]): Uint8Array => Uint8Array.from(len(1, len(2, len(2, record))));
const keyValue = (key: string, value: number[]): number[] => [...str(1, key), ...len(2, value)];

describe('protobuf decoding', () => {
  it('decodes log records serialized by the OpenTelemetry JS exporter field for field', () => {
    const rows = decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!);
    const expectedResource = {
      attributes: { 'service.name': 'orders-etl', 'service.version': '1.4.2', 'host.name': 'worker-3', 'process.pid': 4242 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      droppedAttributesCount: 0,
    };
    const expectedScope = { name: 'pipemon-test', version: '0.1.0', attributes: {}, schemaUrl: 'https://opentelemetry.io/schemas/1.25.0' };
    expect(rows).toEqual([
      {
        resource: expectedResource,
        scope: expectedScope,
        timeUnixNano: '1700000000123456789',
        observedTimeUnixNano: '1700000001000000005',
        severityNumber: 13,
        severityText: 'WARN',
        body: 'batch 17 loaded with 3 rejects',
        attributes: {
          'pipeline.name': 'orders',
          'batch.size': 500,
          'batch.ratio': 0.25,
          'batch.retried': false,
          'batch.tags': ['eu', 'nightly'],
          'batch.destination': { table: 'orders', rows: 497 },
          'batch.checksum': 'AQID+g==',
          'batch.offset': '1152921504606846976',
          'batch.delta': -42,
        },
        droppedAttributesCount: 0,
        flags: 1,
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        eventName: 'batch.loaded',
      },
      {
        resource: expectedResource,
        scope: expectedScope,
        timeUnixNano: '1700000002000000000',
        observedTimeUnixNano: '1700000002000000001',
        severityNumber: 0,
        severityText: '',
        body: '{"event":"x","count":3}',
        attributes: {},
        droppedAttributesCount: 0,
        flags: 0,
        traceId: '',
        spanId: '',
        eventName: '',
      },
      expect.objectContaining({ timeUnixNano: '1700000003000000000', body: null }),
    ]);
  });

  it('decodes spans serialized by the OpenTelemetry JS exporter field for field', () => {
    const rows = decodeTracesProtobuf(ProtobufTraceSerializer.serializeRequest(sdkSpans())!);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.resource.attributes['service.name']).toBe('orders-etl');
    expect(row.scope).toEqual({ name: 'pipemon-test', version: '0.1.0', attributes: {}, schemaUrl: '' });
    expect({ ...row, resource: undefined, scope: undefined, spanId: undefined }).toEqual({
      resource: undefined,
      scope: undefined,
      spanId: undefined,
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      traceState: '',
      flags: 0x301, // sampled, has-is-remote, is-remote
      name: 'load orders',
      kind: 2,
      startTimeUnixNano: '1700000000000000001',
      endTimeUnixNano: '1700000001999999999',
      attributes: { 'db.system': 'postgresql', 'db.rows': 497 },
      droppedAttributesCount: 0,
      events: [{ timeUnixNano: '1700000000500000000', name: 'batch.flushed', attributes: { rows: 250 }, droppedAttributesCount: 0 }],
      droppedEventsCount: 0,
      links: [
        {
          traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          spanId: 'bbbbbbbbbbbbbbbb',
          traceState: '',
          attributes: { 'link.reason': 'retry' },
          droppedAttributesCount: 0,
          flags: 0x100,
        },
      ],
      droppedLinksCount: 0,
      statusCode: 2,
      statusMessage: '3 rows rejected',
    });
    expect(row.spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('shares one resource and one scope object among the rows of a ResourceLogs and a ScopeLogs', () => {
    const rows = decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!);
    expect(rows[1]!.resource).toBe(rows[0]!.resource);
    expect(rows[2]!.scope).toBe(rows[0]!.scope);
  });

  it('gives records without resource or scope empty ones, and unset fields their defaults', () => {
    const rows = decodeLogsProtobuf(logsRequest([]));
    expect(rows).toEqual([
      {
        resource: { attributes: {}, schemaUrl: '', droppedAttributesCount: 0 },
        scope: { name: '', version: '', attributes: {}, schemaUrl: '' },
        timeUnixNano: '0',
        observedTimeUnixNano: '0',
        severityNumber: 0,
        severityText: '',
        body: null,
        attributes: {},
        droppedAttributesCount: 0,
        flags: 0,
        traceId: '',
        spanId: '',
        eventName: '',
      },
    ]);
    expect(decodeTracesProtobuf(Uint8Array.from(len(1, len(2, len(2, [])))))[0]).toMatchObject({
      traceId: '',
      startTimeUnixNano: '0',
      kind: 0,
      events: [],
      links: [],
      statusCode: 0,
    });
  });

  it('decodes an empty request to no rows', () => {
    expect(decodeLogsProtobuf(new Uint8Array(0))).toEqual([]);
    expect(decodeTracesProtobuf(new Uint8Array(0))).toEqual([]);
  });

  it('reads fixed64 times exactly, up to 2^64 - 1', () => {
    for (const time of ['1', '9007199254740991', '9007199254740993', '1700000000123456789', '18446744073709551615']) {
      const bytes = encode('ExportLogsServiceRequest', {
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: time, observedTimeUnixNano: time }] }] }],
      });
      expect(decodeLogsProtobuf(bytes)[0]).toMatchObject({ timeUnixNano: time, observedTimeUnixNano: time });
    }
  });

  it('reads a record whose fields arrive out of order, with the resource after its scope logs', () => {
    const record = [...str(3, 'INFO'), ...tag(1, 1), 1, 0, 0, 0, 0, 0, 0, 0, ...tag(2, 0), ...varint(9)];
    const bytes = Uint8Array.from(
      len(1, [...len(2, [...len(2, record), ...len(1, str(1, 'etl'))]), ...len(1, len(1, keyValue('service.name', str(1, 'a'))))]),
    );
    const [row] = decodeLogsProtobuf(bytes);
    expect(row).toMatchObject({ severityText: 'INFO', timeUnixNano: '1', severityNumber: 9 });
    expect(row!.resource.attributes).toEqual({ 'service.name': 'a' });
    expect(row!.scope.name).toBe('etl');
  });

  it('keeps a repeated attribute key once, with its last value, and "__proto__" as an ordinary key', () => {
    const [row] = decodeLogsProtobuf(
      logsRequest([
        ...len(6, keyValue('k', str(1, 'first'))),
        ...len(6, keyValue('k', str(1, 'last'))),
        ...len(6, keyValue('__proto__', len(6, len(1, keyValue('polluted', [...tag(2, 0), 1]))))),
      ]),
    );
    expect(Object.keys(row!.attributes)).toEqual(['k', '__proto__']);
    expect(row!.attributes.k).toBe('last');
    expect(Object.getPrototypeOf(row!.attributes)).toBe(Object.prototype);
    expect(JSON.stringify(row!.attributes)).toBe('{"k":"last","__proto__":{"polluted":true}}');
  });

  it('strips U+0000 and decodes invalid UTF-8 to U+FFFD exactly as TextDecoder does, for every string of a request', () => {
    const next = random(7);
    const decoder = new TextDecoder();
    const text = (bytes: number[]) => decoder.decode(Uint8Array.from(bytes)).replaceAll('\0', '');
    // A pool small enough that keys and values repeat and collide in the decoder's string caches: short
    // ASCII strings over two letters (same lengths, same first, middle and last bytes), long ones around
    // the 64-byte cache limit, others with NUL, high and invalid bytes.
    const pool = Array.from({ length: 60 }, (_, i) => {
      const ascii = i % 2 === 0;
      const length = ascii ? (i % 6 === 0 ? 60 + Math.floor(next() * 10) : 3 + Math.floor(next() * 3)) : Math.floor(next() * 12);
      return Array.from({ length }, () =>
        ascii ? 0x61 + Math.floor(next() * 2) : next() < 0.5 ? Math.floor(next() * 128) : 0x80 + Math.floor(next() * 128),
      );
    });
    const pick = () => pool[Math.floor(next() * pool.length)]!;
    const records = Array.from({ length: 2000 }, () => [pick(), pick(), pick()] as const);
    const bytes = Uint8Array.from(
      len(1, len(2, records.flatMap(([text3, key, value]) => len(2, [...len(3, text3), ...len(6, [...len(1, key), ...len(2, len(1, value))])])))),
    );
    const rows = decodeLogsProtobuf(bytes);
    expect(rows.map((row) => [row.severityText, row.attributes])).toEqual(
      records.map(([text3, key, value]) => [text(text3), { [text(key)]: text(value) }]),
    );
    expect(decodeLogsProtobuf(logsRequest(str(3, 'a\0b\0')))[0]!.severityText).toBe('ab');
  });

  it('skips unknown fields of every wire type, groups included, and known fields it does not keep', () => {
    const unknown = [
      ...tag(50, 0), ...varint(2n ** 64n - 1n),
      ...tag(51, 1), 1, 2, 3, 4, 5, 6, 7, 8,
      ...str(52, 'ignored'),
      ...tag(53, 5), 1, 2, 3, 4,
      // a group holding every wire type and a nested group
      ...tag(54, 3), ...tag(1, 0), 5, ...tag(2, 5), 0, 0, 0, 0, ...tag(3, 3), ...tag(4, 2), 0, ...tag(3, 4), ...tag(54, 4),
    ];
    const [row] = decodeLogsProtobuf(
      logsRequest([
        ...unknown,
        ...str(3, 'WARN'),
        ...unknown,
        ...len(6, [...keyValue('a', [...str(1, 'x'), ...tag(8, 0), 3]), ...tag(3, 0), 7]), // strindex fields (profiles only)
        ...len(6, keyValue('b', [...tag(8, 0), 3])),
      ]),
    );
    expect(row).toMatchObject({ severityText: 'WARN', attributes: { a: 'x', b: null } });
    const [withBody] = decodeLogsProtobuf(logsRequest(len(5, [...tag(3, 0), 1, ...str(1, 'text'), ...tag(8, 0), 3, ...unknown])));
    expect(withBody!.body).toBe('text');
  });

  it('refuses groups that are not closed, or closed by another field', () => {
    expect(() => decodeLogsProtobuf(logsRequest([...tag(54, 3), ...tag(1, 0), 5]))).toThrow(/group of field 54 in LogRecord .* has no end-group/);
    expect(() => decodeLogsProtobuf(logsRequest([...tag(54, 3), ...tag(55, 4)]))).toThrow(/end-group of field 55 in LogRecord/);
    expect(() => decodeLogsProtobuf(logsRequest([...tag(55, 4)]))).toThrow(/end-group of field 55 in LogRecord .* closes no group/);
    const deep = [...Array(40).fill(tag(60, 3)).flat(), ...Array(40).fill(tag(60, 4)).flat()];
    expect(() => decodeLogsProtobuf(logsRequest(deep))).toThrow(/nested deeper than 32/);
  });

  it('refuses a known field with the wrong wire type', () => {
    expect(() => decodeLogsProtobuf(logsRequest([...tag(3, 0), 1]))).toThrow(
      'invalid protobuf: field 3 of LogRecord at byte 6 has wire type 0, expected 2',
    );
    expect(() => decodeLogsProtobuf(logsRequest([...tag(1, 0), 1]))).toThrow(/field 1 of LogRecord .* wire type 0, expected 1/);
    expect(() => decodeTracesProtobuf(Uint8Array.from(len(1, len(2, len(2, [...tag(16, 0), 1])))))).toThrow(
      /field 16 of Span .* wire type 0, expected 5/,
    );
    expect(() => decodeLogsProtobuf(Uint8Array.from(tag(1, 0)))).toThrow(/field 1 of ExportLogsServiceRequest/);
  });

  it('refuses invalid wire types and field number 0', () => {
    expect(() => decodeLogsProtobuf(logsRequest([...tag(60, 6)]))).toThrow(/field 60 of LogRecord .* invalid wire type 6/);
    expect(() => decodeLogsProtobuf(logsRequest([...tag(60, 7)]))).toThrow(/invalid wire type 7/);
    expect(() => decodeLogsProtobuf(logsRequest([0, 1]))).toThrow(/field number 0 in LogRecord/);
  });

  it('names the field, message and offset when a value runs past the end of its message', () => {
    const record = [...tag(3, 2), 40, ...Array(12).fill(0x61)];
    expect(() => decodeLogsProtobuf(logsRequest(record))).toThrow(
      'truncated protobuf: field 3 of LogRecord at byte 8 needs 40 bytes, 12 remain',
    );
    expect(() => decodeLogsProtobuf(logsRequest([...tag(1, 1), 1, 2, 3]))).toThrow(
      'truncated protobuf: field 1 of LogRecord at byte 7 needs 8 bytes, 3 remain',
    );
    expect(() => decodeLogsProtobuf(logsRequest([...tag(2, 0), 0x80]))).toThrow(
      'truncated protobuf: varint in field 2 of LogRecord at byte 7 runs past the end',
    );
  });

  it('refuses varints longer than 64 bits', () => {
    expect(() => decodeLogsProtobuf(logsRequest([...tag(2, 0), ...Array(10).fill(0xff), 1]))).toThrow(/longer than 64 bits/);
    expect(() => decodeLogsProtobuf(logsRequest([...tag(2, 0), ...Array(9).fill(0xff), 2]))).toThrow(/longer than 64 bits/);
    expect(() => decodeLogsProtobuf(logsRequest([...Array(5).fill(0xff), 0x01]))).toThrow(/tag of LogRecord .* longer than 32 bits/);
  });

  it('refuses AnyValue nested deeper than 32 levels', () => {
    const nested = (levels: number): number[] => (levels === 1 ? str(1, 'leaf') : len(5, len(1, nested(levels - 1))));
    const ok = decodeLogsProtobuf(logsRequest(len(6, keyValue('deep', nested(32)))));
    expect(JSON.stringify(ok[0]!.attributes)).toBe(`{"deep":${'['.repeat(31)}"leaf"${']'.repeat(31)}}`);
    expect(() => decodeLogsProtobuf(logsRequest(len(6, keyValue('deep', nested(33)))))).toThrow(/nested deeper than 32 levels/);
    let deep = str(1, 'leaf');
    for (let i = 0; i < 3000; i++) deep = len(5, len(1, deep));
    expect(() => decodeLogsProtobuf(logsRequest(len(5, deep)))).toThrow(DecodeError);
  });

  it('returns rows or a DecodeError for every truncation of a valid request, never another error', () => {
    const logs = ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!;
    for (let i = 0; i < logs.length; i++) decodesOrRefuses(() => decodeLogsProtobuf(logs.subarray(0, i)));
    const spans = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    for (let i = 0; i < spans.length; i++) decodesOrRefuses(() => decodeTracesProtobuf(spans.subarray(0, i)));
  });

  it('returns rows or a DecodeError for random bytes and random corruptions (fixed seed)', () => {
    const next = random(42);
    const byte = () => Math.floor(next() * 256);
    const valid = [ProtobufLogsSerializer.serializeRequest(sdkLogRecords())!, ProtobufTraceSerializer.serializeRequest(sdkSpans())!];
    for (let i = 0; i < 4000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = Uint8Array.from({ length: Math.floor(next() * 200) }, byte);
      } else {
        bytes = Uint8Array.from(valid[i % 4 === 1 ? 0 : 1]!);
        for (let k = 1 + Math.floor(next() * 4); k > 0; k--) bytes[Math.floor(next() * bytes.length)] = byte();
      }
      decodesOrRefuses(() => decodeLogsProtobuf(bytes));
      decodesOrRefuses(() => decodeTracesProtobuf(bytes));
    }
  });
});

describe('response encoding', () => {
  it('encodes export responses that protobufjs decodes, empty on full success', () => {
    expect(encodeExportResponseProtobuf(0, '')).toEqual(new Uint8Array(0));
    expect(decode('ExportLogsServiceResponse', encodeExportResponseProtobuf(3, 'bad trace id ü'))).toEqual({
      partialSuccess: { rejectedLogRecords: '3', errorMessage: 'bad trace id ü' },
    });
    expect(decode('ExportTraceServiceResponse', encodeExportResponseProtobuf(2 ** 40, ''))).toEqual({
      partialSuccess: { rejectedSpans: String(2 ** 40) },
    });
    expect(decode('ExportLogsServiceResponse', encodeExportResponseProtobuf(0, 'slow down'))).toEqual({
      partialSuccess: { errorMessage: 'slow down' },
    });
  });

  it('encodes google.rpc.Status that protobufjs decodes', () => {
    expect(decode('RpcStatus', encodeStatusProtobuf(3, 'truncated protobuf'))).toEqual({ code: 3, message: 'truncated protobuf' });
    expect(decode('RpcStatus', encodeStatusProtobuf(-1, ''))).toEqual({ code: -1 });
  });
});
