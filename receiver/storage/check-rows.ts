/**
 * Data-quality checks written to pipeline_checks (run-columns.ts) under their records' keys: a check
 * whose record arrives again conflicts and is not stored twice.
 */
import type { CheckFacts } from '../model/runs.js';
import type { Tenant } from '../model/records.js';
import type { Queryable } from './database.js';
import { CHECK_COLUMNS, columnNames, recordsetColumns, type StoredCheckRow } from './run-columns.js';
import { fingerprintAsUuid } from './rows-csv.js';

/** A check with the fingerprint of its record: the key it is stored under, as the logs view shows it. */
export type StoredCheck = CheckFacts & { fingerprint: string };

const NAMES = columnNames(CHECK_COLUMNS);
const INSERT_CHECKS = `INSERT INTO pipeline_checks (tenant_id, ${NAMES.join(', ')})
  SELECT tenant_id, ${NAMES.map((name) => (name === 'fingerprint' ? fingerprintAsUuid(name) : name)).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS c(tenant_id integer, ${recordsetColumns(CHECK_COLUMNS)})
  ON CONFLICT DO NOTHING`;

export async function insertChecks(tx: Queryable, checks: { tenant: Tenant; check: StoredCheck }[]): Promise<void> {
  if (checks.length === 0) return;
  const rows = checks.map(({ tenant, check }) => ({ tenant_id: tenant.id, ...checkRow(check) }));
  await tx.query(INSERT_CHECKS, [JSON.stringify(rows)]);
}

const checkRow = (check: StoredCheck): StoredCheckRow<string> => ({
  ts: new Date(check.atMs).toISOString(),
  fingerprint: check.fingerprint,
  pipeline: check.pipeline,
  run_id: check.runId,
  stage: check.stage,
  name: check.name,
  passed: check.passed,
  details: check.details,
  body: check.body,
});
