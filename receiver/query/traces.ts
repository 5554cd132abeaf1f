/** Spans: a trace with its logs, and a trace's spans as a tree (a run's detail shows its trace so). */
import type { Queryable } from '../storage/database.js';
import type { Span, SpanNode, Trace } from './api-types.js';
import { LOG_SELECT, shapeLog, type LogDbRow } from './logs.js';
import { RESOURCE_SCOPE_SELECT, resourceAndScope, type ResourceScopeColumns } from './shape.js';

/** A span as stored: the answer's fields, with its resource and scope as columns. */
type SpanDbRow = Omit<Span, 'resource' | 'scope'> & ResourceScopeColumns;

function shapeSpan({ resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url, ...span }: SpanDbRow): Span {
  return { ...span, ...resourceAndScope({ resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url }) };
}

async function spansOf(db: Queryable, tenantId: number, traceId: string): Promise<Span[]> {
  const { rows } = await db.query<SpanDbRow>(
    `SELECT trace_id, span_id, parent_span_id, trace_state, flags::float8 AS flags, name, kind,
            start_time_unix_nano::text AS start_time_unix_nano, end_time_unix_nano::text AS end_time_unix_nano,
            duration_ns::text AS duration_ns, status_code, status_message, service_name, attributes, events, links,
            dropped_attributes_count::float8 AS dropped_attributes_count,
            dropped_events_count::float8 AS dropped_events_count, dropped_links_count::float8 AS dropped_links_count,
            ${RESOURCE_SCOPE_SELECT}
       FROM spans WHERE tenant_id = $1 AND trace_id = $2 ORDER BY start_time_unix_nano, span_id`,
    [tenantId, traceId],
  );
  return rows.map(shapeSpan);
}

/**
 * Spans nested under their parents, in start order. A span whose parent was never received (lost, or
 * in another service's trace store) is shown as a root rather than hidden, and so is one whose parent
 * chain loops back to itself (only a broken sender makes one; nesting it would hide the loop).
 */
export function spanTree(spans: Span[]): SpanNode[] {
  const nodes = new Map(spans.map((span) => [span.span_id, { ...span, children: [] as SpanNode[] }]));
  const parentOf = (node: SpanNode) => (node.parent_span_id ? nodes.get(node.parent_span_id) : undefined);
  const loops = (node: SpanNode) => {
    const seen = new Set<SpanNode>();
    for (let at = parentOf(node); at; at = parentOf(at)) {
      if (at === node || seen.has(at)) return true;
      seen.add(at);
    }
    return false;
  };
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = parentOf(node);
    (parent && !loops(node) ? parent.children : roots).push(node);
  }
  return roots;
}

export async function getSpanTree(db: Queryable, tenantId: number, traceId: string): Promise<SpanNode[]> {
  return spanTree(await spansOf(db, tenantId, traceId));
}

export async function getTrace(db: Queryable, tenantId: number, traceId: string): Promise<Trace | null> {
  const [spans, logs] = await Promise.all([
    spansOf(db, tenantId, traceId),
    db.query<LogDbRow>(`${LOG_SELECT} WHERE tenant_id = $1 AND trace_id = $2 ORDER BY ts, fingerprint::text`, [tenantId, traceId]),
  ]);
  if (spans.length === 0 && logs.rows.length === 0) return null;
  return { trace_id: traceId, spans, logs: logs.rows.map(shapeLog) };
}
