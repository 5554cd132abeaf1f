/**
 * The page and its filters live in the URL's fragment (`#/logs?q=refused`), so a link can be shared and
 * the back button works; the fragment never reaches the server, which serves one page for all of them.
 */

export type PageName = 'overview' | 'pipeline' | 'run' | 'logs' | 'health' | 'datasets' | 'dataset' | 'lineage' | 'unknown';

export interface Route {
  page: PageName;
  /** The pipeline name, run id or dataset id of the pipeline, run and dataset pages. */
  id: string;
  params: URLSearchParams;
}

/** Each path's page without an id, and with one (null: that form names no page). */
const PATHS: Record<string, [PageName | null, PageName | null]> = {
  '': ['overview', null],
  pipelines: [null, 'pipeline'],
  runs: [null, 'run'],
  logs: ['logs', null],
  health: ['health', null],
  datasets: ['datasets', 'dataset'],
  lineage: ['lineage', null],
};

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [first = '', ...rest] = path.split('/');
  const params = new URLSearchParams(query);
  let id = '';
  try {
    id = decodeURIComponent(rest.join('/'));
  } catch {
    return { page: 'unknown', id: '', params: new URLSearchParams() };
  }
  const forms = Object.hasOwn(PATHS, first) ? PATHS[first]! : [null, null];
  return { page: forms[id === '' ? 0 : 1] ?? 'unknown', id, params };
}

/** Each page's path, read off PATHS: its path, and a slash before the id of a page that has one. */
const PREFIX = Object.fromEntries(
  Object.entries(PATHS).flatMap(([path, [bare, withId]]) => [...(bare ? [[bare, path]] : []), ...(withId ? [[withId, `${path}/`]] : [])]),
) as Record<Exclude<PageName, 'unknown'>, string>;

/** The fragment of a page, with its filters (empty ones left out). */
export function href(page: Exclude<PageName, 'unknown'>, id = '', params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => Boolean(entry[1]))).toString();
  return `#/${PREFIX[page]}${id ? encodeURIComponent(id) : ''}${query ? `?${query}` : ''}`;
}
