/**
 * The OpenAPI 3.1 document served at /api/v1/openapi.json: the JSON API from its route table (routes.ts),
 * the OTLP ingest routes, the probes and /metrics. Tests validate every answer they receive against it.
 */
import type { Signal } from '../../contract/signal.js';
import type { JsonSchema, Params } from './params.js';
import { queryParamsOf, ROUTES, type ApiRoute } from './routes.js';
import { INGEST_SCHEMAS, ref, SCHEMAS } from './schemas.js';

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorAnswer = (description: string) => ({ description, content: json(ref('Error')) });

const KEY_SECURITY = [{ bearer: [] }, { apiKey: [] }];

/** Failures every keyed route may answer (outcome.ts decides which). */
const REFUSALS = {
  '400': errorAnswer('A bad parameter or body: the message says which and what it takes.'),
  '401': errorAnswer('No key, or an unknown or revoked one.'),
  '403': errorAnswer('The key lacks the scope the route needs.'),
  '503': errorAnswer('The database is unavailable: retry after Retry-After seconds.'),
};

function parameters(params: Params, where: 'query' | 'path') {
  return Object.entries(params).map(([name, param]) => ({
    name,
    in: where,
    required: where === 'path',
    description: param.description,
    schema: param.schema,
  }));
}

function operation(route: ApiRoute) {
  const ok = { ...json(ref(route.response)), ...(route.list ? { 'text/csv': { schema: { type: 'string' } } } : {}) };
  return {
    summary: route.summary,
    description: `Needs a key with the \`${route.scope}\` scope; sees only its tenant.${route.list ? ' Answers CSV with Accept: text/csv or format=csv, every matching row, streamed.' : ''}`,
    security: KEY_SECURITY,
    parameters: [...parameters(route.pathParams, 'path'), ...parameters(queryParamsOf(route), 'query')],
    ...(route.requestBody ? { requestBody: { required: true, content: json(route.requestBody) } } : {}),
    responses: {
      [String(route.status)]: { description: 'OK', content: ok },
      ...REFUSALS,
      ...(route.method === 'get' ? { '504': errorAnswer('The read ran past the time limit (--read-timeout-ms) and was cancelled: the message names the filters that narrow it.') } : {}),
      ...(route.mayNotFind || Object.keys(route.pathParams).length > 0 ? { '404': errorAnswer('Not found for this tenant.') } : {}),
    },
  };
}

function otlpIngest(signal: Signal) {
  return {
    post: {
      summary: `OTLP/HTTP ${signal} export (protobuf or JSON), as OpenTelemetry exporters send it`,
      description: 'Needs the `ingest` scope. gzip bodies are accepted (Content-Encoding: gzip).',
      security: KEY_SECURITY,
      requestBody: {
        required: true,
        content: { 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } }, ...json({ type: 'object' }) },
      },
      responses: {
        '200': {
          description: 'Stored (all, or all but the rejected records the partial success counts).',
          content: { 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } }, ...json(ref('OtlpExportResponse')) },
        },
        ...Object.fromEntries(
          ['400', '401', '403', '413', '415', '503'].map((status) => [
            status,
            { description: 'Refused: a google.rpc.Status, in the request\'s format.', content: json(ref('OtlpStatus')) },
          ]),
        ),
      },
    },
  };
}

const oneOrMany = (schema: string) => ({ anyOf: [ref(schema), { type: 'array', maxItems: 1000, items: ref(schema) }] });

/** A JSON ingest route (json-ingest.ts): answered once committed; `answers` beside the refusals every one may give. */
function jsonIngest(summary: string, body: JsonSchema, answers: Record<string, { description: string; schema: JsonSchema }>) {
  return {
    post: {
      summary,
      description: 'Needs the `ingest` scope. Answered after COMMIT; a resent record is stored once.',
      security: KEY_SECURITY,
      requestBody: { required: true, content: json(body) },
      responses: {
        ...REFUSALS,
        '413': errorAnswer('The body is over --max-body-bytes, or the batch holds more than 1,000 items.'),
        '415': errorAnswer('A Content-Type other than JSON.'),
        ...Object.fromEntries(Object.entries(answers).map(([status, { description, schema }]) => [status, { description, content: json(schema) }])),
      },
    },
  };
}

const refusedOrSome = (schema: string) => ({ anyOf: [ref('Error'), ref(schema)] });

const probe = (summary: string, schema: string, failure?: string) => ({
  get: {
    summary,
    security: [],
    responses: { '200': { description: 'OK', content: json(ref(schema)) }, ...(failure ? { '503': { description: failure, content: json(ref(schema)) } } : {}) },
  },
});

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {
    '/v1/logs': otlpIngest('logs'),
    '/v1/traces': otlpIngest('traces'),
    '/v1/metrics': otlpIngest('metrics'),
    '/api/v1/openapi.json': {
      get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } } },
    },
    '/healthz': probe('Alive', 'Health'),
    '/readyz': probe('The database answers', 'Ready', 'The database does not answer.'),
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (on their own listener with --metrics-port)',
        security: [],
        responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
  };
  for (const route of ROUTES) {
    const path = `/api/v1${route.path}`;
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  Object.assign(
    paths['/api/v1/logs']!,
    jsonIngest("One activity record, as notebook and workflow loggers post it", ref('ActivityRecord'), {
      '201': { description: 'Stored: the run it became.', schema: ref('ActivityCreated') },
    }),
  );
  paths['/api/v1/logs/batch'] = jsonIngest(
    'Up to 1,000 activity records: an array, or {"logs": [...]}',
    { anyOf: [{ type: 'array', maxItems: 1000, items: ref('ActivityRecord') }, { type: 'object', properties: { logs: { type: 'array', items: ref('ActivityRecord') } }, required: ['logs'] }] },
    {
      '201': { description: 'Every record stored.', schema: ref('ActivityBatch') },
      '207': { description: 'Some records refused (listed by index); the rest stored.', schema: ref('ActivityBatch') },
      '400': { description: 'A malformed body, or no record stored (then every refusal by index).', schema: refusedOrSome('ActivityBatch') },
    },
  );
  Object.assign(
    paths['/api/v1/lineage']!,
    jsonIngest('OpenLineage events, one or an array (where the OpenLineage HTTP transport posts)', oneOrMany('LineageEvent'), {
      '201': { description: 'Stored (an array: all but the refused events, listed by index).', schema: ref('LineageAnswer') },
      '400': { description: 'A malformed body or event, or no event of an array stored.', schema: refusedOrSome('LineageAnswer') },
    }),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'pipemon',
      version: '1',
      description: 'OTLP ingest and the query API of pipemon. Lists are keyset-paginated: pass next_cursor back as cursor.',
    },
    paths,
    components: {
      schemas: { ...SCHEMAS, ...INGEST_SCHEMAS },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer pm_...' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
  };
}
