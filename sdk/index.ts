/**
 * pipemon/sdk: what a pipeline imports.
 *
 *   import { start, run } from 'pipemon/sdk';
 *   start({ serviceName: 'orders-etl' });            // or only OTEL_* / PIPEMON_* variables
 *   await run('orders', async (r) => {
 *     await r.stage('load', { target: { namespace: 'dw', collection: 'orders' } }, async (s) => {
 *       s.rows({ read: 120, written: 118, rejected: 2 });
 *     });
 *   });
 */
export * from '../contract/vocabulary.js';
export { start, shutdown, pipemon, type Pipemon } from './activity/telemetry.js';
export type { StartOptions } from './delivery/config.js';
export {
  run,
  currentActivity,
  TimeoutError,
  type Activity,
  type ActivityLog,
  type ActivityOptions,
  type Dataset,
  type Rows,
  type Run,
  type RunOptions,
  type Stage,
  type StageOptions,
  type Target,
} from './activity/run.js';
export { ManualClock, type Clock } from './activity/clock.js';
export * as checks from './checks.js';
export { serialize, isSensitiveKey, type SerializeOptions } from './activity/serialize.js';
export { DEFAULT_SENSITIVE, type LogLevel } from '../contract/record-rules.js';
export type { DeliveryFailure, DeliveryStats } from './delivery/delivery-stats.js';
export type { DeliveryReport } from './delivery/delivery-report.js';
export { monitored, monitor, type MonitorOptions } from './monitored.js';
export { pipemonMiddleware, type MiddlewareOptions } from './express.js';
export { execMonitored, type ExecOptions } from './exec.js';
