/**
 * What every pipemon command shares: its usage text, `--help` / `-h`, and strict options, so that a
 * typo is a usage error (exit 2) before anything runs or is recorded.
 */

export interface Command {
  /** One line for `pipemon --help`. */
  summary: string;
  /** The whole usage of the command, for `pipemon COMMAND --help` and usage errors. */
  usage: string;
  /** Runs the command; resolves with its exit code, or undefined for a server that keeps running. */
  run(args: string[]): Promise<number | undefined>;
}

/** A mistake on the command line: told with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Every command's `--help` / `-h`: spread into its options. */
export const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * `parse()` (node:util's parseArgs, strict) with its complaints as usage errors: an unknown option,
 * a missing value, an unexpected argument.
 */
export function parseCommand<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    // node:util names the option: "Unknown option '--pipelin'", "Option '--port <value>' argument missing".
    throw new UsageError((error as Error).message);
  }
}

export function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}
