/**
 * OTLP/JSON decoder (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"), as lenient
 * as the Collector: hex ids in any case, 64-bit integers as strings or numbers, enums as integers or
 * names, lowerCamelCase or snake_case keys, null as absent, unknown fields ignored. Rows equal the
 * protobuf decoder's for the same records (conventions in rows.ts and values.ts).
 *
 * Errors name the JSON path: functions report paths relative to the object they read, and each caller
 * prefixes its own segment as the error passes through (only errors pay for building the path).
 * otlp-metrics-json.ts reads metrics with the request walk and the value readers exported here.
 */
import { Buffer } from 'node:buffer';
import type { Signal } from '../../contract/signal.js';
import {
  DecodeError,
  eventNameOf,
  type Attributes,
  type LogRow,
  type Resource,
  type Scope,
  type SpanEvent,
  type SpanLink,
  type SpanRow,
} from '../model/records.js';
import {
  MAX_VALUE_DEPTH,
  bodyText,
  doubleValue,
  int64FromBigInt,
  newResource,
  newScope,
  setAttribute,
  withoutNul,
} from './otlp-values.js';

// JSON.parse output is untyped; fields are read through this and checked one by one.
export type Json = Record<string, any>;

const SEVERITY_NAMES = ['UNSPECIFIED'].concat(
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map((level) => [level, `${level}2`, `${level}3`, `${level}4`]),
);
const SEVERITY_NUMBERS = enumNumbers('SEVERITY_NUMBER_', SEVERITY_NAMES);
const SPAN_KINDS = enumNumbers('SPAN_KIND_', ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']);
const STATUS_CODES = enumNumbers('STATUS_CODE_', ['UNSET', 'OK', 'ERROR']);

export function enumNumbers(prefix: string, names: string[]): Map<string, number> {
  return new Map(names.map((name, i) => [prefix + name, i]));
}

/** Decodes an OTLP/JSON ExportLogsServiceRequest into one row per log record. */
export function decodeLogsJson(text: string): LogRow[] {
  return decodeRequestJson(text, LOGS, logRecord);
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest into one row per span. */
export function decodeTracesJson(text: string): SpanRow[] {
  return decodeRequestJson(text, TRACES, span);
}

/** The keys of a signal's request's levels: [lowerCamelCase, snake_case]; errors name the first. */
export interface JsonRequestKeys {
  resources: readonly [string, string];
  scopes: readonly [string, string];
  items: readonly [string, string];
}
const LOGS: JsonRequestKeys = { resources: ['resourceLogs', 'resource_logs'], scopes: ['scopeLogs', 'scope_logs'], items: ['logRecords', 'log_records'] };
const TRACES: JsonRequestKeys = { resources: ['resourceSpans', 'resource_spans'], scopes: ['scopeSpans', 'scope_spans'], items: ['spans', 'spans'] };

/** Reads one item of a Scope{Logs,Spans,Metrics} (a log record, span or metric) into its rows. */
export type JsonItemReader<Row> = (o: Json, resource: Resource, scope: Scope, rows: Row[]) => void;

/**
 * Export{Logs,Trace,Metrics}ServiceRequest, its ResourceX and ScopeX: the same layout for every signal.
 * Each ResourceX and ScopeX gets one Resource or Scope object, shared by the rows of its items.
 */
export function decodeRequestJson<Row>(text: string, keys: JsonRequestKeys, item: JsonItemReader<Row>): Row[] {
  const root = parse(text);
  const rows: Row[] = [];
  const name = keys.resources[0];
  const entries = array(root[name] ?? root[keys.resources[1]], name);
  for (let i = 0; i < entries.length; i++) {
    const entry = object(entries[i], `${name}[${i}]`);
    try {
      resourceEntry(entry, keys, item, rows);
    } catch (e) {
      throw within(e, `${name}[${i}]`);
    }
  }
  return rows;
}

function resourceEntry<Row>(entry: Json, keys: JsonRequestKeys, item: JsonItemReader<Row>, rows: Row[]): void {
  const resource = resourceOf(entry);
  const name = keys.scopes[0];
  const scopeEntries = array(entry[name] ?? entry[keys.scopes[1]], name);
  for (let j = 0; j < scopeEntries.length; j++) {
    const scopeEntry = object(scopeEntries[j], `${name}[${j}]`);
    try {
      const scope = scopeOf(scopeEntry);
      const items = array(scopeEntry[keys.items[0]] ?? scopeEntry[keys.items[1]], keys.items[0]);
      for (let k = 0; k < items.length; k++) {
        const o = object(items[k], `${keys.items[0]}[${k}]`);
        try {
          item(o, resource, scope, rows);
        } catch (e) {
          throw within(e, `${keys.items[0]}[${k}]`);
        }
      }
    } catch (e) {
      throw within(e, `${name}[${j}]`);
    }
  }
}

/** Export{Logs,Trace,Metrics}ServiceResponse in OTLP/JSON: `{}` on full success; int64 as a string. */
export function encodeExportResponseJson(signal: Signal, rejected: number, errorMessage: string): string {
  if (rejected === 0 && errorMessage === '') return '{}';
  const partialSuccess: Record<string, string> = {};
  if (rejected !== 0) partialSuccess[REJECTED[signal]] = String(rejected);
  if (errorMessage !== '') partialSuccess.errorMessage = errorMessage;
  return JSON.stringify({ partialSuccess });
}

/** Each signal's ExportXPartialSuccess field counting what was rejected. */
const REJECTED: Record<Signal, string> = { logs: 'rejectedLogRecords', traces: 'rejectedSpans', metrics: 'rejectedDataPoints' };

/** google.rpc.Status in JSON, the body of a failed OTLP/HTTP request. */
export function encodeStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

function parse(text: string): Json {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new DecodeError(`body is not a JSON object: got ${kind(root)}`);
  }
  return root as Json;
}

function resourceOf(entry: Json): Resource {
  const resource = newResource();
  resource.schemaUrl = string(entry.schemaUrl ?? entry.schema_url, 'schemaUrl');
  const r = entry.resource;
  if (r === undefined || r === null) return resource;
  try {
    const o = object(r, '');
    attributesInto(resource.attributes, o.attributes);
    resource.droppedAttributesCount = uint32(o.droppedAttributesCount ?? o.dropped_attributes_count, 'droppedAttributesCount');
  } catch (e) {
    throw within(e, 'resource');
  }
  return resource;
}

function scopeOf(entry: Json): Scope {
  const scope = newScope();
  scope.schemaUrl = string(entry.schemaUrl ?? entry.schema_url, 'schemaUrl');
  const s = entry.scope;
  if (s === undefined || s === null) return scope;
  try {
    const o = object(s, '');
    scope.name = string(o.name, 'name');
    scope.version = string(o.version, 'version');
    attributesInto(scope.attributes, o.attributes);
  } catch (e) {
    throw within(e, 'scope');
  }
  return scope;
}

function logRecord(o: Json, resource: Resource, scope: Scope, rows: LogRow[]): void {
  const body = o.body;
  const recordAttributes = attributes(o.attributes);
  rows.push({
    resource,
    scope,
    timeUnixNano: fixed64(o.timeUnixNano ?? o.time_unix_nano, 'timeUnixNano'),
    observedTimeUnixNano: fixed64(o.observedTimeUnixNano ?? o.observed_time_unix_nano, 'observedTimeUnixNano'),
    severityNumber: enumValue(o.severityNumber ?? o.severity_number, SEVERITY_NUMBERS, 'severityNumber'),
    severityText: string(o.severityText ?? o.severity_text, 'severityText'),
    body: body === undefined || body === null ? null : bodyOf(body),
    attributes: recordAttributes,
    droppedAttributesCount: uint32(o.droppedAttributesCount ?? o.dropped_attributes_count, 'droppedAttributesCount'),
    flags: uint32(o.flags, 'flags'),
    traceId: hexId(o.traceId ?? o.trace_id, 'traceId'),
    spanId: hexId(o.spanId ?? o.span_id, 'spanId'),
    eventName: eventNameOf(string(o.eventName ?? o.event_name, 'eventName'), recordAttributes),
  });
}

function bodyOf(body: unknown): string | null {
  try {
    const o = object(body, '');
    const value = anyValue(o, 1);
    return bodyText(value, typeof (o.stringValue ?? o.string_value) === 'string');
  } catch (e) {
    throw within(e, 'body');
  }
}

function span(o: Json, resource: Resource, scope: Scope, rows: SpanRow[]): void {
  const status = o.status;
  let statusCode = 0;
  let statusMessage = '';
  if (status !== undefined && status !== null) {
    try {
      const st = object(status, '');
      statusCode = enumValue(st.code, STATUS_CODES, 'code');
      statusMessage = string(st.message, 'message');
    } catch (e) {
      throw within(e, 'status');
    }
  }
  rows.push({
    resource,
    scope,
    traceId: hexId(o.traceId ?? o.trace_id, 'traceId'),
    spanId: hexId(o.spanId ?? o.span_id, 'spanId'),
    parentSpanId: hexId(o.parentSpanId ?? o.parent_span_id, 'parentSpanId'),
    traceState: string(o.traceState ?? o.trace_state, 'traceState'),
    flags: uint32(o.flags, 'flags'),
    name: string(o.name, 'name'),
    kind: enumValue(o.kind, SPAN_KINDS, 'kind'),
    startTimeUnixNano: fixed64(o.startTimeUnixNano ?? o.start_time_unix_nano, 'startTimeUnixNano'),
    endTimeUnixNano: fixed64(o.endTimeUnixNano ?? o.end_time_unix_nano, 'endTimeUnixNano'),
    attributes: attributes(o.attributes),
    droppedAttributesCount: uint32(o.droppedAttributesCount ?? o.dropped_attributes_count, 'droppedAttributesCount'),
    events: eachObject(o.events, 'events', spanEvent),
    droppedEventsCount: uint32(o.droppedEventsCount ?? o.dropped_events_count, 'droppedEventsCount'),
    links: eachObject(o.links, 'links', spanLink),
    droppedLinksCount: uint32(o.droppedLinksCount ?? o.dropped_links_count, 'droppedLinksCount'),
    statusCode,
    statusMessage,
  });
}

function spanEvent(o: Json): SpanEvent {
  return {
    timeUnixNano: fixed64(o.timeUnixNano ?? o.time_unix_nano, 'timeUnixNano'),
    name: string(o.name, 'name'),
    attributes: attributes(o.attributes),
    droppedAttributesCount: uint32(o.droppedAttributesCount ?? o.dropped_attributes_count, 'droppedAttributesCount'),
  };
}

function spanLink(o: Json): SpanLink {
  return {
    traceId: hexId(o.traceId ?? o.trace_id, 'traceId'),
    spanId: hexId(o.spanId ?? o.span_id, 'spanId'),
    traceState: string(o.traceState ?? o.trace_state, 'traceState'),
    attributes: attributes(o.attributes),
    droppedAttributesCount: uint32(o.droppedAttributesCount ?? o.dropped_attributes_count, 'droppedAttributesCount'),
    flags: uint32(o.flags, 'flags'),
  };
}

export function eachObject<T>(v: unknown, name: string, convert: (o: Json) => T): T[] {
  const items = array(v, name);
  const out: T[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = object(items[i], `${name}[${i}]`);
    try {
      out[i] = convert(item);
    } catch (e) {
      throw within(e, `${name}[${i}]`);
    }
  }
  return out;
}

function attributes(v: unknown): Attributes {
  const out: Attributes = {};
  attributesInto(out, v);
  return out;
}

/** A repeated KeyValue (attributes, kvlistValue.values) into `into`; a missing value is null. */
export function attributesInto(into: Attributes, v: unknown, name = 'attributes', depth = 1): void {
  const list = array(v, name);
  for (let i = 0; i < list.length; i++) {
    const kv = object(list[i], `${name}[${i}]`);
    try {
      const key = string(kv.key, 'key');
      const value = kv.value;
      setAttribute(into, key, value === undefined || value === null ? null : anyValueAt(value, 'value', depth));
    } catch (e) {
      throw within(e, `${name}[${i}]`);
    }
  }
}

function anyValueAt(v: unknown, name: string, depth: number): unknown {
  const o = object(v, name);
  try {
    return anyValue(o, depth);
  } catch (e) {
    throw within(e, name);
  }
}

/** AnyValue as a JS value (conventions in rows.ts); no known field means null. */
function anyValue(o: Json, depth: number): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError(`: AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
  let v = o.stringValue ?? o.string_value;
  if (v !== undefined) return string(v, 'stringValue');
  if ((v = o.intValue ?? o.int_value) !== undefined) return int64(v, 'intValue');
  if ((v = o.boolValue ?? o.bool_value) !== undefined) {
    if (typeof v !== 'boolean') throw new DecodeError(`boolValue: expected a boolean, got ${kind(v)}`);
    return v;
  }
  if ((v = o.doubleValue ?? o.double_value) !== undefined) return double(v, 'doubleValue');
  if ((v = o.arrayValue ?? o.array_value) !== undefined) {
    try {
      const values = array(object(v, '').values, 'values');
      const out: unknown[] = new Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = anyValueAt(values[i], `values[${i}]`, depth + 1);
      return out;
    } catch (e) {
      throw within(e, 'arrayValue');
    }
  }
  if ((v = o.kvlistValue ?? o.kvlist_value) !== undefined) {
    try {
      const out: Attributes = {};
      attributesInto(out, object(v, '').values, 'values', depth + 1);
      return out;
    } catch (e) {
      throw within(e, 'kvlistValue');
    }
  }
  if ((v = o.bytesValue ?? o.bytes_value) !== undefined) return base64(v, 'bytesValue');
  return null;
}

export function string(v: unknown, path: string): string {
  if (typeof v === 'string') return wellFormed(withoutNul(v));
  if (v === undefined || v === null) return '';
  throw new DecodeError(`${path}: expected a string, got ${kind(v)}`);
}

/**
 * JSON can carry lone surrogates ("\ud800") that UTF-8, hence protobuf, cannot, and that PostgreSQL's
 * jsonb refuses: they become U+FFFD, as the protobuf path's UTF-8 decoding would make them.
 */
function wellFormed(s: string): string {
  // ES2024 methods, in Node 20 but not in the ES2022 lib this project compiles against.
  const w = s as string & { isWellFormed(): boolean; toWellFormed(): string };
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** Trace and span ids: hex in any case (OTLP/JSON, not base64), kept lowercase. */
export function hexId(v: unknown, path: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string' && v.length % 2 === 0 && HEX.test(v)) return v.toLowerCase();
  throw new DecodeError(`${path}: expected a hex string, got ${kind(v)}`);
}
const HEX = /^[0-9a-fA-F]+$/;

/** A fixed64 time: a non-negative integer as a decimal string or number, kept as its decimal string. */
export function fixed64(v: unknown, path: string): string {
  if (typeof v === 'string') {
    const s = canonicalDigits(v);
    if (s !== null && (s.length < 20 || (s.length === 20 && s <= '18446744073709551615'))) return s;
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return String(v);
    if (Number.isInteger(v) && v > 0 && v < 2 ** 64) return BigInt(v).toString();
  } else if (v === undefined || v === null) {
    return '0';
  }
  throw new DecodeError(`${path}: expected a non-negative 64-bit integer (string or number), got ${kind(v)}`);
}

/** Decimal digits without leading zeros; null when `s` is not all digits. */
function canonicalDigits(s: string): string | null {
  const n = s.length;
  if (n === 0) return null;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    if (first === -1 && c !== 48) first = i;
  }
  return first === 0 ? s : first === -1 ? '0' : s.slice(first);
}

export function int64(v: unknown, path: string): number | string {
  if (typeof v === 'string' && INTEGER.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n === 0 ? 0 : n; // no -0: protobuf has none
    const big = BigInt(v);
    if (big >= -(2n ** 63n) && big < 2n ** 63n) return int64FromBigInt(big);
  } else if (typeof v === 'number' && Number.isInteger(v)) {
    if (Number.isSafeInteger(v)) return v === 0 ? 0 : v;
    if (v >= -(2 ** 63) && v < 2 ** 63) return int64FromBigInt(BigInt(v));
  }
  throw new DecodeError(`${path}: expected a 64-bit integer (string or number), got ${kind(v)}`);
}
const INTEGER = /^-?[0-9]+$/;

export function uint32(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && DIGITS.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  throw new DecodeError(`${path}: expected a 32-bit unsigned integer (string or number), got ${kind(v)}`);
}
const DIGITS = /^[0-9]+$/;

/** An enum as its number (the OTLP/JSON form) or its name (proto3 JSON, which the Collector accepts). */
export function enumValue(v: unknown, names: Map<string, number>, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v === 0 ? 0 : v;
  const n = typeof v === 'string' ? names.get(v) : undefined;
  if (n !== undefined) return n;
  throw new DecodeError(`${path}: expected an enum number or name, got ${kind(v)}`);
}

/** An AnyValue double as stored (non-finite ones as strings, see otlp-values.ts). */
function double(v: unknown, path: string): number | string {
  return doubleValue(number(v, path));
}

/** A double: a number, or "NaN"/"Infinity"/"-Infinity"/a numeric string as proto3 JSON allows. */
export function number(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && (NUMBER.test(v) || v === 'NaN' || v === 'Infinity' || v === '-Infinity')) return Number(v);
  throw new DecodeError(`${path}: expected a number, got ${kind(v)}`);
}
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** bytesValue stays base64, re-encoded canonically (padded, standard alphabet) as the protobuf path does. */
function base64(v: unknown, path: string): string {
  if (typeof v === 'string' && v.length % 4 !== 1 && BASE64.test(v)) return Buffer.from(v, 'base64').toString('base64');
  throw new DecodeError(`${path}: expected a base64 string, got ${kind(v)}`);
}
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function array(v: unknown, path: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  throw new DecodeError(`${path}: expected an array, got ${kind(v)}`);
}

export function object(v: unknown, path: string): Json {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  throw new DecodeError(`${path}: expected an object, got ${kind(v)}`);
}

/** Prefixes a path segment onto a DecodeError from one level down; other errors pass unchanged. */
export function within(e: unknown, segment: string): unknown {
  if (e instanceof DecodeError) {
    // Inner paths start with a field name, an index or, for the object itself, ':'.
    const m = e.message;
    e.message = segment + (m.startsWith('[') || m.startsWith(':') ? '' : '.') + m;
  }
  return e;
}

/** How a wrong value reads in an error: short strings quoted, otherwise its JSON type. */
export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return v.length <= 40 ? JSON.stringify(v) : 'a string';
  if (typeof v === 'number') return String(v);
  return typeof v;
}
