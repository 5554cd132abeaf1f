/**
 * Hand-written decoder for ExportLogsServiceRequest and ExportTraceServiceRequest
 * (opentelemetry-proto v1), straight into rows: one cursor over the request, no intermediate message
 * objects. Field numbers follow opentelemetry/proto/{common,resource,logs,trace,collector}/v1/*.proto.
 * The request's levels, Resource, InstrumentationScope and KeyValue are read here for every signal
 * (otlp-metrics-protobuf.ts reads metrics with them); the wire format in protobuf-reader.ts.
 *
 * Every malformed input ends in a DecodeError: each read is bounded by the end of the enclosing
 * message, each loop consumes at least one byte, and recursion is bounded (AnyValue depth, groups).
 */
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
} from './otlp-values.js';
import {
  I32,
  I64,
  LEN,
  NONE,
  Reader,
  VARINT,
  cachedString,
  double,
  fixed32,
  fixed64,
  hex,
  lenEnd,
  skipField,
  string,
  tag,
  varint,
} from './protobuf-reader.js';

// Declared wire type of each field number of a message (see protobuf-reader.ts).
const REQUEST = [NONE, LEN];
const RESOURCE_ENTRIES = [NONE, LEN, LEN, LEN]; // Resource{Logs,Spans,Metrics}, Scope{Logs,Spans,Metrics}
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

/** Decodes an ExportLogsServiceRequest into one row per log record. */
export function decodeLogsProtobuf(buf: Uint8Array): LogRow[] {
  return decodeRequest(buf, LOGS, logRecord);
}

/** Decodes an ExportTraceServiceRequest into one row per span. */
export function decodeTracesProtobuf(buf: Uint8Array): SpanRow[] {
  return decodeRequest(buf, TRACES, span);
}

/** The names of a signal's request and its two levels of entries, as errors name them. */
export interface RequestNames {
  request: string;
  resource: string;
  scope: string;
}
const LOGS: RequestNames = { request: 'ExportLogsServiceRequest', resource: 'ResourceLogs', scope: 'ScopeLogs' };
const TRACES: RequestNames = { request: 'ExportTraceServiceRequest', resource: 'ResourceSpans', scope: 'ScopeSpans' };

/** Reads one item of a Scope{Logs,Spans,Metrics} (a LogRecord, Span or Metric) into its rows. */
export type ItemReader<Row> = (r: Reader, end: number, resource: Resource, scope: Scope, rows: Row[]) => void;

/**
 * Export{Logs,Trace,Metrics}ServiceRequest{resource_* = 1}, ResourceX{resource = 1, scope_* = 2,
 * schema_url = 3} and ScopeX{scope = 1, items = 2, schema_url = 3}: the same layout for every signal.
 * Each ResourceX and ScopeX gets one Resource or Scope object, shared by the rows of its items.
 */
export function decodeRequest<Row>(buf: Uint8Array, names: RequestNames, item: ItemReader<Row>): Row[] {
  const r = new Reader(buf);
  const rows: Row[] = [];
  const end = buf.byteLength;
  while (r.pos < end) {
    const t = tag(r, end, names.request);
    if (t === 10) resourceEntry(r, lenEnd(r, end, 1, names.request), names, item, rows);
    else skipField(r, end, t, REQUEST, names.request);
  }
  return rows;
}

function resourceEntry<Row>(r: Reader, end: number, names: RequestNames, item: ItemReader<Row>, rows: Row[]): void {
  const resource = newResource();
  const msg = names.resource;
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 10: // resource = 1
        resourceFields(r, lenEnd(r, end, 1, msg), resource);
        break;
      case 18: // scope_logs, scope_spans, scope_metrics = 2
        scopeEntry(r, lenEnd(r, end, 2, msg), names.scope, resource, item, rows);
        break;
      case 26: // schema_url = 3
        resource.schemaUrl = string(r, end, 3, msg);
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, msg);
    }
  }
}

function scopeEntry<Row>(r: Reader, end: number, msg: string, resource: Resource, item: ItemReader<Row>, rows: Row[]): void {
  const scope = newScope();
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 10: // scope = 1
        scopeFields(r, lenEnd(r, end, 1, msg), scope);
        break;
      case 18: // log_records, spans, metrics = 2
        item(r, lenEnd(r, end, 2, msg), resource, scope, rows);
        break;
      case 26: // schema_url = 3
        scope.schemaUrl = string(r, end, 3, msg);
        break;
      default:
        skipField(r, end, t, RESOURCE_ENTRIES, msg);
    }
  }
}

function logRecord(r: Reader, end: number, resource: Resource, scope: Scope, rows: LogRow[]): void {
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
  rows.push({
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
  });
}

function span(r: Reader, end: number, resource: Resource, scope: Scope, rows: SpanRow[]): void {
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
  rows.push({
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
  });
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
export function keyValue(r: Reader, end: number, into: Attributes, depth: number): void {
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
        value = doubleValue(double(r, end, 4, 'AnyValue'));
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

/**
 * Export{Logs,Trace,Metrics}ServiceResponse: partial_success = 1 {rejected_log_records | rejected_spans |
 * rejected_data_points = 1, error_message = 2}; every signal shares the layout. Empty (full success)
 * when nothing was rejected and there is no message.
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
