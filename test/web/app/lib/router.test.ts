import { describe, expect, it } from 'vitest';
import { href, parseRoute, type PageName } from '../../../../web/app/lib/router.js';

const PAGES: [Exclude<PageName, 'unknown'>, string][] = [
  ['overview', ''],
  ['pipeline', 'orders/daily load'],
  ['run', 'r-1'],
  ['logs', ''],
  ['health', ''],
  ['datasets', ''],
  ['dataset', '42'],
  ['lineage', ''],
];

describe('the router', () => {
  it('reads back every page it writes, with its id and filters', () => {
    for (const [page, id] of PAGES) {
      const route = parseRoute(href(page, id, { q: 'a b', empty: '' }));
      expect([route.page, route.id, route.params.toString()], page).toEqual([page, id, 'q=a+b']);
    }
    expect(href('dataset', '42')).toBe('#/datasets/42');
    expect(href('datasets')).toBe('#/datasets');
  });

  it('knows no page by a path it does not have, or with an id where the page takes none', () => {
    expect(parseRoute('#/nowhere').page).toBe('unknown');
    expect(parseRoute('#/lineage/x').page).toBe('unknown');
    expect(parseRoute('#/runs').page).toBe('unknown');
  });
});
