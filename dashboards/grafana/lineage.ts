/**
 * Lineage: which datasets each pipeline reads and writes, as a node graph (pipelines coloured by their
 * status, datasets by their freshness), and each dataset's freshness: whether a writer wrote it
 * successfully within the late rule's window of its expected interval (contract/pipeline-facts.ts freshnessOf). Read from the lineage tables
 * (receiver/storage/lineage-rows.ts) around the selected pipelines: the datasets they read or write, and
 * every pipeline that reads or writes those.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { lastWriteOf, pipelineUpstreams } from '../../contract/lineage-sql.js';
import { pipelineFacts } from '../../contract/pipeline-facts.js';
import { overdueSql, statusSql } from './attention.js';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { pipelineOrAllIs, tenantIs, withTenant } from './filters.js';
import { UID, linkTo } from './links.js';
import { sql, sqlText } from './queries-builders.js';
import { FRESHNESS_MAPPINGS, STATUS_MAPPINGS, cssColourSql, freshnessColumn, linkColumn, nodeGraphPanel, tablePanel, unitColumn } from './panels.js';
import { pipelineVariable, tenantVariable } from './variables.js';

/** Freshness words, what needs attention first. */
const FRESHNESS = ['stale', 'unknown', 'fresh'] as const;

/** The node ids of a pipeline (of a tenant) and of a dataset (dataset_id is unique across tenants). */
const pipelineNode = (x: string) => `'pipeline:' || ${x}.tenant_id || ':' || ${x}.pipeline`;
const datasetNode = (x: string) => `'dataset:' || ${x}.dataset_id`;

const utc = (at: string) => `to_char(${at} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')`;

/**
 * `around`: the datasets the selected pipelines read or write (every dataset with All); `edges`: the
 * pipeline → dataset (write) and dataset → pipeline (read) edges of those datasets in the selected tenants,
 * stages aggregated, each with its latest run's rows.
 */
const AROUND = sqlText`
  WITH tenant_edges AS (
    SELECT e.tenant_id, t.name AS tenant, e.pipeline, e.direction, e.dataset_id, max(e.last_at) AS last_at,
           (array_agg(e.last_run_id ORDER BY e.last_at DESC))[1] AS last_run_id,
           (array_agg(e.rows ORDER BY e.last_at DESC))[1] AS rows
      FROM lineage_edges e
      JOIN tenants t ON t.tenant_id = e.tenant_id
     WHERE ${tenantIs('t')}
     GROUP BY e.tenant_id, t.name, e.pipeline, e.direction, e.dataset_id
  ),
  around AS (
    SELECT DISTINCT tenant_id, dataset_id FROM tenant_edges WHERE ${pipelineOrAllIs('pipeline')}
  ),
  edges AS (
    SELECT e.* FROM tenant_edges e JOIN around USING (tenant_id, dataset_id)
  )`;

/**
 * Dataset `d`'s freshness as contract/pipeline-facts.ts freshnessOf() judges it, in SQL: unknown where the
 * rule cannot judge the writer (no expected interval, no ended run), stale once overdue or when no write
 * of it ever happened (contract/lineage-sql.ts lastWriteOf), else fresh.
 */
const freshnessSql = (d: string) => `CASE
  WHEN ${d}.expected_interval IS NULL OR ${d}.last_end IS NULL THEN 'unknown'
  WHEN ${d}.last_write IS NULL OR ${overdueSql(`${d}.last_write`, `${d}.expected_interval`)} THEN 'stale'
  ELSE 'fresh'
END`;

/**
 * After AROUND: `pipelines` and their `facts` (contract/pipeline-facts.ts, over all their runs, as the API
 * judges them; computed once, not per dataset), and `freshness`: each dataset around with its writers, its
 * last successful write, and the writer judged: the one of that write, else (never written successfully)
 * a writer the rule can judge, if any.
 */
const FRESHNESS_CTES = sqlText`
  pipelines AS (
    SELECT DISTINCT tenant_id, tenant, pipeline FROM edges
  ),
  facts AS MATERIALIZED (
    ${pipelineFacts()}
  ),
  writers AS (
    SELECT DISTINCT tenant_id, dataset_id, pipeline FROM edges WHERE direction = 'write'
  ),
  last_writes AS (
    SELECT DISTINCT ON (a.tenant_id, a.dataset_id) a.tenant_id, a.dataset_id, w.pipeline AS writer, l.at AS last_write, l.run_id AS last_run,
           f.expected_interval, f.last_end
      FROM around a
      LEFT JOIN LATERAL (
        ${lastWriteOf('a')}
      ) l ON true
      LEFT JOIN writers w ON w.tenant_id = a.tenant_id AND w.dataset_id = a.dataset_id AND w.pipeline = COALESCE(l.pipeline, w.pipeline)
      LEFT JOIN facts f ON f.tenant_id = w.tenant_id AND f.pipeline = w.pipeline
     ORDER BY a.tenant_id, a.dataset_id, (f.expected_interval IS NOT NULL AND f.last_end IS NOT NULL) DESC, w.pipeline
  ),
  freshness AS (
    SELECT l.*, ${freshnessSql('l')} AS freshness,
           (SELECT string_agg(w.pipeline, ', ' ORDER BY w.pipeline) FROM writers w WHERE w.tenant_id = l.tenant_id AND w.dataset_id = l.dataset_id) AS writers
      FROM last_writes l
  )`;

const freshnessRankSql = (freshness: string) => `array_position(ARRAY[${FRESHNESS.map((word) => `'${word}'`).join(', ')}], ${freshness})`;

/** The nodes frame: pipelines coloured by their status, datasets by their freshness. */
const NODES_FRAME = sqlText`
  ${AROUND},
  ${FRESHNESS_CTES},
  judged AS (
    SELECT p.tenant_id, p.tenant, p.pipeline, f.last_success, ${statusSql('f')} AS status
      FROM pipelines p
      LEFT JOIN facts f ON f.tenant_id = p.tenant_id AND f.pipeline = p.pipeline
  ),
  upstreams AS (
    SELECT u.tenant_id, u.pipeline, string_agg(u.upstream, ', ' ORDER BY u.upstream) AS upstream
      FROM (${pipelineUpstreams('(r.tenant_id, r.pipeline) IN (SELECT tenant_id, pipeline FROM pipelines)')}) u
     GROUP BY u.tenant_id, u.pipeline
  )
  SELECT ${pipelineNode('j')} AS id,
         ${withTenant('j.pipeline', 'j.tenant')} AS title,
         'pipeline' AS subtitle,
         j.status AS mainstat,
         ${cssColourSql('j.status', STATUS_MAPPINGS)} AS color,
         ${utc('j.last_success')} AS "detail__Last success",
         u.upstream AS "detail__Upstream"
    FROM judged j
    LEFT JOIN upstreams u ON u.tenant_id = j.tenant_id AND u.pipeline = j.pipeline
  UNION ALL
  SELECT ${datasetNode('f')},
         d.name,
         ${withTenant('d.namespace', 't.name')},
         f.freshness,
         ${cssColourSql('f.freshness', FRESHNESS_MAPPINGS)},
         ${utc('f.last_write')},
         f.writers
    FROM freshness f
    JOIN datasets d ON d.tenant_id = f.tenant_id AND d.dataset_id = f.dataset_id
    JOIN tenants t ON t.tenant_id = f.tenant_id`;

/** The edges frame: writes from pipeline to dataset, reads from dataset to pipeline. */
const EDGES_FRAME = sqlText`
  ${AROUND}
  SELECT ends.source || '>' || ends.target AS id, ends.source, ends.target,
         COALESCE(e.rows || ' rows', '') AS mainstat,
         ${utc('e.last_at')} AS secondarystat,
         e.last_run_id AS "detail__Last run"
    FROM edges e
    CROSS JOIN LATERAL (
      SELECT CASE WHEN e.direction = 'write' THEN ${pipelineNode('e')} ELSE ${datasetNode('e')} END AS source,
             CASE WHEN e.direction = 'write' THEN ${datasetNode('e')} ELSE ${pipelineNode('e')} END AS target) ends`;

/** The freshness table: stale first, then the longest unwritten. */
const FRESHNESS_TABLE = sqlText`
  ${AROUND},
  ${FRESHNESS_CTES}
  SELECT d.dataset AS "Dataset",
         t.name AS "Tenant",
         f.freshness AS "Freshness",
         f.writers AS "Writers",
         f.writer AS "Writer",
         f.last_write AS "Last write",
         f.last_run AS "Run",
         f.expected_interval AS "Expected interval",
         extract(epoch FROM now() - f.last_write) AS "Since write"
    FROM freshness f
    JOIN datasets d ON d.tenant_id = f.tenant_id AND d.dataset_id = f.dataset_id
    JOIN tenants t ON t.tenant_id = f.tenant_id
   ORDER BY ${freshnessRankSql('f.freshness')}, f.last_write NULLS FIRST, d.dataset`;

const TO_WRITER = linkTo(UID.pipeline, 'Pipeline ${__value.text}', ['var-tenant=${__data.fields.Tenant:percentencode}', 'var-pipeline=${__value.raw:percentencode}']);
const TO_RUN = linkTo(UID.run, 'Run ${__value.raw}', [
  'var-tenant=${__data.fields.Tenant:percentencode}',
  'var-pipeline=${__data.fields.Writer:percentencode}',
  'var-run_id=${__value.raw:percentencode}',
]);

export function lineageDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.lineage, 'Which datasets each pipeline reads and writes, and whether each dataset is fresh.')
    .withVariable(tenantVariable(true))
    .withVariable(pipelineVariable({ multi: true, sqlAll: true }))

    .withRow(new RowBuilder('Lineage'))
    .withPanel(
      nodeGraphPanel('Lineage graph', sql(NODES_FRAME, 'table', 'nodes'), sql(EDGES_FRAME, 'table', 'edges'), {
        description:
          'Pipelines and the datasets they write (pipeline → dataset) and read (dataset → pipeline), around the selected pipelines. A pipeline is coloured by its status, a dataset by its freshness.',
      }),
    )

    .withRow(new RowBuilder('Freshness'))
    .withPanel(
      tablePanel('Dataset freshness', sql(FRESHNESS_TABLE), {
        size: { w: 24, h: 10 },
        description:
          'Each dataset around the selected pipelines: its writers, the last write that happened (its run, or for a stage\'s write its stage, ended in success), and the expected interval of the writer that made it. Stale once that write is older than the late rule allows (as a late pipeline), or when no write succeeded; unknown when the writer has no expected interval or no ended run.',
      })
        .overrideByName('Freshness', freshnessColumn())
        .overrideByName('Writer', linkColumn(TO_WRITER))
        .overrideByName('Run', linkColumn(TO_RUN))
        .overrideByName('Expected interval', unitColumn('s'))
        .overrideByName('Since write', unitColumn('s')),
    );
  return finish(builder);
}
