/** How the HTTP routes answer a failure: the status of outcome.ts, its headers, and a JSON error body. */
import type { Response } from 'express';
import { HTTP_STATUS, RETRY_AFTER_SECONDS, type Refusal } from '../model/outcome.js';

/** Sets the status and headers of `refusal` on `res` (Retry-After for the kinds worth retrying). */
export function refusalHead(res: Response, refusal: Refusal): Response {
  const retryAfter = RETRY_AFTER_SECONDS[refusal.kind];
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
  // An unread upload is not worth reading: close the connection instead.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  return res.status(HTTP_STATUS[refusal.kind]);
}

/** The JSON API's error answer: `{"error": message}`. */
export function sendRefusal(res: Response, refusal: Refusal): void {
  refusalHead(res, refusal).json({ error: refusal.message });
}
