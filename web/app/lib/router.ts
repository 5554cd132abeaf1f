/**
 * The page and its filters live in the URL's fragment (`#/logs?q=refused`), so a link can be shared and
 * the back button works; the fragment never reaches the server, which serves one page for all of them.
 */

export type PageName = 'overview' | 'pipeline' | 'run' | 'logs' | 'health' | 'unknown';

export interface Route {
  page: PageName;
  /** The pipeline name or run id of the pipeline and run pages. */
  id: string;
  params: URLSearchParams;
}

const PATHS: Record<string, PageName> = { '': 'overview', pipelines: 'pipeline', runs: 'run', logs: 'logs', health: 'health' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [first = '', ...rest] = path.split('/');
  const page = Object.hasOwn(PATHS, first) ? PATHS[first]! : 'unknown';
  let id = '';
  try {
    id = decodeURIComponent(rest.join('/'));
  } catch {
    return { page: 'unknown', id: '', params: new URLSearchParams() };
  }
  const needsId = page === 'pipeline' || page === 'run';
  if (needsId !== (id !== '')) return { page: 'unknown', id, params: new URLSearchParams(query) };
  return { page, id, params: new URLSearchParams(query) };
}

/** The fragment of a page, with its filters (empty ones left out). */
export function href(page: Exclude<PageName, 'unknown'>, id = '', params: Record<string, string | undefined> = {}): string {
  const path = { overview: '', pipeline: 'pipelines/', run: 'runs/', logs: 'logs', health: 'health' }[page];
  const query = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => Boolean(entry[1]))).toString();
  return `#/${path}${id ? encodeURIComponent(id) : ''}${query ? `?${query}` : ''}`;
}
