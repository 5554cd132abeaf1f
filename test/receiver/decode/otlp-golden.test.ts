/**
 * The golden OTLP requests of test/fixtures/otlp-golden/ (the form is in its README.md). Each `.otlp` is
 * what the Python SDK's encoder makes of the `.json` beside it, byte for byte opentelemetry-proto's
 * SerializeToString() (python/tests/test_otlp.py checks that). Here the receiver decodes each `.otlp` into
 * the rows the `.json` describes, and the Node SDK's serializer, given the same records, makes a request
 * that decodes to the same rows.
 *
 * The Node SDK's bytes are not the Python ones, and need not be: both write fields in field-number order,
 * but the Node serializer also writes fields at their default value, which SerializeToString leaves out
 * (dropped_attributes_count = 0 of every Resource, LogRecord, Span and event, dropped_events_count and
 * dropped_links_count = 0, a span's Status with code 0, times and span names however empty). proto3 reads
 * an absent scalar as its default, so both decode alike. One value does differ on purpose: the Node SDK
 * sets a span's flags bit 0x100 (CONTEXT_HAS_IS_REMOTE, "we know whether the parent was remote"), which the
 * Python SDK leaves unset, as OTLP allows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { HrTime } from '@opentelemetry/api';
import type { LogAttributes, LogBody } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeLogsProtobuf, decodeTracesProtobuf } from '../../../receiver/decode/otlp-protobuf.js';
import type { Attributes, LogRow, SpanRow } from '../../../receiver/model/records.js';
import { fixturePath } from '../../helpers/repo.js';

const GOLDEN = fixturePath('otlp-golden');

/** A typed value of the `.json`: exactly one AnyValue member, or null for none. */
type Typed = { [member: string]: unknown } | null;
type TypedMap = Record<string, Typed>;

interface GoldenLog {
  time_unix_nano?: string;
  observed_time_unix_nano?: string;
  severity_number?: number;
  severity_text?: string;
  body?: Typed;
  attributes?: TypedMap;
  event_name?: string;
  trace_id?: string;
  span_id?: string;
  flags?: number;
}

interface GoldenEvent {
  time_unix_nano?: string;
  name?: string;
  attributes?: TypedMap;
}

interface GoldenSpan {
  trace_id?: string;
  span_id?: string;
  parent_span_id?: string;
  name?: string;
  kind?: number;
  start_time_unix_nano?: string;
  end_time_unix_nano?: string;
  attributes?: TypedMap;
  events?: GoldenEvent[];
  status_code?: number;
  status_message?: string;
  flags?: number;
}

interface GoldenCase {
  signal: 'logs' | 'traces';
  resource: TypedMap;
  scope: { name: string; version: string };
  records: (GoldenLog | GoldenSpan)[];
}

const cases = fs
  .readdirSync(GOLDEN)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => {
    const name = file.slice(0, -'.json'.length);
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, file), 'utf8')) as GoldenCase;
    return { name, golden, bytes: new Uint8Array(fs.readFileSync(path.join(GOLDEN, `${name}.otlp`))) };
  });

// ---- What the receiver's rows hold for a typed value (conventions in receiver/model/records.ts)

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function member(typed: NonNullable<Typed>): [string, unknown] {
  const entries = Object.entries(typed);
  if (entries.length !== 1) throw new Error(`a typed value has one member, not ${JSON.stringify(typed)}`);
  return entries[0];
}

/** int64 a number when safe, else its decimal string; non-finite doubles as strings; bytes base64. */
function rowValue(typed: Typed): unknown {
  if (typed === null) return null;
  const [kind, value] = member(typed);
  switch (kind) {
    case 'string':
    case 'bool':
    case 'bytes':
      return value;
    case 'int': {
      const n = BigInt(value as string);
      return n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n.toString();
    }
    case 'double':
      return value; // "NaN", "Infinity", "-Infinity" stay the strings the receiver makes of them
    case 'array':
      return (value as Typed[]).map(rowValue);
    case 'kvlist':
      return rowAttributes(value as TypedMap);
    default:
      throw new Error(`unknown typed value ${kind}: see test/fixtures/otlp-golden/README.md`);
  }
}

function rowAttributes(attributes: TypedMap | undefined): Attributes {
  return Object.fromEntries(Object.entries(attributes ?? {}).map(([key, value]) => [key, rowValue(value)]));
}

function rowBody(body: Typed | undefined): string | null {
  if (body === undefined || body === null) return null;
  const value = rowValue(body);
  return member(body)[0] === 'string' ? (value as string) : JSON.stringify(value);
}

function expectedResource(golden: GoldenCase): LogRow['resource'] {
  return { attributes: rowAttributes(golden.resource), schemaUrl: '', droppedAttributesCount: 0 };
}

function expectedScope(golden: GoldenCase): LogRow['scope'] {
  return { ...golden.scope, attributes: {}, schemaUrl: '' };
}

function expectedLogRows(golden: GoldenCase): LogRow[] {
  return (golden.records as GoldenLog[]).map((r) => ({
    resource: expectedResource(golden),
    scope: expectedScope(golden),
    timeUnixNano: r.time_unix_nano ?? '0',
    observedTimeUnixNano: r.observed_time_unix_nano ?? '0',
    severityNumber: r.severity_number ?? 0,
    severityText: r.severity_text ?? '',
    body: rowBody(r.body),
    attributes: rowAttributes(r.attributes),
    droppedAttributesCount: 0,
    flags: r.flags ?? 0,
    traceId: r.trace_id ?? '',
    spanId: r.span_id ?? '',
    eventName: r.event_name ?? '',
  }));
}

function expectedSpanRows(golden: GoldenCase): SpanRow[] {
  return (golden.records as GoldenSpan[]).map((s) => ({
    resource: expectedResource(golden),
    scope: expectedScope(golden),
    traceId: s.trace_id ?? '',
    spanId: s.span_id ?? '',
    parentSpanId: s.parent_span_id ?? '',
    traceState: '',
    flags: s.flags ?? 0,
    name: s.name ?? '',
    kind: s.kind ?? 0,
    startTimeUnixNano: s.start_time_unix_nano ?? '0',
    endTimeUnixNano: s.end_time_unix_nano ?? '0',
    attributes: rowAttributes(s.attributes),
    droppedAttributesCount: 0,
    events: (s.events ?? []).map((e) => ({
      timeUnixNano: e.time_unix_nano ?? '0',
      name: e.name ?? '',
      attributes: rowAttributes(e.attributes),
      droppedAttributesCount: 0,
    })),
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: s.status_code ?? 0,
    statusMessage: s.status_message ?? '',
  }));
}

// ---- The same records for the Node SDK's serializer

/** A JS number is an int64 when it is an integer: values it cannot carry with their type are refused. */
class NotForNode extends Error {}

function jsValue(typed: Typed): unknown {
  if (typed === null) return null;
  const [kind, value] = member(typed);
  switch (kind) {
    case 'string':
    case 'bool':
      return value;
    case 'bytes':
      return new Uint8Array(Buffer.from(value as string, 'base64'));
    case 'int': {
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new NotForNode(`int ${value as string} is not a safe JS integer`);
      return n;
    }
    case 'double': {
      const d = Number(value);
      if (Number.isInteger(d)) throw new NotForNode(`double ${d} would be sent as an int`);
      return d;
    }
    case 'array':
      return (value as Typed[]).map(jsValue);
    case 'kvlist':
      return jsAttributes(value as TypedMap);
    default:
      throw new Error(`unknown typed value ${kind}`);
  }
}

function jsAttributes(attributes: TypedMap | undefined): LogAttributes {
  return Object.fromEntries(Object.entries(attributes ?? {}).map(([key, value]) => [key, jsValue(value)])) as LogAttributes;
}

function hrTime(nanos: string | undefined): HrTime {
  const n = BigInt(nanos ?? '0');
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/** Resource attributes are strings (the Python SDK's resource is a dict[str, str]). */
function nodeResource(golden: GoldenCase): ReturnType<typeof resourceFromAttributes> {
  return resourceFromAttributes(jsAttributes(golden.resource) as Record<string, string>);
}

function nodeLogsRequest(golden: GoldenCase): Uint8Array {
  const resource = nodeResource(golden);
  const scope = { ...golden.scope }; // one object: the serializer groups records by scope identity
  const records = (golden.records as GoldenLog[]).map(
    (r): ReadableLogRecord => ({
      hrTime: hrTime(r.time_unix_nano),
      hrTimeObserved: hrTime(r.observed_time_unix_nano),
      spanContext: r.trace_id ? { traceId: r.trace_id, spanId: r.span_id ?? '', traceFlags: r.flags ?? 0 } : undefined,
      severityNumber: r.severity_number,
      severityText: r.severity_text,
      body: r.body === undefined ? undefined : (jsValue(r.body) as LogBody),
      eventName: r.event_name,
      resource,
      instrumentationScope: scope,
      attributes: jsAttributes(r.attributes),
      droppedAttributesCount: 0,
    }),
  );
  return ProtobufLogsSerializer.serializeRequest(records)!;
}

function nodeTracesRequest(golden: GoldenCase): Uint8Array {
  const resource = nodeResource(golden);
  const scope = { ...golden.scope };
  const spans = (golden.records as GoldenSpan[]).map((s) => {
    const context = { traceId: s.trace_id ?? '', spanId: s.span_id ?? '', traceFlags: s.flags ?? 0 };
    const span = {
      name: s.name ?? '',
      // The API's SpanKind counts from INTERNAL = 0; OTLP's from UNSPECIFIED = 0.
      kind: s.kind ? s.kind - 1 : undefined,
      spanContext: () => context,
      parentSpanContext: s.parent_span_id ? { ...context, spanId: s.parent_span_id } : undefined,
      startTime: hrTime(s.start_time_unix_nano),
      endTime: hrTime(s.end_time_unix_nano),
      status: { code: s.status_code ?? 0, message: s.status_message },
      attributes: jsAttributes(s.attributes),
      links: [],
      events: (s.events ?? []).map((e) => ({
        name: e.name ?? '',
        time: hrTime(e.time_unix_nano),
        attributes: jsAttributes(e.attributes),
        droppedAttributesCount: 0,
      })),
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      resource,
      instrumentationScope: scope,
    };
    return span as unknown as ReadableSpan;
  });
  return ProtobufTraceSerializer.serializeRequest(spans)!;
}

/** The Node SDK's request for a case, or null when its records hold values a JS number cannot type. */
function nodeRequest(golden: GoldenCase): Uint8Array | null {
  try {
    return golden.signal === 'logs' ? nodeLogsRequest(golden) : nodeTracesRequest(golden);
  } catch (error) {
    if (error instanceof NotForNode) return null;
    throw error;
  }
}

describe('OTLP golden requests', () => {
  it('has cases of both signals', () => {
    expect(new Set(cases.map((c) => c.golden.signal))).toEqual(new Set(['logs', 'traces']));
  });

  for (const { name, golden, bytes } of cases) {
    it(`${name}: the receiver decodes the rows the .json describes`, () => {
      if (golden.signal === 'logs') expect(decodeLogsProtobuf(bytes)).toEqual(expectedLogRows(golden));
      else expect(decodeTracesProtobuf(bytes)).toEqual(expectedSpanRows(golden));
    });
  }

  it('the Node SDK serializer encodes the same records to the same rows', () => {
    const compared: string[] = [];
    for (const { name, golden, bytes } of cases) {
      const node = nodeRequest(golden);
      if (node === null) continue;
      compared.push(name);
      if (Buffer.from(node).equals(Buffer.from(bytes))) continue;
      if (golden.signal === 'logs') {
        expect(decodeLogsProtobuf(node), name).toEqual(decodeLogsProtobuf(bytes));
      } else {
        const pythonRows = decodeTracesProtobuf(bytes).map((row) => ({ ...row, flags: row.flags | 0x100 }));
        expect(decodeTracesProtobuf(node), name).toEqual(pythonRows);
      }
    }
    // Only the int64 limits and integral doubles are beyond what a JS number can carry with its type.
    expect(compared).toEqual(cases.map((c) => c.name).filter((n) => n !== 'logs-int64-limits'));
  });
});
