/**
 * Lists as CSV (RFC 4180), streamed: pages are read one at a time through the list's own keyset
 * pagination and written as they come, with the socket's backpressure, so an export of millions of rows
 * holds one page in memory. Between pages no connection or snapshot is held, so a slow reader never keeps
 * a transaction open (which would block retention's partition drops and vacuum).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { refusalOf } from '../model/outcome.js';
import type { Page } from '../query/pages.js';
import type { JsonSchema } from './params.js';
import { SCHEMAS } from './schemas.js';

export type PageReader = (limit: number, cursor: string | undefined) => Promise<Page<unknown>>;

/** Rows per query while exporting: large enough that per-query costs vanish, small enough to hold. */
const EXPORT_PAGE = 1000;

interface Column {
  header: string;
  path: string[];
}

const resolve = (schema: JsonSchema): JsonSchema => {
  const target = typeof schema.$ref === 'string' ? SCHEMAS[schema.$ref.split('/').pop()!] : schema;
  const variants = target?.anyOf as JsonSchema[] | undefined;
  return variants?.find((variant) => variant.type !== 'null') ?? target ?? {};
};

/**
 * The CSV columns of a list item: its schema's properties in order, an object of fixed properties (rows,
 * error, resource) spread into dotted columns (`rows.written`), free-form ones (attributes) as JSON.
 */
export function csvColumns(itemSchema: JsonSchema, prefix: string[] = []): Column[] {
  const properties = (resolve(itemSchema).properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).flatMap(([name, schema]) => {
    const path = [...prefix, name];
    return resolve(schema).properties ? csvColumns(schema, path) : [{ header: path.join('.'), path }];
  });
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function line(columns: Column[], item: unknown): string {
  return `${columns.map(({ path }) => cell(path.reduce<unknown>((at, key) => (at as Record<string, unknown> | null)?.[key], item))).join(',')}\r\n`;
}

async function* rows(columns: Column[], first: Page<unknown>, read: PageReader): AsyncGenerator<string> {
  yield `${columns.map((column) => cell(column.header)).join(',')}\r\n`;
  for (let page: Page<unknown> | null = first; page; page = page.next_cursor ? await read(EXPORT_PAGE, page.next_cursor) : null) {
    for (const item of page.items) yield line(columns, item);
  }
}

/**
 * Answers with every item that `read` pages through, from `cursor` on, as CSV. The first page is read
 * before anything is sent, so a bad parameter is still a 400; a failure later can only cut the answer
 * short (the chunked body then lacks its end, which HTTP clients report as an error).
 */
export async function sendCsv(res: Response, itemSchema: JsonSchema, read: PageReader, cursor: string | undefined, filename: string): Promise<void> {
  const columns = csvColumns(itemSchema);
  const first = await read(EXPORT_PAGE, cursor);
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8; header=present');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}.csv"`);
  // objectMode off: the stream counts bytes, so backpressure holds about 64 KiB, not a number of rows.
  await pipeline(Readable.from(rows(columns, first, read), { objectMode: false }), res).catch((error: unknown) => {
    // The client went away (nothing to tell it), or a later page failed: the body cannot change now.
    if ((error as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      console.warn(`pipemon: a CSV export of ${filename} stopped early: ${refusalOf(error).message}`);
    }
    if (!res.destroyed) res.destroy();
  });
}
