/**
 * The real OpenLineage producers against the real receiver: PySpark with the OpenLineage Spark listener, and
 * `airflow dags test` with Airflow's OpenLineage provider, each sending over HTTP with the receiver's API key as
 * in production; then the runs the API shows of what they sent. The jobs and the DAG are the scripts that
 * recorded test/fixtures/openlineage/*.jsonl (its recorders/ folder), at the versions pinned in
 * test/fixtures/spark-requirements.txt and airflow-requirements.txt, which .ci/run installs under ~/.cache/pipemon.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { sleep } from '../../helpers/async.js';
import { CACHE, described, installed, pinned, producerSuite, runProducer, type Exit } from '../../helpers/producers.js';
import { fixturePath } from '../../helpers/repo.js';
import { receiverBackends } from '../../helpers/receiver.js';
import { required, tool, withTools } from '../../helpers/tools.js';

const SUITE = 'test/receiver/http/lineage-producers.test.ts';
const SCRIPTS = fixturePath('openlineage', 'recorders');
const INSTALL_HINT = 'run .ci/run, which installs them (pinned in test/fixtures/spark-requirements.txt and airflow-requirements.txt) under ~/.cache/pipemon';

const PYSPARK = pinned('spark-requirements.txt', /^pyspark==(\S+)$/m);
const [, LISTENER_ARTIFACT, LISTENER_VERSION] = pinned('spark-requirements.txt', /^# maven: (\S+)$/m).split(':');
const AIRFLOW = pinned('airflow-requirements.txt', /^apache-airflow==(\S+)$/m);
const PROVIDER = pinned('airflow-requirements.txt', /^apache-airflow-providers-openlineage==(\S+)$/m);

const SPARK_WHAT = `pyspark ${PYSPARK}`;
const LISTENER_WHAT = `the OpenLineage Spark listener ${LISTENER_VERSION}`;
const AIRFLOW_WHAT = `Airflow ${AIRFLOW} with apache-airflow-providers-openlineage ${PROVIDER}`;
const JAVA_HINT = 'install a JDK >= 17, which Spark 4 needs (Debian: openjdk-17-jre-headless)';
const sparkPython = installed(SUITE, SPARK_WHAT, path.join(CACHE, `venv-pyspark-${PYSPARK}`), 'bin/python', INSTALL_HINT);
const listenerJar = installed(
  SUITE,
  LISTENER_WHAT,
  path.join(CACHE, `openlineage-spark-${LISTENER_VERSION}`),
  `${LISTENER_ARTIFACT}-${LISTENER_VERSION}.jar`,
  INSTALL_HINT,
);
const java = tool(SUITE, 'java', JAVA_HINT);
const airflowBin = installed(SUITE, AIRFLOW_WHAT, path.join(CACHE, `venv-airflow-${AIRFLOW}-${PROVIDER}`), 'bin/airflow', INSTALL_HINT);

const TEST_TIMEOUT_MS = 300_000;
// The producers POST before they exit (Spark's listener synchronously, Airflow's provider from workers it waits
// for), so the events are in by then or within moments: 40 polls 250 ms apart is ample.
const POLLS = 40;
const POLL_MS = 250;

const stageOf = (run: any, name: string) => run.stages.find((stage: any) => stage.stage === name);
const summary = (run: any) =>
  [
    `  ${run.pipeline} ${run.run_id}: ${run.state} ${run.result} error=${JSON.stringify(run.error)}`,
    ...run.stages.map((stage: any) => `    stage ${stage.stage}: ${stage.state} ${stage.result} error=${JSON.stringify(stage.error)?.slice(0, 200)}`),
  ].join('\n');

// One database backend, the first: these tests spend most of a minute on each producer, and the events they
// send are decoded and rolled up alike on every backend (test/receiver/http/lineage.test.ts covers each one).
const backend = receiverBackends()[0]!;

describe(`real OpenLineage producers against the receiver on ${backend.name}`, () => {
  const { receiver, workDir, get } = producerSuite(() => backend.options());

  /** Every run the receiver lists, with its stages: what arrived, for a failure message. */
  async function arrived(): Promise<string> {
    const { items } = await get('/api/v1/runs?limit=50');
    const runs = await Promise.all(items.map((run: any) => get(`/api/v1/runs/${run.run_id}`)));
    return runs.length > 0 ? runs.map(summary).join('\n') : '  no run';
  }

  /** The pipeline's one run (with its stages) once `settled` holds of it; polled, as the events may still be on their way. */
  async function settledRun(pipeline: string, settled: (run: any) => boolean, producer: Exit): Promise<any> {
    let run: any = null;
    for (let poll = 0; poll < POLLS; poll++) {
      if (poll > 0) await sleep(POLL_MS);
      const { items } = await get(`/api/v1/runs?pipeline=${encodeURIComponent(pipeline)}`);
      if (items.length !== 1) continue;
      run = await get(`/api/v1/runs/${items[0].run_id}`);
      if (settled(run)) return run;
    }
    throw new Error(
      `${pipeline}: no settled run after ${(POLLS * POLL_MS) / 1000} s of polling. The receiver holds:\n${await arrived()}\n` +
        `The producer: ${described(producer)}`,
    );
  }

  /** Sum of the stages' rows.written, or null when none reported any: what the run rolls up when it reports none itself. */
  const stagesWritten = (run: any): number | null => {
    const reported = run.stages.map((stage: any) => stage.rows.written).filter((rows: unknown) => rows !== null);
    return reported.length > 0 ? reported.reduce((sum: number, rows: number) => sum + rows, 0) : null;
  };

  /**
   * The datasets the pipeline reads and writes as the lineage API shows them, one hop out: each edge as
   * `read|write <dataset>`, with its stages and the rows its last run reported; and each dataset as listed.
   */
  async function lineageOf(pipeline: string) {
    const query = `pipeline=${encodeURIComponent(pipeline)}`;
    const graph = await get(`/api/v1/lineage?${query}&direction=both&depth=1`);
    const named = new Map(graph.nodes.filter((node: any) => node.kind === 'dataset').map((node: any) => [node.dataset.id, node.dataset.dataset]));
    const edges = graph.edges
      .filter((edge: any) => edge.pipeline === pipeline)
      .map((edge: any) => ({ edge: `${edge.direction} ${named.get(edge.dataset_id)}`, stages: edge.stages, rows: edge.rows }));
    const { items } = await get(`/api/v1/datasets?${query}`);
    return { edges, datasets: Object.fromEntries(items.map((dataset: any) => [dataset.dataset, dataset])) };
  }

  /** spark_jobs.py SCENARIO in local mode, its listener posting to the receiver with the API key. */
  async function sparkJob(scenario: 'success' | 'udf-failure'): Promise<{ producer: Exit; dir: string }> {
    const python = required(SPARK_WHAT, sparkPython, INSTALL_HINT);
    const jar = required(LISTENER_WHAT, listenerJar, INSTALL_HINT);
    required('java', java, JAVA_HINT);
    const dir = workDir(`spark-${scenario}`);
    const producer = await runProducer(python, [path.join(SCRIPTS, 'spark_jobs.py'), scenario, receiver().url, jar, '--dir', dir, '--api-key', receiver().key], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}),
        // An empty home, so that no spark-defaults or openlineage.yml of the machine applies.
        HOME: dir,
        // The UDF's Python workers run the venv's Python, as the driver does (else `python3` on PATH).
        PYSPARK_PYTHON: python,
        // The driver binds to loopback, not to the machine's address.
        SPARK_LOCAL_IP: '127.0.0.1',
      },
    });
    return { producer, dir };
  }

  withTools(sparkPython, listenerJar, java)(
    'Spark: a job whose Python UDF fails shows failed with its error, although Spark ends the application with COMPLETE',
    async () => {
      const { producer, dir } = await sparkJob('udf-failure');
      expect(producer.code, described(producer)).toBe(1);
      const write = 'execute_insert_into_hadoop_fs_relation_command.out_checked';
      const schemaInference = 'map_partitions_sql_execution_map_partitions_file_scan';
      const run = await settledRun(
        'spark-fixtures/orders_udf_failure',
        (run) => run.state === 'ended' && stageOf(run, write)?.state === 'ended',
        producer,
      );
      const failure = `${summary(run)}\nThe producer: ${described(producer)}`;
      expect(run, failure).toMatchObject({ state: 'ended', result: 'failure', source_system: 'openlineage', reported: { result: 'success' } });
      expect(run.error?.message, failure).toContain('ValueError: bad row 3');
      // The write job sends FAIL (with spark.exception) then COMPLETE: the failure stays.
      expect(stageOf(run, write), failure).toMatchObject({ state: 'ended', result: 'failure' });
      expect(stageOf(run, write).error.message, failure).toContain('ValueError: bad row 3');
      // Schema inference's RDD job sends a START only; the application's end closes it.
      expect(stageOf(run, schemaInference), failure).toMatchObject({ state: 'ended', result: null, error: { type: 'pipemon.no_end_reported' } });
      expect(run.rows.written, failure).toBe(stagesWritten(run));
      // The failed write is in the graph (it was declared), but is no write that counts.
      const { edges, datasets } = await lineageOf(run.pipeline);
      const [input, output] = [`file://${dir}/data/orders.csv`, `file://${dir}/out/checked`];
      expect(edges, failure).toContainEqual(expect.objectContaining({ edge: `read ${input}`, stages: expect.arrayContaining([write]) }));
      expect(edges, failure).toContainEqual({ edge: `write ${output}`, stages: [write], rows: null });
      expect(datasets[output], failure).toMatchObject({ namespace: 'file', name: `${dir}/out/checked`, writers: [run.pipeline], last_write: null });
    },
    TEST_TIMEOUT_MS,
  );

  withTools(sparkPython, listenerJar, java)(
    'Spark: a job that succeeds shows success with the rows its write reported',
    async () => {
      const { producer, dir } = await sparkJob('success');
      expect(producer.code, described(producer)).toBe(0);
      const write = 'execute_insert_into_hadoop_fs_relation_command.out_big_orders';
      const run = await settledRun('spark-fixtures/orders_filter', (run) => run.state === 'ended' && stageOf(run, write)?.state === 'ended', producer);
      const failure = `${summary(run)}\nThe producer: ${described(producer)}`;
      expect(run, failure).toMatchObject({ state: 'ended', result: 'success', error: null, start_estimated: false });
      expect(stageOf(run, write), failure).toMatchObject({ result: 'success', rows: { written: 3 } });
      expect(run.rows.written, failure).toBe(3);
      expect(run.rows.written, failure).toBe(stagesWritten(run));
      // Its input and output as datasets (file:// and the path, as OpenLineage names them), with the rows written.
      const { edges, datasets } = await lineageOf(run.pipeline);
      const [input, output] = [`file://${dir}/data/orders.csv`, `file://${dir}/out/big_orders`];
      expect(edges, failure).toContainEqual(expect.objectContaining({ edge: `read ${input}`, stages: expect.arrayContaining([write]) }));
      expect(edges, failure).toContainEqual({ edge: `write ${output}`, stages: [write], rows: 3 });
      expect(datasets[input], failure).toMatchObject({ namespace: 'file', name: `${dir}/data/orders.csv`, readers: [run.pipeline], writers: [] });
      expect(datasets[output], failure).toMatchObject({ writers: [run.pipeline], last_write: { run_id: run.run_id, stage: write, rows: 3 } });
    },
    TEST_TIMEOUT_MS,
  );

  withTools(airflowBin)(
    'Airflow: `airflow dags test` of a DAG whose load task fails shows failed with the task error, started when the DAG run started',
    async () => {
      const airflow = required(AIRFLOW_WHAT, airflowBin, INSTALL_HINT);
      const dir = workDir('airflow');
      const home = path.join(dir, 'airflow');
      fs.mkdirSync(path.join(home, 'dags'), { recursive: true });
      fs.copyFileSync(path.join(SCRIPTS, 'ol_fixture_dags.py'), path.join(home, 'dags', 'ol_fixture_dags.py'));
      fs.writeFileSync(path.join(dir, 'in.csv'), 'id,amount\n1,10\n2,20\n');
      const env = {
        PATH: `${path.dirname(airflow)}${path.delimiter}${process.env.PATH}`,
        // An empty home and AIRFLOW_HOME of its own (SQLite), so that nothing of the machine's applies.
        HOME: dir,
        AIRFLOW_HOME: home,
        AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
        AIRFLOW__OPENLINEAGE__NAMESPACE: 'airflow-fixtures',
        AIRFLOW__OPENLINEAGE__TRANSPORT: JSON.stringify({ type: 'http', url: receiver().url, auth: { type: 'api_key', apiKey: receiver().key } }),
        // Where the DAG's tasks read and name their files.
        OL_FIXTURE_DIR: dir,
      };
      const migrate = await runProducer(airflow, ['db', 'migrate'], { cwd: dir, env });
      expect(migrate.code, described(migrate)).toBe(0);
      const producer = await runProducer(airflow, ['dags', 'test', 'ol_fixture_failure'], { cwd: dir, env });
      expect(producer.code, described(producer)).toBe(1);
      // The DAG run's FAIL comes from `airflow dags test` itself, the tasks' events from their task runner: wait for all.
      const run = await settledRun(
        'airflow-fixtures/ol_fixture_failure',
        (run) => run.state === 'ended' && ['extract', 'load'].every((name) => stageOf(run, name)?.state === 'ended'),
        producer,
      );
      const failure = `${summary(run)}\nThe producer: ${described(producer)}`;
      // No DAG-run START under `dags test`: the run starts when the DAG run did (its airflowDagRun facet).
      expect(run, failure).toMatchObject({
        state: 'ended',
        result: 'failure',
        error: { message: 'warehouse refused 2 rows' },
        reported: { error: { message: 'task_failure' } },
        start_estimated: true,
      });
      expect(run.duration_seconds, failure).toBeGreaterThan(0);
      expect(stageOf(run, 'extract'), failure).toMatchObject({ state: 'ended', result: 'success', error: null });
      expect(stageOf(run, 'load'), failure).toMatchObject({ state: 'ended', result: 'failure', error: { message: 'warehouse refused 2 rows' } });
      // Each task's inlets and outlets as datasets: Airflow's File sends namespace `file://` and the path without
      // its leading slash, named as Spark's `file` and the whole path would be.
      const { edges, datasets } = await lineageOf(run.pipeline);
      const file = (name: string) => `file://${dir}/${name}`;
      expect(edges.map((edge: any) => [edge.edge, edge.stages]).sort(), failure).toEqual(
        [
          [`read ${file('in.csv')}`, ['extract']],
          [`write ${file('staged.csv')}`, ['extract']],
          [`read ${file('staged.csv')}`, ['load']],
          [`write ${file('warehouse/orders.csv')}`, ['load']],
        ].sort(),
      );
      expect(datasets[file('in.csv')], failure).toMatchObject({ namespace: 'file', name: `${dir}/in.csv`, readers: [run.pipeline] });
      expect(datasets[file('warehouse/orders.csv')], failure).toMatchObject({ writers: [run.pipeline], last_write: null });
    },
    TEST_TIMEOUT_MS,
  );
});
