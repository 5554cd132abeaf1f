/**
 * `pipemon flush`: sends now what pipemon processes that are gone left in a spool, and says what is
 * left. It starts and shuts down as any SDK process does, with nothing of its own to send: the same
 * replay, the same sorting of the receiver's answers, runs of dead processes ended the same way, and
 * the same report of what could not be delivered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultSpoolRoot } from '../sdk/delivery/config.js';
import { spooledBytesIn } from '../sdk/spool/segment-store.js';
import { start } from '../sdk/activity/telemetry.js';
import { configure, HELP, parseCommand, printUsage, UsageError, type Command } from './command.js';

const USAGE = `  pipemon flush [--spool-dir DIR] [--timeout SECONDS]
                sends what pipemon processes that are gone left in the spool (default: the one the
                OTEL_EXPORTER_OTLP_* / PIPEMON_* variables select, as for the SDK) and says what is left,
                naming other spools of this user that hold records; exits 0 when nothing is left
                anywhere, 1 when records are (--timeout: default 30)`;

const DEFAULT_TIMEOUT_SECONDS = 30;

export const flushCommand: Command = {
  name: 'flush',
  summary: 'send the records a pipeline left undelivered, and say what is left',
  usage: USAGE,
  async run(argv) {
    const { values } = parseCommand(() =>
      parseArgs({ args: argv, strict: true, options: { ...HELP, 'spool-dir': { type: 'string' }, timeout: { type: 'string' } } }),
    );
    if (values.help) return printUsage(USAGE);
    const seconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
    // Export on whatever PIPEMON_EXPORT says: sending is what was asked for.
    const sdk = configure(() => start({ spoolDir: values['spool-dir'], export: true, useGlobalProviders: false, handleExit: false, heartbeatSeconds: 0 }));
    const found = sdk.stats().undelivered;
    // shutdown() sends within the timeout and says on stderr what is left, why, and where.
    const report = await sdk.shutdown(seconds * 1000);
    process.stdout.write(`pipemon flush: ${summary(found, report.delivered, report.undelivered, report.spoolDir)}\n`);
    const others = otherSpools(report.spoolDir);
    if (others.length > 0) process.stderr.write(`${othersMessage(others)}\n`);
    return report.undelivered === 0 && others.length === 0 ? 0 : 1;
  },
};

/**
 * Default spools of this user other than the one flushed, that hold records: one per endpoint and key,
 * so records spooled under a missing or wrong key wait in another folder than the right key selects.
 */
function otherSpools(flushed: string): { dir: string; bytes: number }[] {
  const root = defaultSpoolRoot();
  // A spool chosen by --spool-dir or PIPEMON_SPOOL_DIR is the one meant: no other is looked for.
  if (path.dirname(flushed) !== root) return [];
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .map((name) => path.join(root, name))
    .filter((dir) => dir !== flushed)
    .map((dir) => ({ dir, bytes: spooledBytesIn(dir) }))
    .filter((spool) => spool.bytes > 0);
}

function othersMessage(others: { dir: string; bytes: number }[]): string {
  const list = others.map(({ dir, bytes }) => `  ${dir} (${bytes} bytes)`).join('\n');
  return (
    `pipemon flush: records are also waiting in spools of other endpoints or keys (a missing or refused key spools apart):\n${list}\n` +
    'Send each with pipemon flush --spool-dir DIR, with the endpoint and key its records belong to.'
  );
}

function summary(found: number, delivered: number, left: number, spoolDir: string): string {
  if (found === 0 && left === 0) return `nothing to send in ${spoolDir}`;
  return `${delivered} of ${found} records sent from ${spoolDir}${left === 0 ? '; nothing left' : `; ${left} left`}`;
}
