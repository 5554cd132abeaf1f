/** The query API's answers as the pages read them (the OpenAPI document at /api/v1/openapi.json has them all). */

export type Result = 'success' | 'failure' | 'error' | 'timeout' | 'cancellation' | 'skip';
export type RunState = 'running' | 'ended';

export interface Rows {
  read: number | null;
  written: number | null;
  rejected: number | null;
}

export interface RunError {
  type: string | null;
  message: string | null;
}

export interface Target {
  namespace: string | null;
  collection: string | null;
}

export interface Figures {
  runs: number;
  running: number;
  ended: number;
  successes: number;
  errors: number;
  success_rate: number | null;
  duration_seconds: { mean: number | null; p95: number | null };
  rows: { read: number; written: number; rejected: number };
}

export interface Overview extends Figures {
  days: number;
  since: string;
}

export interface RecentRun {
  run_id: string;
  state: RunState;
  result: Result | null;
  started_at: string;
  duration_seconds: number | null;
  stuck: boolean;
}

export interface PipelineFigures extends Figures {
  pipeline: string;
  owner: string;
  last_success_at: string | null;
  last_run_ended_at: string | null;
  expected_interval_seconds: number | null;
  consecutive_failures: number;
  late: boolean;
  stuck: boolean;
  warning: boolean;
  data_health: DataHealth;
  recent_runs: RecentRun[];
}

/** The latest ended run as the data-health alerts read it. */
export interface DataHealth {
  run_id: string | null;
  failed_checks: number;
  failed_check_names: string[];
  rows_rejected: number | null;
  rows_written: number | null;
  zero_rows_written: boolean;
  usual_rows_written: number | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Run {
  run_id: string;
  pipeline: string;
  state: RunState;
  result: Result | null;
  started_at: string | null;
  start_estimated: boolean;
  ended_at: string | null;
  duration_seconds: number | null;
  rows: Rows;
  error: RunError | null;
  target: Target | null;
  attributes: Record<string, unknown>;
  /** The run's own end where it shows its stage's failure or error. */
  reported: { result: Result | null; error: RunError | null } | null;
  service_name: string | null;
  source_system: string | null;
  trace_id: string | null;
  last_seen_at: string | null;
}

export interface Stage {
  stage: string;
  stage_run_id: string;
  state: RunState;
  result: Result | null;
  started_at: string | null;
  start_estimated: boolean;
  ended_at: string | null;
  duration_seconds: number | null;
  rows: Rows;
  error: RunError | null;
  target: Target | null;
  failure_allowed: boolean;
}

export interface Check {
  timestamp: string;
  name: unknown;
  passed: unknown;
  details: unknown;
  stage: string | null;
}

export interface Log {
  timestamp: string;
  severity_number: number;
  severity_text: string;
  body: string | null;
  event_name: string;
  service_name: string;
  pipeline: string | null;
  run_id: string | null;
  stage: string | null;
  attributes: Record<string, unknown>;
}

export interface RunDetail extends Run {
  stages: Stage[];
  checks: Check[];
  logs: Page<Log>;
  stuck: boolean;
}
