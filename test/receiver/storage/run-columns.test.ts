/**
 * The one statement of the stored run, stage and check rows (receiver/storage/run-columns.ts): its column
 * lists are the migrated tables' columns, with their types, so that the writer's upserts and the query
 * API's SELECTs built from them cover every column; and the SELECT list reads times and counts as asked.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_COLUMNS, recordsetColumns, RUN_COLUMNS, selectColumns, STAGE_COLUMNS, timeAsDate } from '../../../receiver/storage/run-columns.js';
import { backends, databaseFor } from '../../helpers/backends.js';

describe('run columns', () => {
  it('reads counts as float8 and times as asked, other columns as they are', () => {
    const columns = { run_id: 'text', rows_read: 'bigint', started_at: 'timestamptz' } as const;
    expect(selectColumns(columns, timeAsDate)).toBe('run_id, rows_read::float8 AS rows_read, started_at');
    expect(selectColumns(columns, (column) => `ms(${column})`)).toBe('run_id, rows_read::float8 AS rows_read, ms(started_at) AS started_at');
    expect(recordsetColumns(columns)).toBe('run_id text, rows_read bigint, started_at timestamptz');
  });
});

describe.each(backends())('run columns on $name', (backend) => {
  const db = databaseFor(backend);

  /** The table's columns but its tenant, by name, with their types. */
  const columnsOf = async (table: string) => {
    const { rows } = await db.query<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'tenant_id'`,
      [table],
    );
    return Object.fromEntries(rows.map(({ name, type }) => [name, type.replace('timestamp with time zone', 'timestamptz')]));
  };

  it('declares every column of pipeline_runs and pipeline_stages, with its type', async () => {
    expect({ ...RUN_COLUMNS }).toEqual(await columnsOf('pipeline_runs'));
    expect({ ...STAGE_COLUMNS }).toEqual(await columnsOf('pipeline_stages'));
  });

  it('declares every column of pipeline_checks, its fingerprint as written (a bigint, stored as a uuid)', async () => {
    expect({ ...CHECK_COLUMNS, fingerprint: 'uuid' }).toEqual(await columnsOf('pipeline_checks'));
  });
});
