/** `pipemon keys`: create, list and revoke API keys, beside a running serve or without one. */
import { parseArgs } from 'node:util';
import { createKey, isScope, listKeys, revokeKey, SCOPES } from '../receiver/auth/keys.js';
import { holdsEmbeddedServer } from '../receiver/storage/embedded-server.js';
import { openDatabase } from '../receiver/storage/open.js';
import type { Database } from '../receiver/storage/database.js';
import { HELP, parseCommand, printUsage, UsageError, type Command } from './command.js';
import { STORAGE_OPTIONS, storage } from './storage.js';

const USAGE = `  pipemon keys create --tenant NAME --scopes ingest,read [--data-dir ./.pipemon]
                a new key of tenant NAME (created if new), shown once; scopes: ${SCOPES.join(', ')}
  pipemon keys list [--data-dir ./.pipemon]
  pipemon keys revoke KEY_ID [--data-dir ./.pipemon]`;

const ACTIONS = ['create', 'list', 'revoke'] as const;
type Action = (typeof ACTIONS)[number];

export const keysCommand: Command = {
  name: 'keys',
  summary: 'create, list and revoke API keys',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommand(() =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...HELP, ...STORAGE_OPTIONS, tenant: { type: 'string' }, scopes: { type: 'string' } } }),
    );
    if (values.help) return printUsage(USAGE);
    const [action, ...rest] = positionals;
    if (!ACTIONS.includes(action as Action)) {
      throw new UsageError(action === undefined ? `keys needs an action: ${ACTIONS.join(', ')}` : `unknown keys action "${action}": use ${ACTIONS.join(', ')}`);
    }
    // Checked before the database opens: a mistake changes nothing.
    const work = plan(action as Action, rest, values.tenant, values.scopes);
    const where = storage(values['data-dir']);
    // Keys belong to a receiver's database: never start a new, empty one where there is none.
    if (!where.databaseUrl && !holdsEmbeddedServer(where.dataDir)) {
      throw new UsageError(
        `no pipemon database in ${where.dataDir}: run pipemon keys in the folder where pipemon serve runs, or pass --data-dir with its data directory (or set DATABASE_URL to its server)`,
        false,
      );
    }
    // Beside a running pipemon serve, connect to the server it runs.
    const db = await openDatabase({ ...where, whenInUse: 'connect' });
    try {
      await work(db);
    } finally {
      await db.close();
    }
    return 0;
  },
};

function plan(action: Action, positionals: string[], tenant: string | undefined, scopeList: string | undefined): (db: Database) => Promise<void> {
  const extra = action === 'revoke' ? positionals.slice(1) : positionals;
  if (extra.length > 0) throw new UsageError(`keys ${action}: unexpected argument "${extra[0]}"`);
  if (action === 'create') {
    if (!tenant) throw new UsageError('keys create needs --tenant NAME');
    if (scopeList === undefined) throw new UsageError(`keys create needs --scopes: some of ${SCOPES.join(', ')} (ingest,read for a pipeline that also reads)`);
    const scopes = scopeList.split(',').map((s) => s.trim()).filter(Boolean);
    if (scopes.length === 0 || !scopes.every(isScope)) {
      throw new UsageError(`--scopes must list some of ${SCOPES.join(', ')}, got "${scopeList}"`);
    }
    return async (db) => {
      const created = await createKey(db, tenant, scopes);
      const tenantNote = created.tenantCreated ? `Created tenant "${tenant}". ` : '';
      console.log(`${tenantNote}Key ${created.keyId} for tenant "${tenant}" (scopes ${scopes.join(',')}). It is shown only once:\n\n  ${created.key}\n`);
    };
  }
  if (tenant !== undefined || scopeList !== undefined) throw new UsageError(`keys ${action} takes no --tenant or --scopes`);
  if (action === 'list') return listAll;
  const id = positionals[0];
  if (!id) throw new UsageError('keys revoke needs a KEY_ID (see pipemon keys list)');
  return async (db) => {
    if (!(await revokeKey(db, id))) throw new UsageError(`no key with id "${id}" (see pipemon keys list)`);
    console.log(`Key ${id} revoked.`);
  };
}

async function listAll(db: Database): Promise<void> {
  const rows = await listKeys(db);
  console.log(['KEY ID', 'TENANT', 'SCOPES', 'CREATED', 'REVOKED'].join('\t'));
  for (const key of rows) {
    console.log([key.keyId, key.tenant, key.scopes.join(','), iso(key.createdAt), key.revokedAt ? iso(key.revokedAt) : '-'].join('\t'));
  }
}

function iso(value: Date | string): string {
  return new Date(value).toISOString();
}
