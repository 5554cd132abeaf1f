/** `pipemon move-pglite`: an earlier pipemon's PGlite database into the embedded PostgreSQL server. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { movePglite } from '../receiver/storage/move-pglite.js';
import { HELP, parseCommand, printUsage, type Command } from './command.js';
import { STORAGE_OPTIONS } from './storage.js';

const USAGE = `  pipemon move-pglite [--data-dir ./.pipemon]
                moves the PGlite database an earlier pipemon kept in --data-dir into the embedded
                PostgreSQL server (keys stay valid), keeping the old files beside it`;

export const movePgliteCommand: Command = {
  name: 'move-pglite',
  summary: "move an earlier pipemon's PGlite database into the embedded server",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommand(() => parseArgs({ args, strict: true, options: { ...HELP, ...STORAGE_OPTIONS } }));
    if (values.help) return printUsage(USAGE);
    const dataDir = path.resolve(values['data-dir']);
    console.log(`Moving the PGlite database in ${dataDir} into the embedded PostgreSQL server...`);
    const moved = await movePglite(dataDir);
    for (const [table, rows] of Object.entries(moved.rows)) console.log(`  ${table}: ${rows} rows`);
    console.log(`Done. The old files are kept in ${moved.keptAt}: delete them once pipemon serve shows your data.`);
    return 0;
  },
};
