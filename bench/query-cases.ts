/**
 * What bench:query's cases share: the goals they are held to, and a run as they sample one. The API
 * cases themselves are generated from the route table (query-routes.ts).
 */

/** The query goals, at 10 M records: every list, detail and overview; body search. */
export const GOAL_MS = { query: 100, search: 300 };

export interface SampledRun {
  run_id: string;
  pipeline: string;
  started_at: Date;
}
