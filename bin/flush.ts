/**
 * `pipemon flush`: sends now what pipemon processes that are gone left in a spool, and says what is
 * left. It starts and shuts down as any SDK process does, with nothing of its own to send: the same
 * replay, the same sorting of the receiver's answers, runs of dead processes ended the same way, and
 * the same report of what could not be delivered.
 */
import { parseArgs } from 'node:util';
import { start } from '../sdk/telemetry.js';
import { configure, HELP, parseCommand, UsageError, type Command } from './command.js';

const USAGE = `  pipemon flush [--spool-dir DIR] [--timeout SECONDS]
                sends what pipemon processes that are gone left in the spool (default: the one the
                OTEL_EXPORTER_OTLP_* / PIPEMON_* variables select, as for the SDK) and says what is left;
                exits 0 when nothing is left, 1 when records are (--timeout: default 30)`;

const DEFAULT_TIMEOUT_SECONDS = 30;

export const flushCommand: Command = {
  name: 'flush',
  summary: 'send the records a pipeline left undelivered, and say what is left',
  usage: USAGE,
  async run(argv) {
    const { values } = parseCommand(() =>
      parseArgs({ args: argv, strict: true, options: { ...HELP, 'spool-dir': { type: 'string' }, timeout: { type: 'string' } } }),
    );
    if (values.help) {
      process.stdout.write(`usage:\n${USAGE}\n`);
      return 0;
    }
    const seconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
    // Export on whatever PIPEMON_EXPORT says: sending is what was asked for.
    const sdk = configure(() => start({ spoolDir: values['spool-dir'], export: true, useGlobalProviders: false, handleExit: false, heartbeatSeconds: 0 }));
    const found = sdk.stats().undelivered;
    // shutdown() sends within the timeout and says on stderr what is left, why, and where.
    const report = await sdk.shutdown(seconds * 1000);
    process.stdout.write(`pipemon flush: ${summary(found, report.delivered, report.undelivered, report.spoolDir)}\n`);
    return report.undelivered === 0 ? 0 : 1;
  },
};

function summary(found: number, delivered: number, left: number, spoolDir: string): string {
  if (found === 0 && left === 0) return `nothing to send in ${spoolDir}`;
  return `${delivered} of ${found} records sent from ${spoolDir}${left === 0 ? '; nothing left' : `; ${left} left`}`;
}
