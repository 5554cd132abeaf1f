/**
 * The dashboards' uids, which links and bookmarks depend on (never change one), and the links between
 * the dashboards: overview → pipeline → run → logs, each with the time range and shared variables.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { DashboardLinkType, type DashboardLink } from '@grafana/grafana-foundation-sdk/dashboard';

export const UID = {
  overview: 'pipemon-overview',
  pipeline: 'pipemon-pipeline',
  run: 'pipemon-run',
  logs: 'pipemon-logs',
  lineage: 'pipemon-lineage',
  health: 'pipemon-health',
} as const;

export type DashboardUid = (typeof UID)[keyof typeof UID];

const TITLES: Record<DashboardUid, string> = {
  [UID.overview]: 'Pipelines overview',
  [UID.pipeline]: 'Pipeline',
  [UID.run]: 'Pipeline run',
  [UID.logs]: 'Logs',
  [UID.lineage]: 'Lineage',
  [UID.health]: 'pipemon health',
};

export const titleOf = (uid: DashboardUid) => TITLES[uid];

/**
 * Links to every other dashboard, keeping the time range and the variables they share. Plain objects
 * rather than DashboardLinkBuilder, whose default placement (`inControlsMenu`, Grafana 12) hides links in
 * a menu.
 */
export function navigation(current: DashboardUid): cog.Builder<DashboardLink>[] {
  return Object.values(UID)
    .filter((uid) => uid !== current)
    .map((uid) => ({
      build: (): DashboardLink => ({
        title: TITLES[uid],
        type: DashboardLinkType.Link,
        url: `/d/${uid}`,
        icon: 'dashboard',
        tooltip: '',
        tags: [],
        asDropdown: false,
        targetBlank: false,
        includeVars: true,
        keepTime: true,
      }),
    }));
}

export interface DataLink {
  title: string;
  url: string;
}

/**
 * A link from a table cell to a dashboard. `params` are URL parameters with Grafana's data-link
 * variables (`${__value.raw}`, `${__data.fields.Tenant}`, `${tenant:queryparam}`); the time range follows.
 */
export function linkTo(uid: DashboardUid, title: string, params: string[]): DataLink {
  return { title, url: `/d/${uid}?${[...params, '${__url_time_range}'].join('&')}` };
}
