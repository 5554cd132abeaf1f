/**
 * Hand-written decoder for ExportLogsServiceRequest and ExportTraceServiceRequest
 * (opentelemetry-proto v1), straight into rows: one cursor over the request, no intermediate message
 * objects. Field numbers follow opentelemetry/proto/{common,resource,logs,trace,collector}/v1/*.proto.
 *
 * Every malformed input ends in a DecodeError: each read is bounded by the end of the enclosing
 * message, each loop consumes at least one byte, and recursion is bounded (AnyValue depth, groups).
 */
import { Buffer } from 'node:buffer';
import { ProtobufWriter } from '../../contract/protobuf-writer.js';
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
  int64Value,
  newResource,
  newScope,
  setAttribute,
  withoutNul,
} from './otlp-values.js';

// Wire types (protobuf encoding spec). Tags in the switches below are written as (field << 3 | wire).
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;
const NONE = -1;

// Declared wire type of each field number of a message (NONE: not a field). A known field arriving with
// another wire type is an error; an unknown field, or a known one we do not keep, is skipped.
const REQUEST = [NONE, LEN];
const RESOURCE_ENTRIES = [NONE, LEN, LEN, LEN]; // ResourceLogs/ScopeLogs/ResourceSpans/ScopeSpans
const RESOURCE = [NONE, LEN, VARINT, LEN];
const SCOPE = [NONE, LEN, LEN, LEN, VARINT];
const KEY_VALUE = [NONE, LEN, LEN, VARINT];
const ANY_VALUE = [NONE, LEN, VARINT, VARINT, I64, LEN, LEN, LEN, VARINT];
const VALUES = [NONE, LEN]; // ArrayValue, KeyValueList
const LOG_RECORD = [NONE, I64, VARINT, LEN, NONE, LEN, LEN, VARINT, I32, LEN, LEN, I64, LEN];
const SPAN = [NONE, LEN, LEN, LEN, LEN, LEN, VARINT, I64, I64, LEN, VARINT, LEN, VARINT, LEN, VARINT, LEN, I32];
const EVENT = [NONE, I64, LEN, LEN, VARINT];
const LINK = [NONE, LEN, LEN, LEN, LEN, VARINT, I32];
const STATUS = [NONE, NONE, LEN, VARINT];

/** Slots of each string cache: a power of two, comfortably more than the keys of one request. */
const CACHE_SLOTS = 256;

/** Unknown groups (deprecated, never in OTLP) may nest; this bounds the recursion that skips them. */
const MAX_GROUP_DEPTH = 32;

class Reader {
  pos = 0;
  /** High 32 bits of the last varint read (the return value holds the low 32). */
  hi = 0;
  /** Where the last tag started, for error messages. */
  tagAt = 0;
  /** Whether the last AnyValue read was a string_value: a string body is kept as is, not as JSON. */
  isString = false;
  /** Recent attribute keys and short string values (see cachedString). */
  readonly keys: (string | undefined)[] = new Array(CACHE_SLOTS);
  readonly values: (string | undefined)[] = new Array(CACHE_SLOTS);
  readonly buf: Buffer;
  readonly view: DataView;

  constructor(bytes: Uint8Array) {
    // A Buffer view (no copy) decodes UTF-8, hex and base64 natively without a subarray per string.
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

/** Decodes an ExportLogsServiceRequest into one row per log record. */
export function decodeLogsProtobuf(buf: Uint8Array): LogRow[] {
  const r = new Reader(buf);
  const rows: LogRow[] = [];
  const end = buf.byteLength;
  while (r.pos < end) {
    const t = tag(r, end, 'ExportLogsServiceRequest');
    if (t === 10) resourceLogs(r, lenEnd(r, end, 1, 'ExportLogsServiceRequest'), rows);
    else skipField(r, end, t, REQUEST, 'ExportLogsServiceRequest');
  }
  return rows;
}

/** Decodes an ExportTraceServiceRequest into one row per span. */
export function decodeTracesProtobuf(buf: Uint8Array): SpanRow[] {
  const r = new Reader(buf);
  const rows: SpanRow[] = [];
  const end = buf.byteLength;
  while (r.pos < end) {
    const t = tag(r, end, 'ExportTraceServiceRequest');
    if (t === 10) resourceSpans(r, lenEnd(r, end, 1, 'ExportTraceServiceRequest'), rows);
    else skipField(r, end, t, REQUEST, 'ExportTraceServiceRequest');
  }
  return rows;
}

function resourceLogs(r: Reader, end: number, rows: LogRow[]): void {
  const resource = newResource();
  while (r.pos < end) {
    const t = tag(r, end, 'ResourceLogs');
    switch (t) {
      case 10: // resource = 1
        resourceFields(r, lenEnd(r, end, 1, 'ResourceLogs'), resource);
        break;
      case 18: // scope_logs = 2
        scopeLogs(r, lenEnd(r, end, 2, 'ResourceLogs'), resource, rows);
        break;
      case 26: // schema_url = 3
        resource.schemaUrl = string(r, end, 3, 'ResourceLogs');
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, 'ResourceLogs');
    }
  }
}

function scopeLogs(r: Reader, end: number, resource: Resource, rows: LogRow[]): void {
  const scope = newScope();
  while (r.pos < end) {
    const t = tag(r, end, 'ScopeLogs');
    switch (t) {
      case 10: // scope = 1
        scopeFields(r, lenEnd(r, end, 1, 'ScopeLogs'), scope);
        break;
      case 18: // log_records = 2
        rows.push(logRecord(r, lenEnd(r, end, 2, 'ScopeLogs'), resource, scope));
        break;
      case 26: // schema_url = 3
        scope.schemaUrl = string(r, end, 3, 'ScopeLogs');
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, 'ScopeLogs');
    }
  }
}

function logRecord(r: Reader, end: number, resource: Resource, scope: Scope): LogRow {
  let timeUnixNano = '0';
  let observedTimeUnixNano = '0';
  let severityNumber = 0;
  let severityText = '';
  let body: string | null = null;
  const attributes: Attributes = {};
  let droppedAttributesCount = 0;
  let flags = 0;
  let traceId = '';
  let spanId = '';
  let eventName = '';
  while (r.pos < end) {
    const t = tag(r, end, 'LogRecord');
    switch (t) {
      case 9: // time_unix_nano = 1, fixed64
        timeUnixNano = fixed64(r, end, 1, 'LogRecord');
        break;
      case 16: // severity_number = 2, enum
        severityNumber = varint(r, end, 2, 'LogRecord') | 0;
        break;
      case 26: // severity_text = 3
        severityText = string(r, end, 3, 'LogRecord');
        break;
      case 42: {
        // body = 5, AnyValue
        const value = anyValue(r, lenEnd(r, end, 5, 'LogRecord'), 1);
        body = bodyText(value, r.isString);
        break;
      }
      case 50: // attributes = 6
        keyValue(r, lenEnd(r, end, 6, 'LogRecord'), attributes, 1);
        break;
      case 56: // dropped_attributes_count = 7, uint32
        droppedAttributesCount = varint(r, end, 7, 'LogRecord');
        break;
      case 69: // flags = 8, fixed32
        flags = fixed32(r, end, 8, 'LogRecord');
        break;
      case 74: // trace_id = 9
        traceId = hex(r, end, 9, 'LogRecord');
        break;
      case 82: // span_id = 10
        spanId = hex(r, end, 10, 'LogRecord');
        break;
      case 89: // observed_time_unix_nano = 11, fixed64
        observedTimeUnixNano = fixed64(r, end, 11, 'LogRecord');
        break;
      case 98: // event_name = 12
        eventName = string(r, end, 12, 'LogRecord');
        break;
      default:
        skipField(r, end, t, LOG_RECORD, 'LogRecord');
    }
  }
  return {
    resource,
    scope,
    timeUnixNano,
    observedTimeUnixNano,
    severityNumber,
    severityText,
    body,
    attributes,
    droppedAttributesCount,
    flags,
    traceId,
    spanId,
    eventName: eventNameOf(eventName, attributes),
  };
}

function resourceSpans(r: Reader, end: number, rows: SpanRow[]): void {
  const resource = newResource();
  while (r.pos < end) {
    const t = tag(r, end, 'ResourceSpans');
    switch (t) {
      case 10: // resource = 1
        resourceFields(r, lenEnd(r, end, 1, 'ResourceSpans'), resource);
        break;
      case 18: // scope_spans = 2
        scopeSpans(r, lenEnd(r, end, 2, 'ResourceSpans'), resource, rows);
        break;
      case 26: // schema_url = 3
        resource.schemaUrl = string(r, end, 3, 'ResourceSpans');
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, 'ResourceSpans');
    }
  }
}

function scopeSpans(r: Reader, end: number, resource: Resource, rows: SpanRow[]): void {
  const scope = newScope();
  while (r.pos < end) {
    const t = tag(r, end, 'ScopeSpans');
    switch (t) {
      case 10: // scope = 1
        scopeFields(r, lenEnd(r, end, 1, 'ScopeSpans'), scope);
        break;
      case 18: // spans = 2
        rows.push(span(r, lenEnd(r, end, 2, 'ScopeSpans'), resource, scope));
        break;
      case 26: // schema_url = 3
        scope.schemaUrl = string(r, end, 3, 'ScopeSpans');
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, 'ScopeSpans');
    }
  }
}

function span(r: Reader, end: number, resource: Resource, scope: Scope): SpanRow {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let traceState = '';
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTimeUnixNano = '0';
  let endTimeUnixNano = '0';
  const attributes: Attributes = {};
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let statusCode = 0;
  let statusMessage = '';
  while (r.pos < end) {
    const t = tag(r, end, 'Span');
    switch (t) {
      case 10: // trace_id = 1
        traceId = hex(r, end, 1, 'Span');
        break;
      case 18: // span_id = 2
        spanId = hex(r, end, 2, 'Span');
        break;
      case 26: // trace_state = 3
        traceState = string(r, end, 3, 'Span');
        break;
      case 34: // parent_span_id = 4
        parentSpanId = hex(r, end, 4, 'Span');
        break;
      case 42: // name = 5
        name = string(r, end, 5, 'Span');
        break;
      case 48: // kind = 6, enum
        kind = varint(r, end, 6, 'Span') | 0;
        break;
      case 57: // start_time_unix_nano = 7, fixed64
        startTimeUnixNano = fixed64(r, end, 7, 'Span');
        break;
      case 65: // end_time_unix_nano = 8, fixed64
        endTimeUnixNano = fixed64(r, end, 8, 'Span');
        break;
      case 74: // attributes = 9
        keyValue(r, lenEnd(r, end, 9, 'Span'), attributes, 1);
        break;
      case 80: // dropped_attributes_count = 10
        droppedAttributesCount = varint(r, end, 10, 'Span');
        break;
      case 90: // events = 11
        events.push(spanEvent(r, lenEnd(r, end, 11, 'Span')));
        break;
      case 96: // dropped_events_count = 12
        droppedEventsCount = varint(r, end, 12, 'Span');
        break;
      case 106: // links = 13
        links.push(spanLink(r, lenEnd(r, end, 13, 'Span')));
        break;
      case 112: // dropped_links_count = 14
        droppedLinksCount = varint(r, end, 14, 'Span');
        break;
      case 122: {
        // status = 15: Status{message = 2, code = 3}
        const statusEnd = lenEnd(r, end, 15, 'Span');
        while (r.pos < statusEnd) {
          const st = tag(r, statusEnd, 'Status');
          if (st === 18) statusMessage = string(r, statusEnd, 2, 'Status');
          else if (st === 24) statusCode = varint(r, statusEnd, 3, 'Status') | 0;
          else skipField(r, statusEnd, st, STATUS, 'Status');
        }
        break;
      }
      case 133: // flags = 16, fixed32
        flags = fixed32(r, end, 16, 'Span');
        break;
      default:
        skipField(r, end, t, SPAN, 'Span');
    }
  }
  return {
    resource,
    scope,
    traceId,
    spanId,
    parentSpanId,
    traceState,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    statusCode,
    statusMessage,
  };
}

function spanEvent(r: Reader, end: number): SpanEvent {
  const event: SpanEvent = { timeUnixNano: '0', name: '', attributes: {}, droppedAttributesCount: 0 };
  while (r.pos < end) {
    const t = tag(r, end, 'Span.Event');
    switch (t) {
      case 9: // time_unix_nano = 1, fixed64
        event.timeUnixNano = fixed64(r, end, 1, 'Span.Event');
        break;
      case 18: // name = 2
        event.name = string(r, end, 2, 'Span.Event');
        break;
      case 26: // attributes = 3
        keyValue(r, lenEnd(r, end, 3, 'Span.Event'), event.attributes, 1);
        break;
      case 32: // dropped_attributes_count = 4
        event.droppedAttributesCount = varint(r, end, 4, 'Span.Event');
        break;
      default:
        skipField(r, end, t, EVENT, 'Span.Event');
    }
  }
  return event;
}

function spanLink(r: Reader, end: number): SpanLink {
  const link: SpanLink = { traceId: '', spanId: '', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 };
  while (r.pos < end) {
    const t = tag(r, end, 'Span.Link');
    switch (t) {
      case 10: // trace_id = 1
        link.traceId = hex(r, end, 1, 'Span.Link');
        break;
      case 18: // span_id = 2
        link.spanId = hex(r, end, 2, 'Span.Link');
        break;
      case 26: // trace_state = 3
        link.traceState = string(r, end, 3, 'Span.Link');
        break;
      case 34: // attributes = 4
        keyValue(r, lenEnd(r, end, 4, 'Span.Link'), link.attributes, 1);
        break;
      case 40: // dropped_attributes_count = 5
        link.droppedAttributesCount = varint(r, end, 5, 'Span.Link');
        break;
      case 53: // flags = 6, fixed32
        link.flags = fixed32(r, end, 6, 'Span.Link');
        break;
      default:
        skipField(r, end, t, LINK, 'Span.Link');
    }
  }
  return link;
}

/** Resource{attributes = 1, dropped_attributes_count = 2}, merged into the shared object. */
function resourceFields(r: Reader, end: number, resource: Resource): void {
  while (r.pos < end) {
    const t = tag(r, end, 'Resource');
    if (t === 10) keyValue(r, lenEnd(r, end, 1, 'Resource'), resource.attributes, 1);
    else if (t === 16) resource.droppedAttributesCount = varint(r, end, 2, 'Resource');
    else skipField(r, end, t, RESOURCE, 'Resource');
  }
}

/** InstrumentationScope{name = 1, version = 2, attributes = 3}, merged into the shared object. */
function scopeFields(r: Reader, end: number, scope: Scope): void {
  while (r.pos < end) {
    const t = tag(r, end, 'InstrumentationScope');
    switch (t) {
      case 10:
        scope.name = string(r, end, 1, 'InstrumentationScope');
        break;
      case 18:
        scope.version = string(r, end, 2, 'InstrumentationScope');
        break;
      case 26:
        keyValue(r, lenEnd(r, end, 3, 'InstrumentationScope'), scope.attributes, 1);
        break;
      default:
        skipField(r, end, t, SCOPE, 'InstrumentationScope');
    }
  }
}

/** KeyValue{key = 1, value = 2} into `into`; a missing value is null. */
function keyValue(r: Reader, end: number, into: Attributes, depth: number): void {
  let key = '';
  let value: unknown = null;
  while (r.pos < end) {
    const t = tag(r, end, 'KeyValue');
    if (t === 10) key = cachedString(r, end, 1, 'KeyValue', r.keys);
    else if (t === 18) value = anyValue(r, lenEnd(r, end, 2, 'KeyValue'), depth);
    else skipField(r, end, t, KEY_VALUE, 'KeyValue');
  }
  setAttribute(into, key, value);
}

/** AnyValue as a JS value (conventions in rows.ts); an empty AnyValue is null. Sets r.isString. */
function anyValue(r: Reader, end: number, depth: number): unknown {
  if (depth > MAX_VALUE_DEPTH) {
    throw new DecodeError(`invalid protobuf: AnyValue at byte ${r.pos} is nested deeper than ${MAX_VALUE_DEPTH} levels`);
  }
  let value: unknown = null;
  let isString = false;
  while (r.pos < end) {
    const t = tag(r, end, 'AnyValue');
    switch (t) {
      case 10: // string_value = 1
        value = cachedString(r, end, 1, 'AnyValue', r.values);
        break;
      case 16: {
        // bool_value = 2: any non-zero varint is true
        const lo = varint(r, end, 2, 'AnyValue');
        value = (lo | r.hi) !== 0;
        break;
      }
      case 24: {
        // int_value = 3, int64
        const lo = varint(r, end, 3, 'AnyValue');
        value = int64Value(lo, r.hi);
        break;
      }
      case 33: // double_value = 4
        value = doubleValue(r.view.getFloat64(fixed(r, end, 8, 4, 'AnyValue'), true));
        break;
      case 42: {
        // array_value = 5: ArrayValue{values = 1}
        const arrayEnd = lenEnd(r, end, 5, 'AnyValue');
        const array: unknown[] = [];
        while (r.pos < arrayEnd) {
          const at = tag(r, arrayEnd, 'ArrayValue');
          if (at === 10) array.push(anyValue(r, lenEnd(r, arrayEnd, 1, 'ArrayValue'), depth + 1));
          else skipField(r, arrayEnd, at, VALUES, 'ArrayValue');
        }
        value = array;
        break;
      }
      case 50: {
        // kvlist_value = 6: KeyValueList{values = 1}
        const listEnd = lenEnd(r, end, 6, 'AnyValue');
        const list: Attributes = {};
        while (r.pos < listEnd) {
          const lt = tag(r, listEnd, 'KeyValueList');
          if (lt === 10) keyValue(r, lenEnd(r, listEnd, 1, 'KeyValueList'), list, depth + 1);
          else skipField(r, listEnd, lt, VALUES, 'KeyValueList');
        }
        value = list;
        break;
      }
      case 58: {
        // bytes_value = 7, as base64 (the OTLP/JSON form)
        const bytesEnd = lenEnd(r, end, 7, 'AnyValue');
        value = r.buf.toString('base64', r.pos, bytesEnd);
        r.pos = bytesEnd;
        break;
      }
      default:
        // string_value_strindex = 8 is for profiles only: the spec says to treat it as absent.
        skipField(r, end, t, ANY_VALUE, 'AnyValue');
        continue;
    }
    // The last value field wins, as for any oneof.
    isString = t === 10;
  }
  r.isString = isString;
  return value;
}

function tag(r: Reader, end: number, msg: string): number {
  r.tagAt = r.pos;
  const t = varint(r, end, 0, msg);
  if (r.hi !== 0) throw new DecodeError(`invalid protobuf: tag of ${msg} at byte ${r.tagAt} is longer than 32 bits`);
  return t;
}

/** Reads a varint of up to 64 bits: returns its low 32 bits (unsigned) and leaves the high 32 in r.hi. */
function varint(r: Reader, end: number, field: number, msg: string): number {
  const pos = r.pos;
  if (pos < end) {
    const b = r.buf[pos];
    if (b < 0x80) {
      r.pos = pos + 1;
      r.hi = 0;
      return b;
    }
  }
  return longVarint(r, end, field, msg);
}

function longVarint(r: Reader, end: number, field: number, msg: string): number {
  const buf = r.buf;
  const start = r.pos;
  const last = Math.min(end, start + 10);
  let pos = start;
  let lo = 0;
  let hi = 0;
  // Bytes 1-4 carry bits 0-27, byte 5 bits 28-34, bytes 6-9 bits 35-62, byte 10 bit 63.
  for (let shift = 0; shift < 28 && pos < last; shift += 7) {
    const b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return varintDone(r, pos, lo, 0);
  }
  if (pos < last) {
    const b = buf[pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b < 0x80) return varintDone(r, pos, lo, hi);
  }
  for (let shift = 3; shift < 31 && pos < last; shift += 7) {
    const b = buf[pos++];
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) return varintDone(r, pos, lo, hi);
  }
  if (pos < last) {
    const b = buf[pos++];
    if (b <= 1) return varintDone(r, pos, lo, hi | (b << 31));
    throw new DecodeError(`invalid protobuf: varint in ${fieldOf(field, msg)} at byte ${start} is longer than 64 bits`);
  }
  throw new DecodeError(`truncated protobuf: varint in ${fieldOf(field, msg)} at byte ${start} runs past the end`);
}

function varintDone(r: Reader, pos: number, lo: number, hi: number): number {
  r.pos = pos;
  r.hi = hi >>> 0;
  return lo >>> 0;
}

/** Reads a length prefix and returns where the value ends, after checking it lies within `end`. */
function lenEnd(r: Reader, end: number, field: number, msg: string): number {
  const len = varint(r, end, field, msg);
  const pos = r.pos;
  if (r.hi !== 0 || len > end - pos) {
    const need = r.hi * 0x100000000 + len;
    throw new DecodeError(`truncated protobuf: ${fieldOf(field, msg)} at byte ${pos} needs ${need} bytes, ${end - pos} remain`);
  }
  return pos + len;
}

/** Claims `size` bytes of a fixed-width value and returns where they start. */
function fixed(r: Reader, end: number, size: number, field: number, msg: string): number {
  const pos = r.pos;
  if (end - pos < size) {
    throw new DecodeError(`truncated protobuf: ${fieldOf(field, msg)} at byte ${pos} needs ${size} bytes, ${end - pos} remain`);
  }
  r.pos = pos + size;
  return pos;
}

function fixed32(r: Reader, end: number, field: number, msg: string): number {
  return r.view.getUint32(fixed(r, end, 4, field, msg), true);
}

/** A fixed64 nanosecond time as its exact decimal string. */
function fixed64(r: Reader, end: number, field: number, msg: string): string {
  const pos = fixed(r, end, 8, field, msg);
  const view = r.view;
  const lo = view.getUint32(pos, true);
  const hi = view.getUint32(pos + 4, true);
  if (hi < 0x200000) return String(hi * 0x100000000 + lo); // below 2^53: exact as a double
  // Measured (Node 20): splitting into base-1e9 halves by hand is no faster here than BigInt's toString.
  return view.getBigUint64(pos, true).toString();
}

function string(r: Reader, end: number, field: number, msg: string): string {
  const stringEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = stringEnd;
  return pos === stringEnd ? '' : utf8(r.buf, pos, stringEnd);
}

function utf8(buf: Buffer, start: number, end: number): string {
  // Buffer's UTF-8 decoding replaces invalid bytes with U+FFFD exactly as TextDecoder does (a test checks
  // this) and needs no subarray: with TextDecoder, bench/decode.ts drops from 320k to 230k records/s.
  return withoutNul(buf.toString('utf8', start, end));
}

/**
 * Attribute keys, and often short values, come back in every record of a request. Returning the same
 * string object spares decoding it and, for keys, hashing and internalizing a fresh string on every
 * property store. Measured with bench/decode.ts: +55% records/s for keys, +14% more for values. A
 * direct-mapped cache of ASCII strings up to 64 bytes, checked byte by byte.
 */
function cachedString(r: Reader, end: number, field: number, msg: string, cache: (string | undefined)[]): string {
  const stringEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = stringEnd;
  const n = stringEnd - pos;
  if (n === 0) return '';
  const buf = r.buf;
  if (n > 64) return utf8(buf, pos, stringEnd);
  const slot = (n * 7 + buf[pos] * 3 + buf[pos + (n >> 1)] * 5 + buf[stringEnd - 1]) & (CACHE_SLOTS - 1);
  const cached = cache[slot];
  if (cached !== undefined && cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === buf[pos + i]) i++;
    if (i === n) return cached;
  }
  const decoded = utf8(buf, pos, stringEnd);
  // As many characters as bytes: every byte was ASCII or invalid (U+FFFD, which never equals a byte),
  // so a later match byte for byte means the same ASCII string.
  if (decoded.length === n) cache[slot] = decoded;
  return decoded;
}

/** Id bytes as lowercase hex, of any length (ingest/validate.ts checks it). */
function hex(r: Reader, end: number, field: number, msg: string): string {
  const hexEnd = lenEnd(r, end, field, msg);
  const pos = r.pos;
  r.pos = hexEnd;
  return pos === hexEnd ? '' : r.buf.toString('hex', pos, hexEnd);
}

function skipField(r: Reader, end: number, t: number, wires: readonly number[], msg: string): void {
  const field = t >>> 3;
  const wire = t & 7;
  if (field === 0) throw new DecodeError(`invalid protobuf: field number 0 in ${msg} at byte ${r.tagAt}`);
  if (field < wires.length && wires[field] !== NONE && wires[field] !== wire) {
    throw new DecodeError(
      `invalid protobuf: field ${field} of ${msg} at byte ${r.tagAt} has wire type ${wire}, expected ${wires[field]}`,
    );
  }
  skipValue(r, end, field, wire, msg, 0);
}

function skipValue(r: Reader, end: number, field: number, wire: number, msg: string, depth: number): void {
  switch (wire) {
    case VARINT:
      varint(r, end, field, msg);
      return;
    case I64:
      fixed(r, end, 8, field, msg);
      return;
    case LEN:
      r.pos = lenEnd(r, end, field, msg);
      return;
    case I32:
      fixed(r, end, 4, field, msg);
      return;
    case SGROUP:
      skipGroup(r, end, field, msg, depth + 1);
      return;
    case EGROUP:
      throw new DecodeError(`invalid protobuf: end-group of field ${field} in ${msg} at byte ${r.tagAt} closes no group`);
    default:
      throw new DecodeError(`invalid protobuf: field ${field} of ${msg} at byte ${r.tagAt} has invalid wire type ${wire}`);
  }
}

/** Skips an unknown group up to its matching end-group tag. */
function skipGroup(r: Reader, end: number, field: number, msg: string, depth: number): void {
  const start = r.tagAt;
  if (depth > MAX_GROUP_DEPTH) {
    throw new DecodeError(`invalid protobuf: groups in ${msg} at byte ${start} are nested deeper than ${MAX_GROUP_DEPTH} levels`);
  }
  while (r.pos < end) {
    const t = tag(r, end, msg);
    const inner = t >>> 3;
    const wire = t & 7;
    if (wire === EGROUP && inner === field) return;
    if (inner === 0) throw new DecodeError(`invalid protobuf: field number 0 in ${msg} at byte ${r.tagAt}`);
    skipValue(r, end, inner, wire, msg, depth);
  }
  throw new DecodeError(`truncated protobuf: group of field ${field} in ${msg} at byte ${start} has no end-group`);
}

function fieldOf(field: number, msg: string): string {
  return field === 0 ? `a tag of ${msg}` : `field ${field} of ${msg}`;
}

/**
 * Export{Logs,Trace}ServiceResponse: partial_success = 1 {rejected_log_records | rejected_spans = 1,
 * error_message = 2}; both signals share the layout. Empty (full success) when nothing was rejected
 * and there is no message.
 */
export function encodeExportResponseProtobuf(rejected: number, errorMessage: string): Uint8Array {
  if (rejected === 0 && errorMessage === '') return new Uint8Array(0);
  const inner = new ProtobufWriter();
  if (rejected !== 0) inner.varintField(1, rejected);
  if (errorMessage !== '') inner.stringField(2, errorMessage);
  return new ProtobufWriter().bytesField(1, inner.finish()).finish();
}

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }:
 * the body of a failed OTLP/HTTP request, and gRPC's richer error. With `retryDelaySeconds`, one detail,
 * Any { string type_url = 1; bytes value = 2 } holding google.rpc.RetryInfo { Duration retry_delay = 1 },
 * Duration { int64 seconds = 1 }.
 */
export function encodeStatusProtobuf(code: number, message: string, retryDelaySeconds?: number): Uint8Array {
  const w = new ProtobufWriter();
  if (code !== 0) w.varintField(1, code);
  if (message !== '') w.stringField(2, message);
  if (retryDelaySeconds !== undefined) w.bytesField(3, retryInfo(retryDelaySeconds));
  return w.finish();
}

function retryInfo(seconds: number): Uint8Array {
  const duration = new ProtobufWriter();
  if (seconds !== 0) duration.varintField(1, seconds);
  const info = new ProtobufWriter().bytesField(1, duration.finish()).finish();
  return new ProtobufWriter().stringField(1, RETRY_INFO_TYPE_URL).bytesField(2, info).finish();
}
