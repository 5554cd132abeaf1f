import { describe, expect, it } from 'vitest';
import { datasetName, datasetOfName } from '../../contract/dataset-name.js';

describe('a dataset name', () => {
  const cases: [namespace: string, name: string, joined: string][] = [
    ['postgres://db:5432', 'shop.public.orders', 'postgres://db:5432/shop.public.orders'],
    ['s3://lake', 'orders/2026/part-0.parquet', 's3://lake/orders/2026/part-0.parquet'],
    ['bigquery', 'project.dataset.table', 'bigquery://project.dataset.table'],
    ['file', '/tmp/in.csv', 'file:///tmp/in.csv'],
    ['dw', 'orders', 'dw://orders'],
  ];

  it('joins namespace and name as the OpenLineage naming spec writes them, and splits them back', () => {
    for (const [namespace, name, joined] of cases) {
      expect(datasetName({ namespace, name })).toBe(joined);
      expect(datasetOfName(joined)).toEqual({ namespace, name });
    }
  });

  it("names Airflow's file:// and a relative path as the same file", () => {
    expect(datasetName({ namespace: 'file://', name: 'tmp/x' })).toBe('file:///tmp/x');
  });

  it('keeps a name without a scheme whole, in no namespace', () => {
    expect(datasetOfName('orders')).toEqual({ namespace: '', name: 'orders' });
  });
});
