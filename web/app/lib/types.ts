/**
 * The names the pages use for parts of the query API's answers. The answers themselves are generated
 * from the receiver's JSON Schemas into api-types.ts; these only name what those already say.
 */
import type { Dataset, Run } from './api-types.js';

export type {
  Check,
  Dataset,
  DatasetDetail,
  DatasetEdge,
  DatasetPage,
  DatasetWrite,
  Impact,
  LineageEdge,
  LineageGraph,
  LineageNode,
  Log,
  LogPage,
  Overview,
  PipelineFigures,
  RecentRun,
  Run,
  RunDataset,
  RunCheck,
  RunDetail,
  RunStage,
  Stage,
} from './api-types.js';

export type Result = NonNullable<Run['result']>;
export type RunState = Run['state'];
export type RunError = NonNullable<Run['error']>;
export type Freshness = Dataset['freshness'];
