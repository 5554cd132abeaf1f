/**
 * What every pipemon dashboard shares: uid and title, tags, time range, refresh, links to the others,
 * and panel ids assigned in layout order once the panels are placed.
 */
import { DashboardBuilder, DashboardCursorSync, type Dashboard, type Panel, type RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { navigation, titleOf, type DashboardUid } from './links.js';

export function pipemonDashboard(uid: DashboardUid, description: string): DashboardBuilder {
  return new DashboardBuilder(titleOf(uid))
    .uid(uid)
    .description(description)
    .tags(['pipemon'])
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair)
    .links(navigation(uid));
}

/**
 * The dashboard as JSON. Panel ids are numbered in layout order: Grafana needs them unique, and links
 * with `viewPanel` need them stable.
 */
export function finish(builder: DashboardBuilder): Dashboard {
  const dashboard = builder.build();
  let id = 0;
  const number = (panel: Panel | RowPanel) => {
    panel.id = ++id;
    if (panel.type === 'row') (panel as RowPanel).panels.forEach(number);
  };
  dashboard.panels?.forEach(number);
  return dashboard;
}
