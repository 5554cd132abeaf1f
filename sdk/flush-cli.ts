/**
 * `pipemon flush`: sends now what pipemon processes that are gone left in a spool, and says what is
 * left. It starts and shuts down as any SDK process does, with nothing of its own to send: the same
 * replay, the same sorting of the receiver's answers, runs of dead processes ended the same way, and
 * the same report of what could not be delivered.
 */
import { parseArgs } from 'node:util';
import { start } from './telemetry.js';

export const FLUSH_USAGE = `  pipemon flush [--spool-dir DIR] [--timeout SECONDS]
                sends what pipemon processes that are gone left in the spool (default: the one the
                OTEL_EXPORTER_OTLP_* / PIPEMON_* variables select, as for the SDK) and says what is left;
                exits 0 when nothing is left, 1 when records are (--timeout: default 30)`;

const DEFAULT_TIMEOUT_SECONDS = 30;

interface FlushArgs {
  help: boolean;
  spoolDir?: string;
  timeoutMs: number;
}

export function parseFlushArgs(argv: string[]): FlushArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' }, 'spool-dir': { type: 'string' }, timeout: { type: 'string' } },
  });
  const seconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new Error(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  return { help: values.help ?? false, spoolDir: values['spool-dir'], timeoutMs: seconds * 1000 };
}

/**
 * The `pipemon flush` command line; resolves with the exit code to use. Meant for a process of its own:
 * it starts the process's SDK instance on the spool to flush, and shuts it down.
 */
export async function flushCli(argv: string[]): Promise<number> {
  let args: FlushArgs;
  try {
    args = parseFlushArgs(argv);
  } catch (error) {
    process.stderr.write(`pipemon flush: ${(error as Error).message}\n\nusage:\n${FLUSH_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`usage:\n${FLUSH_USAGE}\n`);
    return 0;
  }
  let sdk: ReturnType<typeof start>;
  try {
    // Export on whatever PIPEMON_EXPORT says: sending is what was asked for.
    sdk = start({ spoolDir: args.spoolDir, export: true, useGlobalProviders: false, handleExit: false, heartbeatSeconds: 0 });
  } catch (error) {
    process.stderr.write(`pipemon flush: ${(error as Error).message}\n`);
    return 2;
  }
  const found = sdk.stats().undelivered;
  // shutdown() sends within the timeout and says on stderr what is left, why, and where.
  const report = await sdk.shutdown(args.timeoutMs);
  process.stdout.write(`pipemon flush: ${summary(found, report.delivered, report.undelivered, report.spoolDir)}\n`);
  return report.undelivered === 0 ? 0 : 1;
}

function summary(found: number, delivered: number, left: number, spoolDir: string): string {
  if (found === 0 && left === 0) return `nothing to send in ${spoolDir}`;
  return `${delivered} of ${found} records sent from ${spoolDir}${left === 0 ? '; nothing left' : `; ${left} left`}`;
}
