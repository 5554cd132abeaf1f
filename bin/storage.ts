/** Where the commands that open the database find it: $DATABASE_URL, else the embedded server in --data-dir. */
import path from 'node:path';

export const STORAGE_OPTIONS = { 'data-dir': { type: 'string', default: './.pipemon' } } as const;

export function storage(dataDir: string) {
  return { databaseUrl: process.env.DATABASE_URL || undefined, dataDir: path.resolve(dataDir) };
}
