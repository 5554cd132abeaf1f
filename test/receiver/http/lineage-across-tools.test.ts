/**
 * One lineage graph across tools, each the real thing, against the real receiver: a Node SDK pipeline loads a
 * table into a PostgreSQL database and names it as its stage's target; dbt, through its OpenLineage wrapper
 * `dbt-ol` (versions pinned in test/fixtures/dbt-requirements.txt, installed by .ci/run), builds the two models
 * of test/fixtures/dbt/ from that table on the same server; and a job sent through the real OpenLineage Python
 * client reads dbt's last model. Each names the tables as OpenLineage does (namespace `postgres://host:port`,
 * name `db.schema.table`), so the receiver keeps one dataset per table and the lineage API walks from the SDK
 * pipeline through dbt's models to the job, and back.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect } from 'vitest';
import { run, shutdown, start } from '../../../sdk/index.js';
import { backends } from '../../helpers/backends.js';
import { openlineageClient } from '../../helpers/openlineage.js';
import { CACHE, described, installed, pinned, producerSuite, runProducer } from '../../helpers/producers.js';
import { fixturePath } from '../../helpers/repo.js';
import { required, withTools } from '../../helpers/tools.js';

const SUITE = 'test/receiver/http/lineage-across-tools.test.ts';
const OPENLINEAGE_DBT = pinned('dbt-requirements.txt', /^openlineage-dbt==(\S+)$/m);
const DBT_CORE = pinned('dbt-requirements.txt', /^dbt-core==(\S+)$/m);
const DBT_WHAT = `dbt-core ${DBT_CORE} with openlineage-dbt ${OPENLINEAGE_DBT}`;
const DBT_HINT = 'run .ci/run, which installs them (pinned in test/fixtures/dbt-requirements.txt) under ~/.cache/pipemon';
const dbtOl = installed(SUITE, DBT_WHAT, path.join(CACHE, `venv-dbt-${OPENLINEAGE_DBT}-${DBT_CORE}`), 'bin/dbt-ol', DBT_HINT);
const client = openlineageClient(SUITE);

// dbt parses its project and starts its adapter in seconds; the SDK run and the client's job in less.
const TEST_TIMEOUT_MS = 240_000;

const LOADER = 'orders-load';
// dbt-ol's job namespace (OPENLINEAGE_NAMESPACE) and its run's job, `dbt-run-<project>`: the pipeline.
const DBT = 'dbt/dbt-run-pipemon_fixture';
const REPORT = 'reports/orders_dashboard';
const REPORT_OUTPUT = 's3://reports/orders_daily.csv';

// One database server, the first: the receiver's database and the warehouse dbt builds in are two databases on it.
const backend = backends()[0]!;

describe(`one lineage graph from the Node SDK, dbt and the OpenLineage Python client on ${backend.name}`, () => {
  const { receiver, workDir, get } = producerSuite(async () => ({ databaseUrl: await backend.databaseUrl() }));
  let warehouse: URL;
  beforeAll(async () => {
    warehouse = new URL(await backend.databaseUrl());
  });

  /** As OpenLineage names a table of the warehouse: what dbt-ol sends, and what the SDK pipeline and the job name. */
  const namespace = () => `postgres://${warehouse.hostname}:${warehouse.port}`;
  const table = (name: string) => `${warehouse.pathname.slice(1)}.public.${name}`;
  const dataset = (name: string) => `${namespace()}/${table(name)}`;
  /** dbt-ol names a model's job `db.schema.project.model`: the stage of dbt's run that builds it. */
  const model = (name: string) => table(`pipemon_fixture.${name}`);

  /** The SDK pipeline: a stage that creates and fills raw_orders, naming it as its target. */
  async function loadOrders(): Promise<string> {
    start({ endpoint: receiver().url, apiKey: receiver().key, spoolDir: workDir('sdk-spool'), flushMs: 20, handleExit: false, heartbeatSeconds: 0 });
    let runId = '';
    await run(LOADER, async (runner) => {
      runId = runner.runId;
      await runner.stage('load', { target: { namespace: namespace(), collection: table('raw_orders') } }, async (stage) => {
        const db = new pg.Client({ connectionString: warehouse.toString() });
        await db.connect();
        try {
          await db.query(`CREATE TABLE raw_orders (id int, amount numeric, ordered_on date);
            INSERT INTO raw_orders VALUES (1, 10, '2026-12-01'), (2, -1, '2026-12-01'), (3, 30, '2026-12-02')`);
        } finally {
          await db.end();
        }
        stage.rows({ written: 3 });
      });
    });
    const report = await shutdown(10_000);
    expect(report?.message, 'the SDK delivered everything').toBeNull();
    return runId;
  }

  /** `dbt-ol run` on a copy of test/fixtures/dbt/ (dbt writes target/ and logs/ beside the project), sending to the receiver. */
  async function dbtRun(): Promise<void> {
    const bin = required(DBT_WHAT, dbtOl, DBT_HINT);
    const dir = workDir('dbt');
    fs.cpSync(fixturePath('dbt'), dir, { recursive: true });
    const producer = await runProducer(bin, ['run', '--project-dir', dir, '--profiles-dir', dir], {
      cwd: dir,
      env: {
        // dbt-ol runs `dbt` from its venv.
        PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}`,
        // An empty home, so that no ~/.dbt or openlineage.yml of the machine applies.
        HOME: dir,
        DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
        DBT_PG_HOST: warehouse.hostname,
        DBT_PG_PORT: warehouse.port,
        DBT_PG_USER: decodeURIComponent(warehouse.username),
        DBT_PG_PASSWORD: decodeURIComponent(warehouse.password),
        DBT_PG_DATABASE: warehouse.pathname.slice(1),
        // The OpenLineage client's own settings, as a user sets them.
        OPENLINEAGE_URL: receiver().url,
        OPENLINEAGE_API_KEY: receiver().key,
        OPENLINEAGE_NAMESPACE: 'dbt',
      },
    });
    // dbt-ol sends its events after dbt ends, each acknowledged after COMMIT: all are stored when it exits.
    expect(producer.code, described(producer)).toBe(0);
  }

  /** The job downstream, through the real OpenLineage Python client: reads orders_daily, writes a report. */
  async function reportJob(): Promise<void> {
    const python = required(`the OpenLineage Python client ${client.version}`, client.python, client.hint);
    const [jobNamespace, job] = REPORT.split('/') as [string, string];
    const dir = workDir('openlineage-job');
    const producer = await runProducer(
      python,
      [fixturePath('openlineage', 'job_run.py'), receiver().url, receiver().key, jobNamespace, job, 'in', namespace(), table('orders_daily'), 'out', 's3://reports', 'orders_daily.csv'],
      { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } },
    );
    expect(producer.code, described(producer)).toBe(0);
  }

  /** The graph around `pipeline`, its nodes and edges by name: `pipeline` for a pipeline, the dataset's name for a dataset. */
  async function graphOf(pipeline: string, direction: 'up' | 'down' | 'both', depth: number) {
    const graph = await get(`/api/v1/lineage?pipeline=${encodeURIComponent(pipeline)}&direction=${direction}&depth=${depth}`);
    const names = new Map<string, string>(graph.nodes.map((node: any) => [node.id, node.kind === 'pipeline' ? node.pipeline.pipeline : node.dataset.dataset]));
    return {
      hops: Object.fromEntries(graph.nodes.map((node: any) => [names.get(node.id), node.hops])),
      edges: graph.edges.map((edge: any) => `${names.get(edge.source)} -> ${names.get(edge.target)}`).sort(),
      stagesOf: (source: string, target: string) =>
        graph.edges.find((edge: any) => names.get(edge.source) === source && names.get(edge.target) === target)?.stages,
      truncated: graph.truncated,
    };
  }

  withTools(dbtOl, client.python)(
    'joins the SDK pipeline, dbt’s models and the job downstream into one graph, by the tables they name alike',
    async () => {
      const loaderRun = await loadOrders();
      await dbtRun();
      await reportJob();

      // dbt's datasets as OpenLineage names them, each table one dataset whoever named it.
      const { items } = await get(`/api/v1/datasets?namespace=${encodeURIComponent(namespace())}`);
      const listed = Object.fromEntries(items.map((item: any) => [item.name, item]));
      expect(Object.keys(listed).sort()).toEqual([table('orders_daily'), table('raw_orders'), table('stg_orders')]);
      expect(listed[table('raw_orders')]).toMatchObject({
        dataset: dataset('raw_orders'),
        namespace: namespace(),
        writers: [LOADER],
        readers: [DBT],
        last_write: { run_id: loaderRun, pipeline: LOADER, stage: 'load', rows: 3 },
      });
      expect(listed[table('stg_orders')]).toMatchObject({ writers: [DBT], readers: [DBT], last_write: { pipeline: DBT, rows: 2 } });
      expect(listed[table('orders_daily')]).toMatchObject({ writers: [DBT], readers: [REPORT], last_write: { pipeline: DBT, rows: 2 } });

      // dbt's dataset facets kept: the schema its project documents, and the column lineage dbt-ol parsed from the SQL.
      const daily = await get(`/api/v1/datasets/${listed[table('orders_daily')].id}`);
      expect(daily.schema_fields.map((field: any) => [field.name, field.type])).toEqual([['ordered_on', 'date'], ['orders', 'bigint'], ['amount', 'numeric']]);
      expect(daily.column_lineage.amount.inputFields).toEqual([
        expect.objectContaining({ namespace: namespace(), name: table('stg_orders'), field: 'amount' }),
      ]);

      // From the SDK pipeline: dbt one pipeline hop away, the report job two, and what the job writes at the third.
      const uses = [
        `${LOADER} -> ${dataset('raw_orders')}`,
        `${dataset('raw_orders')} -> ${DBT}`,
        `${DBT} -> ${dataset('stg_orders')}`,
        `${dataset('stg_orders')} -> ${DBT}`,
        `${DBT} -> ${dataset('orders_daily')}`,
        `${dataset('orders_daily')} -> ${REPORT}`,
      ];
      const down = await graphOf(LOADER, 'both', 3);
      expect(down.hops).toMatchObject({ [LOADER]: 0, [DBT]: 1, [REPORT]: 2 });
      expect(down.edges).toEqual([...uses, `${REPORT} -> ${REPORT_OUTPUT}`].sort());
      expect(down.truncated).toBe(false);
      // dbt's models are the stages of its run: each reads and writes its own tables.
      expect(down.stagesOf(dataset('raw_orders'), DBT)).toEqual([model('stg_orders')]);
      expect(down.stagesOf(DBT, dataset('stg_orders'))).toEqual([model('stg_orders')]);
      expect(down.stagesOf(dataset('stg_orders'), DBT)).toEqual([model('orders_daily')]);
      expect(down.stagesOf(DBT, dataset('orders_daily'))).toEqual([model('orders_daily')]);

      // And up from the job: the same tables lead back to the SDK pipeline, two hops away.
      const up = await graphOf(REPORT, 'up', 2);
      expect(up.hops).toMatchObject({ [REPORT]: 0, [DBT]: 1, [LOADER]: 2 });
      expect(up.edges).toEqual([...uses].sort());
    },
    TEST_TIMEOUT_MS,
  );
});
