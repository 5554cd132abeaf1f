/**
 * Requests to the receiver's public query API, with the saved key. A refused key is a KeyError, which
 * the page answers with the key prompt and the reason; anything else is an ApiError with the receiver's
 * own message.
 */
import type { ApiGets } from './api-types.js';
import { savedKey } from './key.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The key is missing, unknown, revoked, or lacks the read scope. */
export class KeyError extends ApiError {}

export type GetRoute = keyof ApiGets;
/** A route's parameters as its route table declares them; an empty or null one is left out of the URL. */
type ParamsOf<R extends GetRoute> = { [K in keyof ApiGets[R]['params']]: ApiGets[R]['params'][K] | null };

/** The route with its `{name}` path parameters filled in, and the rest of `params` as its query. */
function urlOf(route: string, params: Record<string, unknown>): string {
  const query = new URLSearchParams();
  const path = route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name])));
  for (const [name, value] of Object.entries(params)) {
    if (!route.includes(`{${name}}`) && value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Why a key was refused, in words a person can act on. */
export function keyRefusal(status: number): string {
  return status === 403
    ? 'This key lacks the read scope. Create one with: pipemon keys create --tenant NAME --scopes read'
    : 'This key was refused: it is not a key of this receiver, or it was revoked. The key printed at first start is saved in .pipemon/default-api-key.';
}

async function request(path: string, key: string | null): Promise<Response> {
  try {
    return await fetch(path, { headers: key ? { 'x-api-key': key } : {}, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'The receiver does not answer: is pipemon serve running?');
  }
}

async function failure(response: Response): Promise<ApiError> {
  const body = await response.text();
  let message = body;
  try {
    message = (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    // not JSON: the text as it came
  }
  return new ApiError(response.status, `${response.status}: ${message || response.statusText}`);
}

/** GET the JSON answer of `route` with `key` (the saved one by default): its type is the one the route table declares. */
export async function getJson<R extends GetRoute>(route: R, params: ParamsOf<R>, key = savedKey()): Promise<ApiGets[R]['answer']> {
  if (!key) throw new KeyError(401, 'No key yet.');
  const response = await request(urlOf(route, params), key);
  if (response.status === 401 || response.status === 403) throw new KeyError(response.status, keyRefusal(response.status));
  if (!response.ok) throw await failure(response);
  return (await response.json()) as ApiGets[R]['answer'];
}

/** GET a text answer that needs no key (/metrics, /readyz), or null when the receiver has no such route here. */
export async function getText(path: string): Promise<{ status: number; text: string } | null> {
  const response = await request(path, null);
  if (response.status === 404) return null;
  return { status: response.status, text: await response.text() };
}
