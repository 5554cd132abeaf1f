import { describe, expect, it } from 'vitest';
import { decodeLineageEvent, EVENT_TYPES } from '../../../receiver/decode/openlineage.js';
import { deriveFromLog } from '../../../receiver/model/derive.js';
import { ATTR, EVENT, LINEAGE } from '../../../contract/vocabulary.js';
import { decodeRefusal } from '../../helpers/decode-refusal.js';
import { datasetEvent, facet, jobEvent, runEvent } from '../../helpers/openlineage.js';

const DAG_RUN = '01890000-0000-7000-8000-000000000001';
const TASK_RUN = '01890000-0000-7000-8000-000000000002';
const dagParent = { runId: DAG_RUN, name: 'orders_dag' };

const decode = (event: unknown) => decodeLineageEvent(event);
const refusal = (event: unknown): string => decodeRefusal(() => decode(event));

describe('an OpenLineage run event without a parent is a run', () => {
  it('START starts the run of pipeline namespace/name, at eventTime to the microsecond, the event as body', () => {
    const event = runEvent({ runId: DAG_RUN, eventTime: '2024-05-01T12:00:00.123456+00:00' });
    const { kind, row } = decode(event);
    expect(kind).toBe('run');
    expect(row.eventName).toBe(EVENT.runStart);
    expect(row.timeUnixNano).toBe('1714564800123456000');
    expect(row.observedTimeUnixNano).toBe('0');
    expect(row.attributes).toMatchObject({
      [ATTR.pipelineName]: 'airflow/orders_dag',
      [ATTR.runId]: DAG_RUN,
      [ATTR.sourceSystem]: 'openlineage',
      [LINEAGE.eventType]: 'START',
      [LINEAGE.jobNamespace]: 'airflow',
      [LINEAGE.jobName]: 'orders_dag',
    });
    expect(row.resource.attributes[ATTR.serviceName]).toBe('airflow');
    expect(row.scope.name).toBe(event.producer);
    expect(JSON.parse(row.body!)).toEqual(event);
    const { run, stage } = deriveFromLog(row);
    expect(stage).toBeNull();
    expect(run).toMatchObject({ runId: DAG_RUN, pipeline: 'airflow/orders_dag', state: 'running', startedAtMs: 1714564800123 });
  });

  it.each([
    ['COMPLETE', 'success', 9],
    ['FAIL', 'failure', 17],
    ['ABORT', 'cancellation', 13],
  ])('%s ends the run in %s', (eventType, result, severity) => {
    const { row } = decode(runEvent({ runId: DAG_RUN, eventType }));
    expect(row.eventName).toBe(EVENT.runEnd);
    expect(row.severityNumber).toBe(severity);
    expect(row.attributes[ATTR.runResult]).toBe(result);
    expect(deriveFromLog(row).run).toMatchObject({ state: 'ended', result });
  });

  it.each(['RUNNING', 'OTHER', undefined])('%s is a heartbeat: the run is alive, its state unchanged', (eventType) => {
    const event = runEvent({ runId: DAG_RUN });
    if (eventType) event.eventType = eventType;
    else delete event.eventType;
    const { row } = decode(event);
    expect(row.eventName).toBe(EVENT.runHeartbeat);
    expect(row.attributes[ATTR.runResult]).toBeUndefined();
    expect(deriveFromLog(row).run).toMatchObject({ state: 'running', result: null, startedAtMs: null });
  });

  it('takes a run id in capitals as the same run', () => {
    expect(decode(runEvent({ runId: DAG_RUN.toUpperCase() })).row.attributes[ATTR.runId]).toBe(DAG_RUN);
  });

  it('takes a time without an offset as UTC, and honours an offset', () => {
    expect(decode(runEvent({ eventTime: '2024-05-01T12:00:00' })).row.timeUnixNano).toBe('1714564800000000000');
    expect(decode(runEvent({ eventTime: '2024-05-01T14:00:00.5+02:00' })).row.timeUnixNano).toBe('1714564800500000000');
  });

  it('makes the identical record of an identical event (a resend is stored once)', () => {
    const event = runEvent({ eventType: 'COMPLETE', outputs: [{ namespace: 'pg', name: 't', rowCount: 3 }] });
    expect(decode(structuredClone(event))).toEqual(decode(event));
  });
});

describe('an OpenLineage run event with a parent run facet is a stage of that run', () => {
  it('START starts stage <task> of the parent run, named without the DAG prefix', () => {
    const { row } = decode(runEvent({ runId: TASK_RUN, name: 'orders_dag.extract', parent: dagParent }));
    expect(row.eventName).toBe(EVENT.stageStart);
    expect(row.attributes).toMatchObject({
      [ATTR.pipelineName]: 'airflow/orders_dag',
      [ATTR.runId]: DAG_RUN,
      [ATTR.stageName]: 'extract',
      [ATTR.stageRunId]: TASK_RUN,
      [LINEAGE.jobName]: 'orders_dag.extract',
      [LINEAGE.runId]: TASK_RUN,
      [LINEAGE.parentRunId]: DAG_RUN,
      [LINEAGE.parentJobName]: 'orders_dag',
    });
    const { run, stage } = deriveFromLog(row);
    expect(stage).toMatchObject({ runId: DAG_RUN, stageRunId: TASK_RUN, stage: 'extract', state: 'running' });
    expect(run).toMatchObject({ runId: DAG_RUN, pipeline: 'airflow/orders_dag', state: 'running' });
  });

  it.each([
    ['COMPLETE', 'success'],
    ['FAIL', 'failure'],
    ['ABORT', 'cancellation'],
  ])('%s ends the stage in %s, and leaves its run running', (eventType, result) => {
    const { row } = decode(runEvent({ runId: TASK_RUN, eventType, name: 'orders_dag.load', parent: dagParent }));
    expect(row.eventName).toBe(EVENT.stageEnd);
    expect(row.attributes[ATTR.stageResult]).toBe(result);
    const { run, stage } = deriveFromLog(row);
    expect(stage).toMatchObject({ state: 'ended', result });
    expect(run).toMatchObject({ state: 'running', result: null });
  });

  it.each(['RUNNING', 'OTHER'])('%s of a stage is stored and derives nothing (stages have no heartbeat)', (eventType) => {
    const { row } = decode(runEvent({ runId: TASK_RUN, eventType, name: 'orders_dag.load', parent: dagParent }));
    expect(row.eventName).toBe(LINEAGE.runEvent);
    expect(row.attributes[ATTR.stageName]).toBe('load');
    expect(deriveFromLog(row)).toEqual({ run: null, stage: null });
  });

  it('keeps a job name that does not start with the parent name as it is', () => {
    const { row } = decode(runEvent({ runId: TASK_RUN, name: 'spark_app', parent: dagParent }));
    expect(row.attributes[ATTR.stageName]).toBe('spark_app');
  });

  it('belongs to the root run when the facet names one (a Spark job under an Airflow task)', () => {
    const parent = { runId: TASK_RUN, name: 'orders_dag.transform', root: dagParent };
    const { row } = decode(runEvent({ runId: '01890000-0000-7000-8000-000000000003', name: 'spark.job_1', parent }));
    expect(row.attributes).toMatchObject({
      [ATTR.pipelineName]: 'airflow/orders_dag',
      [ATTR.runId]: DAG_RUN,
      [ATTR.stageName]: 'spark.job_1',
      [LINEAGE.parentRunId]: TASK_RUN,
      [LINEAGE.rootRunId]: DAG_RUN,
    });
  });

  it('is a run when the parent facet names the run itself', () => {
    const { row } = decode(runEvent({ runId: DAG_RUN, parent: dagParent }));
    expect(row.eventName).toBe(EVENT.runStart);
    expect(row.attributes[ATTR.stageName]).toBeUndefined();
  });
});

describe('facets become the pipeline vocabulary', () => {
  it('errorMessage becomes exception.message, and error.type the class the stack trace names', () => {
    const stackTrace = 'Traceback (most recent call last):\n  File "load.py", line 3, in <module>\nValueError: bad row 7\n';
    const { row } = decode(runEvent({ eventType: 'FAIL', error: { message: 'bad row 7', stackTrace } }));
    expect(row.attributes).toMatchObject({
      [ATTR.exceptionMessage]: 'bad row 7',
      [ATTR.errorType]: 'ValueError',
      [ATTR.exceptionType]: 'ValueError',
      [ATTR.exceptionStacktrace]: stackTrace,
      [LINEAGE.errorLanguage]: 'python',
    });
    expect(deriveFromLog(row).run).toMatchObject({ result: 'failure', errorType: 'ValueError', errorMessage: 'bad row 7' });
  });

  it('takes a JVM exception class from the message, and _OTHER when nothing names one', () => {
    const jvm = 'org.apache.spark.sql.AnalysisException: Table or view not found: wrong_table_name';
    expect(decode(runEvent({ eventType: 'FAIL', error: { message: jvm } })).row.attributes[ATTR.errorType]).toBe(
      'org.apache.spark.sql.AnalysisException',
    );
    const plain = decode(runEvent({ eventType: 'FAIL', error: { message: 'it broke' } })).row.attributes;
    expect(plain[ATTR.errorType]).toBe('_OTHER');
    expect(plain[ATTR.exceptionType]).toBeUndefined();
  });

  it("reads Spark's spark.exception facet as the error, its stack trace kept, and a message from the trace when it has none", () => {
    const stackTrace = 'org.apache.spark.SparkException: Job aborted due to stage failure: ValueError: bad row 3\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2898)';
    const event = runEvent({ eventType: 'FAIL' });
    event.run.facets['spark.exception'] = facet('ErrorFacet', { message: 'Job aborted due to stage failure: ValueError: bad row 3', stackTrace });
    expect(decode(event).row.attributes).toMatchObject({
      [ATTR.exceptionMessage]: 'Job aborted due to stage failure: ValueError: bad row 3',
      [ATTR.errorType]: 'org.apache.spark.SparkException',
      [ATTR.exceptionStacktrace]: stackTrace,
    });
    event.run.facets['spark.exception'] = facet('ErrorFacet', { stackTrace });
    expect(decode(event).row.attributes[ATTR.exceptionMessage]).toBe(stackTrace.split('\n')[0]);
    event.run.facets['spark.exception'] = facet('ErrorFacet', {});
    expect(refusal(event)).toContain('run.facets.spark.exception.message');
  });

  it("carries the start the producer knows on a run's other events: the DAG run's start date, else its nominal start", () => {
    const event = runEvent({ eventType: 'FAIL' });
    event.run.facets.nominalTime = facet('NominalTimeRunFacet', { nominalStartTime: '2026-12-05T00:00:00+00:00' });
    expect(decode(event).row.attributes[ATTR.runStartHint]).toBe('2026-12-05T00:00:00.000Z');
    event.run.facets.airflowDagRun = { dag: { dag_id: 'orders_dag' }, dagRun: { start_date: '2026-12-06T02:00:01.5+00:00' } };
    const { row } = decode(event);
    expect(row.attributes[ATTR.runStartHint]).toBe('2026-12-06T02:00:01.500Z');
    expect(deriveFromLog(row).run?.startHintMs).toBe(Date.parse('2026-12-06T02:00:01.5Z'));
    // A START is the start itself; a task's events say nothing of its DAG run's start.
    expect(decode({ ...event, eventType: 'START' }).row.attributes[ATTR.runStartHint]).toBeUndefined();
    expect(decode(runEvent({ runId: TASK_RUN, eventType: 'FAIL', parent: dagParent })).row.attributes[ATTR.runStartHint]).toBeUndefined();
    // Without an offset, UTC, as every OpenLineage time is read (not the machine's zone).
    event.run.facets.airflowDagRun.dagRun.start_date = '2026-12-06 03:00:00';
    expect(decode(event).row.attributes[ATTR.runStartHint]).toBe('2026-12-06T03:00:00.000Z');
    event.run.facets.airflowDagRun.dagRun.start_date = 'yesterday';
    expect(refusal(event)).toContain('run.facets.airflowDagRun.dagRun.start_date');
  });

  it('names datasets as the naming spec writes them, slashes kept', () => {
    const { row } = decode(
      runEvent({
        eventType: 'COMPLETE',
        inputs: [
          { namespace: 'file', name: '/tmp/in.csv' },
          { namespace: 'hdfs://namenode:8020', name: '/warehouse/orders' },
          // Airflow's File entity (providers-openlineage 2.20.3).
          { namespace: 'file://', name: 'tmp/staged.csv' },
        ],
        outputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.orders' }, { namespace: 's3://lake/', name: 'orders/2026' }],
      }),
    );
    expect(row.attributes[ATTR.lineageInputs]).toEqual(['file:///tmp/in.csv', 'hdfs://namenode:8020/warehouse/orders', 'file:///tmp/staged.csv']);
    expect(row.attributes[ATTR.lineageOutputs]).toEqual(['postgres://dw:5432/dw.public.orders', 's3://lake/orders/2026']);
  });

  it('statistics become rows read and written, the first output the target, every dataset kept', () => {
    const { row } = decode(
      runEvent({
        eventType: 'COMPLETE',
        inputs: [
          { namespace: 'postgres://shop:5432', name: 'shop.public.orders', rowCount: 120 },
          { namespace: 'postgres://shop:5432', name: 'shop.public.customers', rowCount: 30 },
          { namespace: 's3://raw', name: 'events' },
        ],
        outputs: [
          { namespace: 'postgres://dw:5432', name: 'dw.public.orders', rowCount: 118, size: 4096, fileCount: 2 },
          { namespace: 'postgres://dw:5432', name: 'dw.public.rejects', rowCount: 2 },
        ],
      }),
    );
    expect(row.attributes).toMatchObject({
      [ATTR.rowsRead]: 150,
      [ATTR.rowsWritten]: 120,
      [ATTR.dbNamespace]: 'postgres://dw:5432',
      [ATTR.dbCollection]: 'dw.public.orders',
      [LINEAGE.bytesWritten]: 4096,
      [LINEAGE.filesWritten]: 2,
      [ATTR.lineageInputs]: ['postgres://shop:5432/shop.public.orders', 'postgres://shop:5432/shop.public.customers', 's3://raw/events'],
      [ATTR.lineageOutputs]: ['postgres://dw:5432/dw.public.orders', 'postgres://dw:5432/dw.public.rejects'],
    });
    expect(deriveFromLog(row).run).toMatchObject({ rowsRead: 150, rowsWritten: 120, targetNamespace: 'postgres://dw:5432' });
  });

  it('counts rows read from the older dataQualityMetrics input facet too', () => {
    const event = runEvent({ inputs: [{ namespace: 'pg', name: 'orders' }] });
    event.inputs[0].inputFacets = { dataQualityMetrics: facet('DataQualityMetricsInputDatasetFacet', { rowCount: 42, columnMetrics: {} }) };
    expect(decode(event).row.attributes[ATTR.rowsRead]).toBe(42);
  });

  it('leaves rows unknown, not zero, when no dataset reports them', () => {
    const { row } = decode(runEvent({ outputs: [{ namespace: 'pg', name: 'orders' }] }));
    expect(row.attributes[ATTR.rowsWritten]).toBeUndefined();
    expect(row.attributes[ATTR.dbCollection]).toBe('orders');
  });
});

describe('job and dataset events (static lineage) are stored and derive nothing', () => {
  it('a JobEvent is a record of its pipeline with its datasets', () => {
    const { kind, row } = decode(jobEvent());
    expect(kind).toBe('job');
    expect(row.eventName).toBe(LINEAGE.jobEvent);
    expect(row.attributes).toMatchObject({ [ATTR.pipelineName]: 'airflow/orders_dag.load', [ATTR.dbCollection]: 'dw.public.orders' });
    expect(deriveFromLog(row)).toEqual({ run: null, stage: null });
  });

  it('a DatasetEvent is a record of its dataset', () => {
    const { kind, row } = decode(datasetEvent());
    expect(kind).toBe('dataset');
    expect(row.eventName).toBe(LINEAGE.datasetEvent);
    expect(row.attributes).toMatchObject({ [ATTR.dbNamespace]: 'postgres://db:5432', [ATTR.dbCollection]: 'dw.public.orders' });
  });

  it('tells the kinds apart by shape when there is no schemaURL', () => {
    const strip = ({ schemaURL: _, ...event }: Record<string, any>) => event;
    expect(decode(strip(runEvent())).kind).toBe('run');
    expect(decode(strip(jobEvent())).kind).toBe('job');
    expect(decode(strip(datasetEvent())).kind).toBe('dataset');
  });
});

describe('invalid events are refused naming the field', () => {
  const without = (path: string[]) => {
    const event = runEvent({ parent: dagParent, error: { message: 'x' } });
    let at: any = event;
    for (const key of path.slice(0, -1)) at = at[key];
    delete at[path.at(-1)!];
    return event;
  };

  it.each([
    [['eventTime'], '"eventTime" is required (an ISO 8601 time such as "2025-12-05T10:30:00Z")'],
    [['run', 'runId'], '"run.runId" is required'],
    [['run'], '"run" is required'],
    [['job', 'name'], '"job.name" is required'],
    [['job', 'namespace'], '"job.namespace" is required'],
    [['run', 'facets', 'parent', 'run', 'runId'], '"run.facets.parent.run.runId" is required'],
    [['run', 'facets', 'parent', 'job'], '"run.facets.parent.job" is required'],
    [['run', 'facets', 'errorMessage', 'message'], '"run.facets.errorMessage.message" is required'],
  ])('without %j: "%s"', (path, message) => {
    expect(refusal(without(path))).toBe(message);
  });

  it.each([
    ['an unknown eventType, listing the accepted ones', { eventType: 'DONE' }, `"eventType" must be one of ${EVENT_TYPES.join(', ')}, got the string "DONE"`],
    ['a run id that is not a UUID', { run: { runId: 'run-42' } }, '"run.runId" must be a UUID'],
    ['a date that is not a date-time', { eventTime: 'yesterday' }, '"eventTime" must be an ISO 8601 time'],
    ['a number for a string', { job: { namespace: 'airflow', name: 42 } }, '"job.name" must be a string, got number 42'],
    ['a string for an object', { job: 'orders' }, '"job" must be a JSON object, got the string "orders"'],
    ['an object for an array', { outputs: {} }, '"outputs" must be an array of JSON objects, got an object'],
    ['an empty job name', { job: { namespace: 'airflow', name: ' ' } }, '"job.name" must not be empty'],
    ['a dataset without a name', { inputs: [{ namespace: 'pg' }] }, '"inputs[0].name" is required'],
    ['a NUL character', { job: { namespace: 'airflow', name: 'a\u0000b' } }, '"job.name" contains a NUL byte'],
  ])('%s', (_, override, message) => {
    expect(refusal({ ...runEvent(), ...override })).toContain(message);
  });

  it('a row count that is not a count', () => {
    const event = runEvent({ outputs: [{ namespace: 'pg', name: 'orders', rowCount: 1 }] });
    event.outputs[0].outputFacets.outputStatistics.rowCount = '12';
    expect(refusal(event)).toBe('"outputs[0].outputFacets.outputStatistics.rowCount" must be a non-negative integer, got the string "12"');
    event.outputs[0].outputFacets.outputStatistics.rowCount = -1;
    expect(refusal(event)).toContain('must be a non-negative integer, got number -1');
  });

  it('a NUL character anywhere, even in a facet pipemon does not read', () => {
    const event = runEvent();
    event.run.facets.custom = { notes: ['ok', 'bad\u0000'] };
    expect(refusal(event)).toBe('"run.facets.custom.notes[1]" contains a NUL byte (\\u0000), which PostgreSQL text cannot store: remove it');
  });

  it('something that is no event at all', () => {
    expect(refusal(42)).toBe('an OpenLineage event must be a JSON object, got number 42');
    expect(refusal({ eventTime: new Date().toISOString() })).toContain('not an OpenLineage event');
    expect(refusal({ ...jobEvent(), job: undefined })).toBe('"job" is required');
    expect(refusal({ ...datasetEvent(), dataset: { name: 'x' } })).toBe('"dataset.namespace" is required');
  });
});
