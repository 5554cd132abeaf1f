/**
 * Express (or plain node:http) middleware: one SERVER span and one `pipemon.http.request` record per
 * request, joining the caller's trace from W3C `traceparent`, or, without one, a trace derived from
 * `X-Correlation-ID` so every request carrying the same id lands in one trace. A run started inside the
 * handler is a child of the request, so a pipeline started over HTTP is one trace.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { withSpan } from './activity/run.js';
import { pipemon } from './activity/telemetry.js';
import { ATTR, EVENT } from '../contract/vocabulary.js';

export interface MiddlewareOptions {
  /** Header carrying a correlation id (default x-correlation-id); echoed on the response. */
  correlationHeader?: string;
}

type Request = IncomingMessage & { originalUrl?: string; route?: { path?: unknown }; baseUrl?: string };

const propagator = new W3CTraceContextPropagator();

/** The same id always gives the same trace: a stable parent for requests that share it. */
function correlationParent(id: string): Context {
  const digest = createHash('sha256').update(id).digest('hex');
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

export function pipemonMiddleware(options: MiddlewareOptions = {}) {
  const header = (options.correlationHeader ?? 'x-correlation-id').toLowerCase();
  return function pipemonRequest(req: Request, res: ServerResponse, next: (error?: unknown) => void): void {
    let finish: (() => void) | null = null;
    try {
      const sdk = pipemon();
      const raw = req.headers[header];
      const correlationId = Array.isArray(raw) ? raw[0] : raw;
      let parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
      if (!trace.getSpanContext(parent) && correlationId) parent = correlationParent(correlationId);
      const method = req.method ?? 'GET';
      const urlPath = (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
      const attributes: Attributes = { [ATTR.httpMethod]: method, [ATTR.urlPath]: urlPath };
      if (correlationId) attributes[ATTR.correlationId] = correlationId;
      const span = sdk.tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
      const { traceId } = span.spanContext();
      res.setHeader(header, correlationId ?? traceId);
      let done = false;
      finish = () => {
        if (done) return;
        done = true;
        try {
          const route = typeof req.route?.path === 'string' ? `${req.baseUrl ?? ''}${req.route.path}` : undefined;
          const status = res.statusCode;
          const end: Attributes = { ...attributes, [ATTR.httpStatus]: status };
          if (route) {
            end[ATTR.httpRoute] = route;
            span.updateName(`${method} ${route}`);
          }
          span.setAttributes(end);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
          span.end();
          const error = status >= 500;
          sdk.logger.emit({
            eventName: EVENT.httpRequest,
            severityNumber: error ? SeverityNumber.ERROR : SeverityNumber.INFO,
            severityText: error ? 'ERROR' : 'INFO',
            body: `${method} ${urlPath} ${status}`,
            attributes: end,
            context: trace.setSpan(ROOT_CONTEXT, span),
          });
        } catch {
          // Never throw into the server.
        }
      };
      res.once('finish', finish);
      res.once('close', finish);
      withSpan(span, () => next());
    } catch {
      // Telemetry failed before the handler ran: the request still goes on, unmonitored.
      if (!finish) next();
    }
  };
}
