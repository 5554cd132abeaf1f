/**
 * fetch for the API suites that checks every answer against the OpenAPI document the receiver serves:
 * the status must be documented for the route and method, the Content-Type among the answer's, and a
 * JSON body valid against its schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 has it).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { FormatsPlugin } from 'ajv-formats';

export interface ApiAnswer<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text of any other body. */
  body: T;
  text: string;
}

export interface ApiRequest {
  key?: string;
  method?: string;
  body?: unknown;
  accept?: string;
}

const documents = new Map<string, Promise<{ ajv: Ajv2020; doc: any }>>();

async function documentOf(url: string) {
  let loaded = documents.get(url);
  if (!loaded) {
    loaded = (async () => {
      const doc = await (await fetch(`${url}/api/v1/openapi.json`)).json();
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      (formats as unknown as FormatsPlugin)(ajv);
      ajv.addSchema(doc, 'openapi');
      return { ajv, doc };
    })();
    documents.set(url, loaded);
  }
  return loaded;
}

const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The documented path template that `path` (without its query) matches. */
function templateOf(doc: any, path: string): string {
  const bare = decodeURIComponent(path.split('?')[0]!);
  const match = Object.keys(doc.paths).find((template) => {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`, 's');
    return pattern.test(bare);
  });
  if (!match) throw new Error(`${path} is not in the OpenAPI document`);
  return match;
}

/** Throws unless the answer is as the document says; returns it otherwise. */
export async function checkAnswer(url: string, method: string, path: string, answer: ApiAnswer): Promise<ApiAnswer> {
  const { ajv, doc } = await documentOf(url);
  const template = templateOf(doc, path);
  const operation = doc.paths[template][method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  const response = operation.responses[String(answer.status)];
  if (!response) throw new Error(`${method} ${path} answered ${answer.status}, which the document does not list: ${answer.text.slice(0, 300)}`);
  const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (!response.content?.[type]) throw new Error(`${method} ${path} answered ${answer.status} as ${type}, which the document does not list`);
  if (type === 'application/json') {
    const ref = `openapi#/${pointer('paths', template, method.toLowerCase(), 'responses', String(answer.status), 'content', type, 'schema')}`;
    const validate = ajv.getSchema(ref);
    if (!validate) throw new Error(`no schema at ${ref}`);
    if (!validate(answer.body)) {
      throw new Error(`${method} ${path} answered ${answer.status} against its schema: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`);
    }
  }
  return answer;
}

/** A request to the receiver at `url`, its answer checked against the OpenAPI document. */
export async function api<T = any>(url: string, path: string, request: ApiRequest = {}): Promise<ApiAnswer<T>> {
  const method = request.method ?? 'GET';
  const headers: Record<string, string> = {};
  if (request.key) headers['x-api-key'] = request.key;
  if (request.accept) headers.accept = request.accept;
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url + path, { method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  const answer: ApiAnswer = { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text, text };
  return checkAnswer(url, method, path, answer);
}
