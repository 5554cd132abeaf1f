/**
 * When a pipeline needs someone: late, stuck or failing, as PromQL over the gauges the receiver reads
 * from the database at each scrape, with the thresholds of the alert rules' config, so that a dashboard
 * shows as late or stuck what the alerts call so.
 */
import { config } from '../prometheus/config.js';

/** Late: no success within this many expected intervals (declared by the pipeline, or inferred). */
export const LATE_AFTER_INTERVALS = config.late.expectedIntervals;

/** Stuck: a running run silent this long. */
export const STUCK_AFTER_SECONDS = config.stuck.afterSeconds;

/** Adds the owner label, as the alert rules do for routing. */
export const withOwner = (expr: string, selector: string) =>
  `(${expr}) * on (tenant, pipeline) group_left (owner) pipemon_pipeline_info{${selector}}`;

/** Ended runs that failed since the last success, for the pipelines that have any. */
export const failing = (selector: string) => `pipemon_pipeline_consecutive_failures{${selector}} > 0`;

/** Expected intervals elapsed since the last success, for the late pipelines. */
export const late = (selector: string) =>
  `(time() - pipemon_pipeline_last_success_timestamp_seconds{${selector}}) / pipemon_pipeline_expected_interval_seconds{${selector}} > ${LATE_AFTER_INTERVALS}`;

/** Seconds since the oldest running run's last record (start or heartbeat), for the stuck ones. */
export const stuck = (selector: string) =>
  `time() - pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds{${selector}} > ${STUCK_AFTER_SECONDS}`;
