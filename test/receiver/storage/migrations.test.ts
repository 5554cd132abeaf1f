/**
 * The schema's migrations (receiver/storage/migrations.ts) on every supported PostgreSQL server: released
 * SQL stays as it shipped, the read-only role sees what dashboards show, migration 4's log layout keeps its
 * size, columns, indexes and older records, and migration 6 finds the checks the write path keeps.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { otlpType, realisticLogsRequest } from '../../../harness/otlp-fixtures.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { decodeLogsProtobuf } from '../../../receiver/decode/otlp-protobuf.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { bodyMatches } from '../../../receiver/storage/body-search.js';
import { measureLogBytes } from '../../../receiver/storage/log-bytes.js';
import { migrate } from '../../../receiver/storage/migrate.js';
import { CHECKS_FROM_LOGS, MIGRATIONS, READER_ROLE } from '../../../receiver/storage/migrations.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { openServerDatabase } from '../../../receiver/storage/pg.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { backends, databaseFor, freshDatabase } from '../../helpers/backends.js';
import { MIGRATION_VERSIONS } from '../../helpers/storage.js';
import { otlpJsonLogs, type JsonRecord, type Value } from '../../helpers/otlp-json.js';

describe.each(backends())('migrations on $name', (backend) => {
  const db = databaseFor(backend);

  it("keeps every released migration's SQL as it shipped (a change to the schema is a new migration)", () => {
    const digest = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);
    expect(MIGRATIONS.map((migration) => [migration.version, digest(migration.sql)])).toEqual([
      [1, '392276dc2fd91f1c'],
      [2, 'fc7031d4d7d9a353'],
      [3, '81488a628d44f431'],
      [4, '99cf0764322868c1'],
      [5, '33d4bf322c884c53'],
      [6, '5723fbba001a851b'],
      [7, 'ed76c2d1f826309c'],
      [8, '20f697d2eb2410b7'],
      [9, 'a1111a12534a4a87'],
      [10, '117b044e660a366d'],
      [11, 'bd8998cfc229cd1d'],
      [12, '9436027c3f135030'],
      [13, '8396b2a7aad24e1c'],
      [14, 'f0bb62c076c8b520'],
    ]);
  });

  it('grants the read-only role SELECT on what dashboards show, and nothing on the keys', async () => {
    const grants = await db.query<{ table_name: string; privilege_type: string }>(
      `SELECT table_name, privilege_type FROM information_schema.role_table_grants
        WHERE grantee = $1 AND table_name !~ '_p[0-9]{8}$'`,
      [READER_ROLE],
    );
    expect(grants.rows.sort((a, b) => (a.table_name < b.table_name ? -1 : 1))).toEqual(
      ['datasets', 'lineage_edges', 'log_records', 'log_streams', 'logs', 'logs_v1', 'metric_points', 'metric_streams', 'pipeline_checks', 'pipeline_day_durations', 'pipeline_days', 'pipeline_hour_durations', 'pipeline_hours', 'pipeline_runs', 'pipeline_stages', 'run_datasets', 'spans', 'tenants'].map((table_name) => ({
        table_name,
        privilege_type: 'SELECT',
      })),
    );
  });

  describe('log layout (migration 4)', () => {
    const REQUESTS = 20;
    let protobufBytes = 0;
    const layout = databaseFor(backend);

    /** REQUESTS fixture requests of 1,000 records, a second apart, written as the receiver writes them. */
    beforeAll(async () => {
      const partitions = createPartitionManager();
      const Request = otlpType('ExportLogsServiceRequest');
      for (let n = 0; n < REQUESTS; n++) {
        const request = realisticLogsRequest({
          values: 'protobuf',
          startUnixNano: BigInt(Date.UTC(2031, 2, 1) + n * 1000) * 1_000_000n,
          stepNanos: 1_000_000n,
          scope: { name: 'storage-test', version: '1.0.0' },
        });
        const body = Request.encode(Request.fromObject(request)).finish();
        protobufBytes += body.length;
        const prepared = prepare({ id: 1, name: 'default' }, decodeLogsProtobuf(body), []);
        await layout.transaction((tx) => writeBatch(tx, partitions, [prepared]));
      }
      await layout.query('ANALYZE');
    });

    it('stores the realistic record in at most its OTLP protobuf size, indexes and the body search included', async () => {
      const measured = await measureLogBytes(layout, 'current');
      expect(measured.records).toBe(REQUESTS * 1000);
      expect(Object.keys(measured.index_per_record)).toContain('log_records_body');
      expect(measured.per_record!.total).toBeLessThanOrEqual(protobufBytes / measured.records);
    });

    it('reads back every column as the logs relation had it', async () => {
      const { rows } = await layout.query(
        `SELECT fingerprint::text AS fingerprint, time_unix_nano::text AS time, observed_time_unix_nano::text AS observed, service_name,
                trace_id, span_id, flags, pipeline, run_id, stage, attributes, dropped_attributes_count::int AS dropped,
                resource_attributes->>'host.name' AS host, scope_name, scope_version, scope_attributes
           FROM logs WHERE tenant_id = 1 ORDER BY ts, fingerprint LIMIT 1`,
      );
      expect(rows[0]).toEqual({
        fingerprint: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        time: String(BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n),
        observed: String(BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n),
        service_name: 'orders-etl',
        trace_id: '5b8efff7980381030000000000000000',
        span_id: 'eee19b7ec3c1b100',
        flags: '1',
        pipeline: 'orders-nightly',
        run_id: 'run-2024-06-01-0',
        stage: 'load',
        attributes: {
          [ATTR.pipelineName]: 'orders-nightly',
          [ATTR.runId]: 'run-2024-06-01-0',
          [ATTR.stageName]: 'load',
          'db.system': 'postgresql',
          [ATTR.dbCollection]: 'orders_daily',
          'batch.index': 0,
          'batch.rows': 4980,
          'batch.rejected': 20,
          'batch.duration_s': 1.9,
          'batch.retried': true,
        },
        dropped: 0,
        host: 'ip-10-0-3-17.ec2.internal',
        scope_name: 'storage-test',
        scope_version: '1.0.0',
        scope_attributes: {},
      });
    });

    it('answers q= through logs from the body search index, and a trace from its index', async () => {
      const plan = async (sql: string, params: unknown[]) =>
        (await layout.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((row) => row['QUERY PLAN']).join('\n');
      const search = `SELECT ts, body FROM logs WHERE tenant_id = $1 AND ${bodyMatches('$2')}
                       ORDER BY ts DESC LIMIT 100`;
      expect(await plan(search, [1, 'batch 17 of'])).toMatch(/Bitmap Index Scan on log_records_p20310301_to_tsvector_idx/);
      const { rows } = await layout.query<{ body: string }>(search, [1, 'batch 17 of']);
      expect(rows).toHaveLength(REQUESTS);
      expect(rows.every((row) => row.body.startsWith('batch 17 of'))).toBe(true);
      const trace = 'SELECT ts FROM logs WHERE tenant_id = $1 AND trace_id = $2';
      expect(await plan(trace, [1, '5b8efff7980381030000000000000011'])).toMatch(/log_records_p20310301_tenant_id_encode_idx/);
      expect((await layout.query(trace, [1, '5b8efff7980381030000000000000011'])).rows).toHaveLength(REQUESTS);
    });

    it('keeps the records written before it readable through logs, beside the new ones', async () => {
      const url = await backend.databaseUrl();
      const old = await openServerDatabase(url);
      try {
        // The schema as migration 3 left it, with one record in the logs table of the time.
        await old.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
          await old.query(migration.sql);
          await old.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        }
        await old.query(`INSERT INTO tenants (name) VALUES ('default')`);
        await old.query(`CREATE TABLE logs_p20310301 PARTITION OF logs FOR VALUES FROM ('2031-03-01') TO ('2031-03-02')`);
        const before = {
          tenant_id: 1, ts: new Date('2031-03-01T10:00:00Z'), fingerprint: '0b5e6c5a-2f43-4d7e-9a57-1f0c1a2b3c4d', time_unix_nano: '1930039200000000000',
          observed_time_unix_nano: '1930039200000000001', severity_number: 17, severity_text: 'ERROR', service_name: 'etl', event_name: 'pipeline.run.end',
          body: 'old record', trace_id: 'aa'.repeat(16), span_id: 'bb'.repeat(8), flags: '1', pipeline: 'orders', run_id: 'run-old', stage: null,
          attributes: { k: 1 }, dropped_attributes_count: '2', resource_attributes: { 'service.name': 'etl' }, resource_schema_url: 'https://schema',
          scope_name: 'old-scope', scope_version: '0.1', scope_attributes: { s: true }, scope_schema_url: '',
        };
        const columns = Object.keys(before);
        await old.query(`INSERT INTO logs (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(before));

        expect(await migrate(old)).toEqual({ applied: MIGRATION_VERSIONS.filter((v) => v > 3) });
        const { rows } = await old.query(`SELECT ${columns.join(', ')} FROM logs`);
        expect(rows).toEqual([before]);

        // A new record beside it, both listed newest first; the old one is still found by its run.
        const partitions = createPartitionManager();
        const Request = otlpType('ExportLogsServiceRequest');
        const request = realisticLogsRequest({
          values: 'protobuf', records: 1, startUnixNano: BigInt(Date.UTC(2031, 2, 1, 11)) * 1_000_000n, stepNanos: 1n, scope: { name: 's', version: '1' },
        });
        const prepared = prepare({ id: 1, name: 'default' }, decodeLogsProtobuf(Request.encode(Request.fromObject(request)).finish()), []);
        await old.transaction((tx) => writeBatch(tx, partitions, [prepared]));
        const listed = await old.query<{ body: string }>('SELECT body FROM logs WHERE tenant_id = 1 ORDER BY ts DESC');
        expect(listed.rows.map((row) => row.body)).toEqual([expect.stringMatching(/^batch 0 of/), 'old record']);
        expect((await old.query('SELECT body FROM logs WHERE tenant_id = 1 AND run_id = $1', ['run-old'])).rows).toEqual([{ body: 'old record' }]);
        expect(await measureLogBytes(old, 'v1')).toMatchObject({ records: 1 });
      } finally {
        await old.close();
      }
    });

    it('stores a resent record once, whichever request it comes in', async () => {
      const partitions = createPartitionManager();
      const Request = otlpType('ExportLogsServiceRequest');
      const request = realisticLogsRequest({
        values: 'protobuf', records: 3, startUnixNano: BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n, stepNanos: 1_000_000n,
        scope: { name: 'storage-test', version: '1.0.0' },
      });
      const rows = decodeLogsProtobuf(Request.encode(Request.fromObject(request)).finish());
      const effects = await layout.transaction((tx) => writeBatch(tx, partitions, [prepare({ id: 1, name: 'default' }, rows, [])]));
      expect(effects.logs).toEqual({ accepted: 0, duplicates: 3 });
    });
  });

  describe('data-quality checks (migration 6)', () => {
    it('keeps each check record once in pipeline_checks, as the migration reads the records stored before it', async () => {
      const fresh = await freshDatabase(backend);
      const at = Date.UTC(2031, 4, 1);
      const check = (i: number, passed: Value | undefined, extra: Record<string, Value> = {}): JsonRecord => ({
        eventName: EVENT.check,
        timeMs: at + i,
        body: `check ${i}`,
        attributes: { [ATTR.checkName]: `c${i}`, ...(passed === undefined ? {} : { [ATTR.checkPassed]: passed }), ...extra },
      });
      const run = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.stageName]: 'load' };
      const rows = decodeLogsJson(
        otlpJsonLogs({ 'service.name': 'etl' }, [
          check(1, true, run),
          check(2, false, { ...run, [ATTR.checkDetails]: '3 nulls' }),
          check(3, 'False', run),
          check(4, 'yes', run),
          check(5, undefined, { [ATTR.pipelineName]: 'orders' }),
          check(6, 0),
          { body: 'not a check', timeMs: at + 7, attributes: run },
        ]),
      );
      const write = () => fresh.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare({ id: 1, name: 'default' }, rows, [])]));
      await write();
      await write();
      const stored = await fresh.query(`SELECT * FROM pipeline_checks ORDER BY ts`);
      expect(stored.rows.map((row) => [row.name, row.passed, row.pipeline, row.run_id, row.stage, row.details, row.body])).toEqual([
        ['c1', true, 'orders', 'r-1', 'load', null, 'check 1'],
        ['c2', false, 'orders', 'r-1', 'load', '3 nulls', 'check 2'],
        ['c3', false, 'orders', 'r-1', 'load', null, 'check 3'],
        ['c4', null, 'orders', 'r-1', 'load', null, 'check 4'],
        ['c5', null, 'orders', null, null, null, 'check 5'],
        ['c6', null, null, null, null, null, 'check 6'],
      ]);
      // The migration's statement, over the same records, finds the same rows.
      expect((await fresh.query(`${CHECKS_FROM_LOGS} ORDER BY ts`)).rows).toEqual(stored.rows);
    });
  });
});
