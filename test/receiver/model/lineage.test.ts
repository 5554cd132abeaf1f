/**
 * Lineage facts from single records (receiver/model/lineage.ts): spans and log records with the
 * vocabulary, OpenLineage events with their statistics and dataset facets, and records that say nothing.
 */
import { describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { decodeLineageEvent } from '../../../receiver/decode/openlineage.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { deriveFromLog, deriveFromSpan } from '../../../receiver/model/derive.js';
import { lineageOfLog, lineageOfSpan } from '../../../receiver/model/lineage.js';
import type { LogRow } from '../../../receiver/model/records.js';
import { datasetEvent, facet, jobEvent, runEvent } from '../../helpers/openlineage.js';
import { spanRow } from '../../helpers/rows.js';
import { otlpJsonLogs, type Value } from '../../helpers/otlp-json.js';

const T0 = Date.UTC(2031, 6, 1);
const log = (eventName: string | undefined, attributes: Record<string, Value>): LogRow =>
  decodeLogsJson(otlpJsonLogs({ 'service.name': 'etl' }, [{ eventName, timeMs: T0, attributes }]))[0]!;
const fromLog = (row: LogRow) => lineageOfLog(row, deriveFromLog(row));

describe('lineage facts', () => {
  it("reads a stage end's inputs, outputs and target, with its rows when it names one dataset each way", () => {
    const row = log(EVENT.stageEnd, {
      [ATTR.pipelineName]: 'orders',
      [ATTR.runId]: 'r-1',
      [ATTR.stageName]: 'load',
      [ATTR.stageRunId]: 's-1',
      [ATTR.lineageInputs]: 'postgres://shop:5432/shop.public.orders',
      [ATTR.dbNamespace]: 'dw',
      [ATTR.dbCollection]: 'orders',
      [ATTR.rowsRead]: 120,
      [ATTR.rowsWritten]: 118,
    });
    expect(fromLog(row)).toEqual({
      pipeline: 'orders',
      runId: 'r-1',
      stageRunId: 's-1',
      stage: 'load',
      atMs: T0,
      uses: [
        { direction: 'read', dataset: 'postgres://shop:5432/shop.public.orders', rows: 120, bytes: null },
        { direction: 'write', dataset: 'dw://orders', rows: 118, bytes: null },
      ],
      facets: [],
    });
  });

  it('leaves rows unassigned when a record names several datasets, and ignores records that are no run, stage or lineage event', () => {
    const several = log(EVENT.runEnd, { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.rowsWritten]: 5, [ATTR.dbNamespace]: 'dw', [ATTR.dbCollection]: 'a' });
    several.attributes[ATTR.lineageOutputs] = ['dw://b', 'dw://a'];
    expect(fromLog(several)?.uses).toEqual([
      { direction: 'write', dataset: 'dw://b', rows: null, bytes: null },
      { direction: 'write', dataset: 'dw://a', rows: null, bytes: null },
    ]);
    expect(fromLog(log(undefined, { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.dbNamespace]: 'dw', [ATTR.dbCollection]: 'a' }))).toBeNull();
    expect(fromLog(log(EVENT.runEnd, { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1' }))).toBeNull();
  });

  it("reads an OpenLineage run's datasets with their statistics and dataset facets, a JobEvent without a run, a DatasetEvent alone", () => {
    const event = runEvent({
      eventType: 'COMPLETE',
      runId: '0190b4a1-0000-7000-8000-000000000001',
      namespace: 'dbt',
      name: 'finance.report',
      inputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.orders', rowCount: 10 }],
      outputs: [{ namespace: 'postgres://dw:5432', name: 'dw.public.report', rowCount: 3, size: 512 }],
    });
    event.outputs[0].facets = { schema: facet('SchemaDatasetFacet', { fields: [{ name: 'day', type: 'date' }] }) };
    const run = fromLog(decodeLineageEvent(event).row)!;
    expect(run).toMatchObject({ pipeline: 'dbt/finance.report', runId: '0190b4a1-0000-7000-8000-000000000001', stage: '' });
    expect(run.uses).toEqual([
      { direction: 'read', dataset: 'postgres://dw:5432/dw.public.orders', rows: 10, bytes: null },
      { direction: 'write', dataset: 'postgres://dw:5432/dw.public.report', rows: 3, bytes: 512 },
    ]);
    expect(run.facets).toEqual([{ dataset: 'postgres://dw:5432/dw.public.report', facets: event.outputs[0].facets }]);

    expect(fromLog(decodeLineageEvent(jobEvent('orders_dag.load')).row)).toMatchObject({ pipeline: 'airflow/orders_dag.load', runId: '', stageRunId: '' });
    const dataset = datasetEvent();
    expect(fromLog(decodeLineageEvent(dataset).row)).toBeNull();
    dataset.dataset.facets = { schema: facet('SchemaDatasetFacet', { fields: [] }) };
    expect(fromLog(decodeLineageEvent(dataset).row)).toMatchObject({ pipeline: null, uses: [], facets: [{ dataset: 'postgres://db:5432/dw.public.orders' }] });
  });

  it("reads a stage span's attributes, at its end", () => {
    const span = spanRow({
      parentSpanId: 'ef'.repeat(8),
      spanId: 'cd'.repeat(8),
      startTimeUnixNano: `${T0}000000`,
      endTimeUnixNano: `${T0 + 5}000000`,
      attributes: { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.stageName]: 'load', [ATTR.lineageInputs]: ['s3://raw/orders'] },
    });
    expect(lineageOfSpan(span, deriveFromSpan(span))).toEqual({
      pipeline: 'orders',
      runId: 'r-1',
      stageRunId: 'cd'.repeat(8),
      stage: 'load',
      atMs: T0 + 5,
      uses: [{ direction: 'read', dataset: 's3://raw/orders', rows: null, bytes: null }],
      facets: [],
    });
  });
});
