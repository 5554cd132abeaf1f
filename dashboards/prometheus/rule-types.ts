/** The shape of a Prometheus rule file (prometheus.io/docs/prometheus/latest/configuration/recording_rules). */

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup<Rule> {
  name: string;
  rules: Rule[];
}

export interface RuleFile<Rule> {
  groups: RuleGroup<Rule>[];
}
