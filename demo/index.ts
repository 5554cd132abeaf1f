/**
 * `pipemon demo`: realistic pipelines that feed a running receiver, for a first look at the dashboards
 * and alerts, and for the tests that check them against real Prometheus and PostgreSQL.
 */
export { DemoConfigError, ReceiverError } from './connection.js';
export { DeliveryError } from './export.js';
export { runDemo, DEFAULT_DAYS, DEFAULT_SEED, MAX_DAYS, type DemoOptions, type DemoSummary } from './run-demo.js';
export { DEMO_DATASETS, DEMO_PIPELINES, SCENARIOS, type Scenario } from './scenarios.js';
export type { PipelineTally, RunOutcome, Tally } from './tally.js';
