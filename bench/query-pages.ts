/**
 * Pages deep in the logs and runs lists, as a user paging with "Older records" reaches them: the first
 * page, a middle page and the last, each asked with a cursor the API itself gave. Walking the busiest
 * pipeline's logs page by page would take thousands of requests, so the bench seeks instead: it asks the
 * same list bounded by `until` for one row, and takes that page's next_cursor, the cursor of a row at the
 * time sought (a cursor holds the sort and the last row's key, not the filters). The middle is the
 * middle in time between the first row and the last page; the last page is found by halving the time
 * until the rows before it fit in one page.
 */
import { MAX_LIMIT } from '../receiver/http/params.js';
import { getApi, type Query } from './query-measure.js';
import { apiPath, runCase, type RoutePicks, type RouteCase } from './query-routes.js';
import type { BenchTenant } from './query-load.js';

/** The lists paged newest first by a time the route bounds with `until`, and that time's field in their items. */
const NEWEST_FIRST: Record<string, string> = { '/logs': 'timestamp', '/runs': 'started_at' };
/** The lists walked: the tenant's whole list and the busiest pipeline's, no time range (the deepest). */
const WALKED = (path: string) => [`api: ${path}`, `api: ${path} pipeline=the busiest`];
const DAY_MS = 86_400_000;
/** A second: the halving stops once the time it seeks is known closer than this. */
const PRECISION_MS = 1000;

interface Page {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

export interface Seek {
  list: string;
  /** The time of the first row, the row the middle page follows, and the row the last page follows. */
  first_at: string;
  middle_after: string;
  last_after: string;
  /** Rows on the last page (it ends the list: no next_cursor). */
  last_page_rows: number;
  /** API requests the seek took. */
  requests: number;
}

const WHICH = ['first page', 'a middle page', 'the last page'] as const;
const pageName = (c: RouteCase, which: (typeof WHICH)[number]) => `pages: ${c.name.replace(/^api: /, '')}, ${which} of ${MAX_LIMIT}`;

/**
 * The list pages the bench measures (pages of MAX_LIMIT) of the lists any of whose page names is
 * `chosen`, with how each deep page was sought.
 */
export async function pageQueries(receiverUrl: string, cases: RouteCase[], picks: RoutePicks, oldestMs: number, chosen: (name: string) => boolean): Promise<{ queries: Query[]; seeks: Seek[] }> {
  const queries: Query[] = [];
  const seeks: Seek[] = [];
  for (const [path, timeField] of Object.entries(NEWEST_FIRST)) {
    for (const name of WALKED(path)) {
      const c = cases.find((one) => one.name === name || one.name.startsWith(`${name} = `));
      if (!c) throw new Error(`bench:query pages: no case "${name}" to page through (bench/query-routes.ts names them)`);
      if (!WHICH.some((which) => chosen(pageName(c, which)))) continue;
      const seek = await seekPages(receiverUrl, picks.tenant, c, timeField, oldestMs);
      seeks.push(seek.facts);
      queries.push(pageQuery(picks.tenant, c, 'first page', undefined), pageQuery(picks.tenant, c, 'a middle page', seek.middle), pageQuery(picks.tenant, c, 'the last page', seek.last));
    }
  }
  return { queries, seeks };
}

function pageQuery(tenant: BenchTenant, c: RouteCase, which: (typeof WHICH)[number], cursor: string | undefined): Query {
  const extra = { limit: String(MAX_LIMIT), ...(cursor ? { cursor } : {}) };
  return {
    name: pageName(c, which),
    goalMs: c.goalMs,
    api: (i) => ({ tenant, path: apiPath(c, i, extra) }),
    sql: (db, i) => runCase(db, tenant, c, i, extra),
  };
}

/** Cursors of a middle and the last page of the case's list (at repetition 0: its parameters then). */
async function seekPages(receiverUrl: string, tenant: BenchTenant, c: RouteCase, timeField: string, oldestMs: number) {
  let requests = 0;
  const page = async (extra: Record<string, string>): Promise<Page> => {
    requests++;
    return (await getApi(receiverUrl, tenant, apiPath(c, 0, extra))) as Page;
  };
  const timeOf = (p: Page) => String(p.items[0]?.[timeField]);
  const first = await page({ limit: '1' });
  if (first.items.length === 0) throw new Error(`bench:query pages: ${c.name} lists nothing to page through`);
  const firstMs = Date.parse(timeOf(first));
  const last = await lastPageBound(page, oldestMs - DAY_MS, firstMs);
  // One row before `until`: its next_cursor is the cursor of that row, whatever the bound.
  const after = async (untilMs: number) => {
    const one = await page({ limit: '1', until: new Date(untilMs).toISOString() });
    if (!one.next_cursor) throw new Error(`bench:query pages: ${c.name} has no row before ${new Date(untilMs).toISOString()} to page after`);
    return { cursor: one.next_cursor, at: timeOf(one) };
  };
  const middle = await after((firstMs + last.untilMs) / 2);
  const end = await after(last.untilMs);
  return {
    middle: middle.cursor,
    last: end.cursor,
    facts: { list: c.name, first_at: timeOf(first), middle_after: middle.at, last_after: end.at, last_page_rows: last.rows - 1, requests },
  };
}

/**
 * A time before which the list holds more than one row and no more than a page: found by halving the
 * span from before the oldest record to the first row.
 */
async function lastPageBound(page: (extra: Record<string, string>) => Promise<Page>, lowMs: number, highMs: number): Promise<{ untilMs: number; rows: number }> {
  let [low, high] = [lowMs, highMs];
  while (high - low > PRECISION_MS) {
    const untilMs = Math.floor((low + high) / 2);
    const before = await page({ limit: String(MAX_LIMIT), until: new Date(untilMs).toISOString() });
    if (before.next_cursor) high = untilMs;
    else if (before.items.length < 2) low = untilMs;
    else return { untilMs, rows: before.items.length };
  }
  throw new Error('bench:query pages: no time found before which the list holds between 2 rows and a page: is it shorter than two pages?');
}
