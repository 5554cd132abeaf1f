/**
 * The OTLP/JSON decoder: the same rows as the protobuf decoder for what the OpenTelemetry JS exporters
 * send either way, the spellings the OTLP/JSON mapping allows (snake_case, enum names, 64-bit integers
 * as strings or numbers), refusals that name the JSON path, and the JSON responses.
 */
import { describe, expect, it } from 'vitest';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeLogsJson, decodeTracesJson, encodeExportResponseJson, encodeStatusJson } from '../../../receiver/decode/otlp-json.js';
import { decodeLogsProtobuf, decodeTracesProtobuf } from '../../../receiver/decode/otlp-protobuf.js';
import { DecodeError } from '../../../receiver/model/records.js';
import { otlpType } from '../../../harness/otlp-fixtures.js';
import { decodeRefusal } from '../../helpers/decode-refusal.js';
import { encode, sdkLogRecords, sdkSpans, SPAN_ID, TRACE_ID } from '../../helpers/otlp-decode.js';

describe('the same records in protobuf and JSON', () => {
  it('decode to deep-equal log rows from the OpenTelemetry JS exporter', () => {
    const records = sdkLogRecords();
    const json = new TextDecoder().decode(JsonLogsSerializer.serializeRequest(records));
    expect(decodeLogsJson(json)).toEqual(decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(records)!));
  });

  it('decode to deep-equal span rows from the OpenTelemetry JS exporter', () => {
    const spans = sdkSpans();
    const json = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    expect(decodeTracesJson(json)).toEqual(decodeTracesProtobuf(ProtobufTraceSerializer.serializeRequest(spans)!));
  });

  it('convert every AnyValue kind the same way', () => {
    const attributes = [
      { key: 's', value: { stringValue: 'text' } },
      { key: 'nul', value: { stringValue: 'a\0b' } },
      { key: 'b', value: { boolValue: true } },
      { key: 'i', value: { intValue: 5 } },
      { key: 'neg', value: { intValue: -5 } },
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'negbig', value: { intValue: '-9007199254740993' } },
      { key: 'max', value: { intValue: '9223372036854775807' } },
      { key: 'min', value: { intValue: '-9223372036854775808' } },
      { key: 'd', value: { doubleValue: 1.5 } },
      { key: 'nan', value: { doubleValue: NaN } },
      { key: 'inf', value: { doubleValue: Infinity } },
      { key: 'ninf', value: { doubleValue: -Infinity } },
      { key: 'bytes', value: { bytesValue: Uint8Array.from([1, 2, 3, 255]) } },
      { key: 'arr', value: { arrayValue: { values: [{ intValue: 1 }, { stringValue: 'x' }, { arrayValue: { values: [{ boolValue: true }] } }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { kvlistValue: { values: [{ key: 'b', value: {} }] } } }] } } },
      { key: 'empty', value: {} },
      { key: 'novalue' },
    ];
    const protobufRows = decodeLogsProtobuf(
      encode('ExportLogsServiceRequest', {
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes, body: { kvlistValue: { values: attributes.slice(0, 3) } } }] }] }],
      }),
    );
    // The same values as an OTLP/JSON client may spell them: strings or numbers for int64, snake_case,
    // special doubles as strings, unpadded URL-safe base64.
    const jsonAttributes = [
      { key: 's', value: { stringValue: 'text' } },
      { key: 'nul', value: { string_value: 'a\u0000b' } },
      { key: 'b', value: { bool_value: true } },
      { key: 'i', value: { intValue: '5' } },
      { key: 'neg', value: { int_value: -5 } },
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'negbig', value: { intValue: '-9007199254740993' } },
      { key: 'max', value: { intValue: '9223372036854775807' } },
      { key: 'min', value: { intValue: '-9223372036854775808' } },
      { key: 'd', value: { doubleValue: '1.5' } },
      { key: 'nan', value: { doubleValue: 'NaN' } },
      { key: 'inf', value: { double_value: 'Infinity' } },
      { key: 'ninf', value: { doubleValue: '-Infinity' } },
      { key: 'bytes', value: { bytesValue: 'AQID_w' } },
      { key: 'arr', value: { array_value: { values: [{ intValue: 1 }, { stringValue: 'x' }, { arrayValue: { values: [{ boolValue: true }] } }] } } },
      { key: 'kv', value: { kvlist_value: { values: [{ key: 'a', value: { kvlistValue: { values: [{ key: 'b', value: {} }] } } }] } } },
      { key: 'empty', value: {} },
      { key: 'novalue', value: null },
    ];
    const jsonRows = decodeLogsJson(
      JSON.stringify({
        resource_logs: [{ scope_logs: [{ log_records: [{ attributes: jsonAttributes, body: { kvlistValue: { values: jsonAttributes.slice(0, 3) } } }] }] }],
      }),
    );
    const expected = {
      s: 'text',
      nul: 'ab',
      b: true,
      i: 5,
      neg: -5,
      big: '9007199254740993',
      negbig: '-9007199254740993',
      max: '9223372036854775807',
      min: '-9223372036854775808',
      d: 1.5,
      nan: 'NaN',
      inf: 'Infinity',
      ninf: '-Infinity',
      bytes: 'AQID/w==',
      arr: [1, 'x', [true]],
      kv: { a: { b: null } },
      empty: null,
      novalue: null,
    };
    expect(protobufRows[0]!.attributes).toEqual(expected);
    expect(protobufRows[0]!.body).toBe('{"s":"text","nul":"ab","b":true}');
    expect(jsonRows).toEqual(protobufRows);
  });

  it('keep a string body as is and turn other bodies into JSON', () => {
    const bodies = [{ stringValue: '{"not":"parsed"}' }, { intValue: '7' }, { bytesValue: 'AQI=' }, { doubleValue: 'NaN' }, {}];
    const json = decodeLogsJson(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((body) => ({ body })) }] }] }));
    expect(json.map((row) => row.body)).toEqual(['{"not":"parsed"}', '7', '"AQI="', '"NaN"', null]);
    const protobufBodies = [{ stringValue: '{"not":"parsed"}' }, { intValue: 7 }, { bytesValue: 'AQI=' }, { doubleValue: NaN }, {}];
    const bytes = encode('ExportLogsServiceRequest', {
      resourceLogs: [{ scopeLogs: [{ logRecords: protobufBodies.map((body) => ({ body })) }] }],
    });
    expect(decodeLogsProtobuf(bytes)).toEqual(json);
  });
});

describe('OTLP/JSON decoding', () => {
  const oneLog = (record: unknown) => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] });
  const oneSpan = (span: unknown) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });

  it('decodes an empty object, or empty lists, to no rows', () => {
    expect(decodeLogsJson('{}')).toEqual([]);
    expect(decodeLogsJson('{"resourceLogs":[]}')).toEqual([]);
    expect(decodeTracesJson('{"resourceSpans":[{"scopeSpans":[]}]}')).toEqual([]);
  });

  it('accepts snake_case keys and enum names', () => {
    const [log] = decodeLogsJson(
      oneLog({ time_unix_nano: '5', severity_number: 'SEVERITY_NUMBER_INFO', severity_text: 'INFO', trace_id: TRACE_ID, event_name: 'e' }),
    );
    expect(log).toMatchObject({ timeUnixNano: '5', severityNumber: 9, severityText: 'INFO', traceId: TRACE_ID, eventName: 'e' });
    const [span] = decodeTracesJson(
      oneSpan({ parent_span_id: SPAN_ID, kind: 'SPAN_KIND_SERVER', start_time_unix_nano: 1, status: { code: 'STATUS_CODE_ERROR' } }),
    );
    expect(span).toMatchObject({ parentSpanId: SPAN_ID, kind: 2, startTimeUnixNano: '1', statusCode: 2 });
  });

  it('accepts 64-bit integers as strings or numbers and keeps times exact', () => {
    const [a, b] = decodeLogsJson(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: '18446744073709551615', observedTimeUnixNano: '0001700000000000000000', droppedAttributesCount: '3' },
                  { timeUnixNano: 1700000000000, observedTimeUnixNano: 0, flags: 257 },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(a).toMatchObject({ timeUnixNano: '18446744073709551615', observedTimeUnixNano: '1700000000000000000', droppedAttributesCount: 3 });
    expect(b).toMatchObject({ timeUnixNano: '1700000000000', observedTimeUnixNano: '0', flags: 257 });
  });

  it('lowercases hex ids of any case', () => {
    const [span] = decodeTracesJson(oneSpan({ traceId: TRACE_ID.toUpperCase(), spanId: 'EeE19b7ec3c1b174' }));
    expect(span).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID });
  });

  it('replaces lone surrogates with U+FFFD, as UTF-8 would', () => {
    const [log] = decodeLogsJson(oneLog({ severityText: 'a\ud800b' }));
    expect(log!.severityText).toBe('a\ufffdb');
  });

  it.each([
    ['{"resourceLogs":{}}', 'resourceLogs: expected an array, got object'],
    [
      '{"resourceLogs":[{"scopeLogs":[{},{"logRecords":[{},{},{},{"timeUnixNano":{}}]}]}]}',
      'resourceLogs[0].scopeLogs[1].logRecords[3].timeUnixNano: expected a non-negative 64-bit integer (string or number), got object',
    ],
    [oneLog('oops'), 'resourceLogs[0].scopeLogs[0].logRecords[0]: expected an object, got "oops"'],
    [oneLog({ attributes: {} }), 'resourceLogs[0].scopeLogs[0].logRecords[0].attributes: expected an array, got object'],
    [oneLog({ traceId: 'xyz0' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].traceId: expected a hex string, got "xyz0"'],
    [oneLog({ spanId: 'abc' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].spanId: expected a hex string, got "abc"'],
    [oneLog({ timeUnixNano: '-1' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: expected a non-negative 64-bit integer (string or number), got "-1"'],
    [oneLog({ timeUnixNano: 1.5 }), 'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: expected a non-negative 64-bit integer (string or number), got 1.5'],
    [oneLog({ timeUnixNano: '18446744073709551616' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: expected a non-negative 64-bit integer (string or number), got "18446744073709551616"'],
    [oneLog({ severityNumber: 'LOUD' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: expected an enum number or name, got "LOUD"'],
    [oneLog({ severityText: 3 }), 'resourceLogs[0].scopeLogs[0].logRecords[0].severityText: expected a string, got 3'],
    [
      oneLog({ attributes: [{ key: 'a', value: { stringValue: 'x' } }, { key: 'b', value: { kvlistValue: { values: [{ key: 'c', value: { intValue: 'x1' } }] } } }] }),
      'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[1].value.kvlistValue.values[0].value.intValue: expected a 64-bit integer (string or number), got "x1"',
    ],
    [oneLog({ attributes: [{ key: 'a', value: { intValue: '9223372036854775808' } }] }), 'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.intValue: expected a 64-bit integer (string or number), got "9223372036854775808"'],
    [oneLog({ attributes: [{ key: 'a', value: { arrayValue: { values: [1] } } }] }), 'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.arrayValue.values[0]: expected an object, got 1'],
    [oneLog({ attributes: [{ key: 'a', value: { bytesValue: 'a' } }] }), 'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.bytesValue: expected a base64 string, got "a"'],
    [oneLog({ attributes: [{ key: 'a', value: { boolValue: 'true' } }] }), 'resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value.boolValue: expected a boolean, got "true"'],
    [oneLog({ body: { doubleValue: 'fast' } }), 'resourceLogs[0].scopeLogs[0].logRecords[0].body.doubleValue: expected a number, got "fast"'],
    [oneLog({ body: 'text' }), 'resourceLogs[0].scopeLogs[0].logRecords[0].body: expected an object, got "text"'],
    ['{"resourceLogs":[{"resource":[]}]}', 'resourceLogs[0].resource: expected an object, got array'],
    ['{"resourceLogs":[{"resource":{"attributes":[{"key":1}]}}]}', 'resourceLogs[0].resource.attributes[0].key: expected a string, got 1'],
    ['{"resourceLogs":[{"scopeLogs":[{"scope":{"name":false}}]}]}', 'resourceLogs[0].scopeLogs[0].scope.name: expected a string, got boolean'],
    ['[]', 'body is not a JSON object: got array'],
    ['null', 'body is not a JSON object: got null'],
  ])('refuses %s naming the JSON path', (text, message) => {
    expect(decodeRefusal(() => decodeLogsJson(text))).toBe(message);
  });

  it.each([
    [oneSpan({ kind: 1.5 }), 'resourceSpans[0].scopeSpans[0].spans[0].kind: expected an enum number or name, got 1.5'],
    [oneSpan({ events: [{ name: 'a' }, { timeUnixNano: 'soon' }] }), 'resourceSpans[0].scopeSpans[0].spans[0].events[1].timeUnixNano: expected a non-negative 64-bit integer (string or number), got "soon"'],
    [oneSpan({ links: [{ traceId: 'zz' }] }), 'resourceSpans[0].scopeSpans[0].spans[0].links[0].traceId: expected a hex string, got "zz"'],
    [oneSpan({ status: { code: 'STATUS_CODE_BAD' } }), 'resourceSpans[0].scopeSpans[0].spans[0].status.code: expected an enum number or name, got "STATUS_CODE_BAD"'],
    [oneSpan({ status: 2 }), 'resourceSpans[0].scopeSpans[0].spans[0].status: expected an object, got 2'],
  ])('refuses span %s naming the JSON path', (text, message) => {
    expect(() => decodeTracesJson(text)).toThrow(new DecodeError(message));
  });

  it('refuses invalid JSON', () => {
    expect(decodeRefusal(() => decodeLogsJson('{"resourceLogs":['))).toMatch(/^body is not valid JSON: /);
  });

  it('refuses AnyValue nested deeper than 32 levels', () => {
    const nested = (levels: number): unknown => (levels === 1 ? { stringValue: 'leaf' } : { arrayValue: { values: [nested(levels - 1)] } });
    expect(() => decodeLogsJson(oneLog({ attributes: [{ key: 'd', value: nested(32) }] }))).not.toThrow();
    expect(() => decodeLogsJson(oneLog({ attributes: [{ key: 'd', value: nested(33) }] }))).toThrow(/nested deeper than 32 levels/);
  });
});

describe('response encoding', () => {
  it('encodes JSON responses that protobufjs reads back', () => {
    expect(encodeExportResponseJson('logs', 0, '')).toBe('{}');
    const logs = otlpType('ExportLogsServiceResponse');
    const parsed = logs.toObject(logs.fromObject(JSON.parse(encodeExportResponseJson('logs', 3, 'x"y'))), { longs: String });
    expect(parsed).toEqual({ partialSuccess: { rejectedLogRecords: '3', errorMessage: 'x"y' } });
    expect(JSON.parse(encodeExportResponseJson('traces', 2, ''))).toEqual({ partialSuccess: { rejectedSpans: '2' } });
    const status = otlpType('RpcStatus');
    expect(status.toObject(status.fromObject(JSON.parse(encodeStatusJson(3, 'bad'))))).toEqual({ code: 3, message: 'bad' });
  });
});
