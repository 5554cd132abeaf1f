/**
 * Every pipemon dashboard, and the files build.ts writes them to (dashboards/grafana/dashboards/, read
 * by the dashboard provider in provisioning/dashboards/pipemon.yaml).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { healthDashboard } from './health.js';
import { lineageDashboard } from './lineage.js';
import { logsDashboard } from './logs.js';
import { overviewDashboard } from './overview.js';
import { pipelineDashboard } from './pipeline.js';
import { runDashboard } from './run.js';

export function buildDashboards(): Dashboard[] {
  return [overviewDashboard(), pipelineDashboard(), runDashboard(), logsDashboard(), lineageDashboard(), healthDashboard()];
}

/** File name → content, as committed: one `<uid>.json` per dashboard. */
export function renderDashboards(dashboards: Dashboard[] = buildDashboards()): Map<string, string> {
  return new Map(dashboards.map((dashboard) => [`${dashboard.uid}.json`, `${JSON.stringify(dashboard, null, 2)}\n`]));
}
