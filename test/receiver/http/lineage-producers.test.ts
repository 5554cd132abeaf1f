/**
 * The real OpenLineage producers against the real receiver: PySpark with the OpenLineage Spark listener, and
 * `airflow dags test` with Airflow's OpenLineage provider, each sending over HTTP with the receiver's API key as
 * in production; then the runs the API shows of what they sent. The jobs and the DAG are the scripts that
 * recorded test/fixtures/openlineage/*.jsonl (its recorders/ folder), at the versions pinned in
 * test/fixtures/spark-requirements.txt and airflow-requirements.txt, which .ci/run installs under ~/.cache/pipemon.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { api } from '../../helpers/api.js';
import { sleep } from '../../helpers/async.js';
import { fixturePath } from '../../helpers/repo.js';
import { receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { required, tool, warnSkipped, withTools } from '../../helpers/tools.js';
import { tempDir } from '../../helpers/temp.js';

const SUITE = 'test/receiver/http/lineage-producers.test.ts';
const FIXTURES = fixturePath();
const SCRIPTS = path.join(FIXTURES, 'openlineage', 'recorders');
const CACHE = path.join(os.homedir(), '.cache', 'pipemon');
const INSTALL_HINT = 'run .ci/run, which installs them (pinned in test/fixtures/spark-requirements.txt and airflow-requirements.txt) under ~/.cache/pipemon';

/** The first group of `pattern` in test/fixtures/`file`: the versions are stated there only. */
function pinned(file: string, pattern: RegExp): string {
  const found = pattern.exec(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
  if (!found) throw new Error(`test/fixtures/${file} has no line matching ${pattern}`);
  return found[1]!;
}
const PYSPARK = pinned('spark-requirements.txt', /^pyspark==(\S+)$/m);
const [, LISTENER_ARTIFACT, LISTENER_VERSION] = pinned('spark-requirements.txt', /^# maven: (\S+)$/m).split(':');
const AIRFLOW = pinned('airflow-requirements.txt', /^apache-airflow==(\S+)$/m);
const PROVIDER = pinned('airflow-requirements.txt', /^apache-airflow-providers-openlineage==(\S+)$/m);

/** `file` in what .ci/run installed into `dir`, when its marker says the install finished; else null after warnSkipped. */
function installed(what: string, dir: string, file: string): string | null {
  if (fs.existsSync(path.join(dir, '.installed'))) return path.join(dir, file);
  warnSkipped(SUITE, `${what} (${dir}) is missing`, INSTALL_HINT);
  return null;
}
const SPARK_WHAT = `pyspark ${PYSPARK}`;
const LISTENER_WHAT = `the OpenLineage Spark listener ${LISTENER_VERSION}`;
const AIRFLOW_WHAT = `Airflow ${AIRFLOW} with apache-airflow-providers-openlineage ${PROVIDER}`;
const JAVA_HINT = 'install a JDK >= 17, which Spark 4 needs (Debian: openjdk-17-jre-headless)';
const sparkPython = installed(SPARK_WHAT, path.join(CACHE, `venv-pyspark-${PYSPARK}`), 'bin/python');
const listenerJar = installed(
  LISTENER_WHAT,
  path.join(CACHE, `openlineage-spark-${LISTENER_VERSION}`),
  `${LISTENER_ARTIFACT}-${LISTENER_VERSION}.jar`,
);
const java = tool(SUITE, 'java', JAVA_HINT);
const airflowBin = installed(AIRFLOW_WHAT, path.join(CACHE, `venv-airflow-${AIRFLOW}-${PROVIDER}`), 'bin/airflow');

// A JVM or Airflow start takes seconds; each producer run is well under a minute on 2 shared cores.
const PROCESS_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 300_000;
// The producers POST before they exit (Spark's listener synchronously, Airflow's provider from workers it waits
// for), so the events are in by then or within moments: 40 polls 250 ms apart is ample.
const POLLS = 40;
const POLL_MS = 250;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of stdout and stderr, interleaved, for failure messages. */
  output: string;
}

/** Process groups started here and still running: afterAll ends them, whatever failed. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/**
 * Runs a producer in a process group of its own (pyspark starts a JVM, Airflow forks a task runner), so that
 * it and everything it started can be ended together: when it exits (nothing it left behind lives on), on
 * its timeout, or in afterAll.
 */
function runProducer(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const pid = child.pid!;
    running.add(pid);
    const timer = setTimeout(() => killGroup(pid), PROCESS_TIMEOUT_MS);
    let exit: Pick<Exit, 'code' | 'signal'> = { code: null, signal: null };
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(timer);
      killGroup(pid);
      running.delete(pid);
    });
    // After 'exit' ended the group, so that no leftover holding the pipes open keeps this waiting.
    child.on('close', () => resolve({ ...exit, output }));
  });
}

const described = (exit: Exit) => `exit code ${exit.code}, signal ${exit.signal}; its output ends:\n${exit.output.slice(-4_000)}`;

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
  let r: TestReceiver;
  const dirs: string[] = [];
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
  });
  afterAll(async () => {
    for (const pid of running) killGroup(pid);
    await r?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  function workDir(name: string): string {
    const dir = tempDir(`pipemon-${name}-`);
    dirs.push(dir);
    return dir;
  }

  async function get(pathAndQuery: string): Promise<any> {
    const answer = await api(r.url, pathAndQuery, { key: r.key });
    expect(answer.status, `GET ${pathAndQuery}: ${answer.text.slice(0, 300)}`).toBe(200);
    return answer.body;
  }

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

  /** spark_jobs.py SCENARIO in local mode, its listener posting to the receiver with the API key. */
  async function sparkJob(scenario: 'success' | 'udf-failure'): Promise<Exit> {
    const python = required(SPARK_WHAT, sparkPython, INSTALL_HINT);
    const jar = required(LISTENER_WHAT, listenerJar, INSTALL_HINT);
    required('java', java, JAVA_HINT);
    const dir = workDir(`spark-${scenario}`);
    return runProducer(python, [path.join(SCRIPTS, 'spark_jobs.py'), scenario, r.url, jar, '--dir', dir, '--api-key', r.key], {
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
  }

  withTools(sparkPython, listenerJar, java)(
    'Spark: a job whose Python UDF fails shows failed with its error, although Spark ends the application with COMPLETE',
    async () => {
      const producer = await sparkJob('udf-failure');
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
    },
    TEST_TIMEOUT_MS,
  );

  withTools(sparkPython, listenerJar, java)(
    'Spark: a job that succeeds shows success with the rows its write reported',
    async () => {
      const producer = await sparkJob('success');
      expect(producer.code, described(producer)).toBe(0);
      const write = 'execute_insert_into_hadoop_fs_relation_command.out_big_orders';
      const run = await settledRun('spark-fixtures/orders_filter', (run) => run.state === 'ended' && stageOf(run, write)?.state === 'ended', producer);
      const failure = `${summary(run)}\nThe producer: ${described(producer)}`;
      expect(run, failure).toMatchObject({ state: 'ended', result: 'success', error: null, start_estimated: false });
      expect(stageOf(run, write), failure).toMatchObject({ result: 'success', rows: { written: 3 } });
      expect(run.rows.written, failure).toBe(3);
      expect(run.rows.written, failure).toBe(stagesWritten(run));
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
        AIRFLOW__OPENLINEAGE__TRANSPORT: JSON.stringify({ type: 'http', url: r.url, auth: { type: 'api_key', apiKey: r.key } }),
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
    },
    TEST_TIMEOUT_MS,
  );
});
