/**
 * bench:query's deep pages at a tiny size: the cursors it seeks with are the API's own, its middle page
 * lies between the first and the last, and its last page ends the list where walking page by page ends it.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { getApi } from '../../bench/query-measure.js';
import { pageQueries, type Seek } from '../../bench/query-pages.js';
import { apiPath, pickAround, routeCases, type RoutePicks } from '../../bench/query-routes.js';
import type { Query } from '../../bench/query-measure.js';
import type { Receiver } from '../../receiver/serve.js';
import { benchWorld } from '../helpers/bench-world.js';

const RECORDS = 5000;
const DAY_MS = 86_400_000;

interface Page {
  items: Record<string, string>[];
  next_cursor: string | null;
}

describe.each(inject('databaseServers'))('bench:query pages on $name', (server) => {
  const world = benchWorld(server.url, RECORDS);
  let receiver: Receiver;
  let picks: RoutePicks;
  let pages: { queries: Query[]; seeks: Seek[] };

  beforeAll(async () => {
    const { db, loaded, nowMs } = world();
    receiver = world().receiver;
    const busiest = loaded.pipelines[0]!;
    picks = await pickAround(db, loaded.tenants[busiest.tenant]!, busiest, 5);
    pages = await pageQueries(receiver.url, routeCases(picks), picks, nowMs - 30 * DAY_MS, () => true);
  });

  const get = async (query: Query) => (await getApi(receiver.url, picks.tenant, query.api!(0).path)) as Page;

  it('seeks a middle and the last page of the tenant\'s and the busiest pipeline\'s logs and runs, older in turn', () => {
    expect(pages.seeks.map((seek) => seek.list.split(' = ')[0])).toEqual([
      'api: /logs',
      'api: /logs pipeline=the busiest',
      'api: /runs',
      'api: /runs pipeline=the busiest',
    ]);
    for (const seek of pages.seeks) {
      expect(seek.middle_after < seek.first_at, seek.list).toBe(true);
      expect(seek.last_after < seek.middle_after, seek.list).toBe(true);
    }
    expect(pages.queries).toHaveLength(3 * pages.seeks.length);
  });

  it('ends each list where walking it page by page from the first ends it', async () => {
    for (const [index, seek] of pages.seeks.entries()) {
      const [first, middle, last] = pages.queries.slice(3 * index, 3 * index + 3) as [Query, Query, Query];
      const c = routeCases(picks).find((one) => one.name === seek.list)!;
      let walked = await get(first);
      while (walked.next_cursor) walked = (await getApi(receiver.url, picks.tenant, apiPath(c, 0, { limit: '1000', cursor: walked.next_cursor }))) as Page;
      const end = await get(last);
      expect(end.next_cursor, seek.list).toBeNull();
      expect(end.items.length, seek.list).toBe(seek.last_page_rows);
      expect(end.items.at(-1), seek.list).toEqual(walked.items.at(-1));
      const inMiddle = await get(middle);
      expect(inMiddle.items.length, seek.list).toBeGreaterThan(0);
    }
  });
});
