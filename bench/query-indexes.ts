/**
 * Which indexes a query relies on, read from its plans (EXPLAIN), and the query run without them: the
 * indexes dropped in a transaction that is rolled back, so the database is left as it was. Indexes of
 * partitions are named by their partitioned parent, which is what is dropped.
 */
import type { Database, Queryable, Transaction } from '../receiver/storage/database.js';

export interface Statement {
  sql: string;
  params?: readonly unknown[];
}

/** `db` that also records every statement run through it. */
export function recording(db: Queryable): { db: Queryable; statements: Statement[] } {
  const statements: Statement[] = [];
  return {
    statements,
    db: {
      query(sql, params) {
        statements.push({ sql, params });
        return db.query(sql, params);
      },
    },
  };
}

interface PlanNode {
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function indexNames(node: PlanNode, into: Set<string>): Set<string> {
  if (node['Index Name']) into.add(node['Index Name']);
  for (const child of node.Plans ?? []) indexNames(child, into);
  return into;
}

/** The indexes the plans of these statements scan, by the name of their root (partitioned) index. */
export async function indexesOf(db: Queryable, statements: Statement[]): Promise<string[]> {
  const names = new Set<string>();
  for (const { sql, params } of statements) {
    const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    indexNames(rows[0]!['QUERY PLAN'][0].Plan, names);
  }
  if (names.size === 0) return [];
  const { rows } = await db.query<{ name: string }>(
    `SELECT DISTINCT coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = ANY($1::text[]) AND n.nspname = current_schema() ORDER BY 1`,
    [[...names]],
  );
  return rows.map((row) => row.name);
}

class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back on purpose');
  }
}

/**
 * `fn` in a transaction where `indexes` are dropped (an index backing a constraint, by dropping the
 * constraint), then rolled back. A statement running past `timeoutMs` is cancelled and rejects.
 */
export async function withoutIndexes<T>(db: Database, indexes: string[], timeoutMs: number, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const outcome: unknown = await db
    .transaction(async (tx) => {
      await tx.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`);
      for (const index of indexes) {
        const { rows } = await tx.query<{ table: string; name: string }>(
          `SELECT conrelid::regclass::text AS table, quote_ident(conname) AS name FROM pg_constraint WHERE conindid = $1::regclass`,
          [index],
        );
        // CASCADE: a foreign key on the dropped key goes with it (the tenants key, api_keys' reference).
        await tx.query(rows[0] ? `ALTER TABLE ${rows[0].table} DROP CONSTRAINT ${rows[0].name} CASCADE` : `DROP INDEX ${index} CASCADE`);
      }
      throw new RolledBack(await fn(tx));
    })
    .catch((error: unknown) => error);
  if (outcome instanceof RolledBack) return outcome.value as T;
  throw outcome;
}
