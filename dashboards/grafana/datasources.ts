/**
 * The two datasources every dashboard queries, by the uids that provisioning/datasources/pipemon.yaml
 * gives them: Prometheus for the live state (and what alerts see), PostgreSQL for history, which
 * Prometheus' counters lose at each receiver restart.
 */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

export const PROMETHEUS = { type: 'prometheus', uid: 'pipemon-prometheus' } as const satisfies DataSourceRef;

/** `grafana-postgresql-datasource` is the plugin id since Grafana 10.3 (`postgres` before). */
export const POSTGRES = { type: 'grafana-postgresql-datasource', uid: 'pipemon-postgres' } as const satisfies DataSourceRef;

export const DATASOURCES = [PROMETHEUS, POSTGRES] as const;
