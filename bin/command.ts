/**
 * What every pipemon command shares: its usage text, `--help` / `-h`, and strict options, so that a
 * typo is a usage error (exit 2) before anything runs or is recorded.
 */

export interface Command {
  /** The word after `pipemon`. */
  name: string;
  /** One line for `pipemon --help`. */
  summary: string;
  /** The whole usage of the command, for `pipemon COMMAND --help` and usage errors. */
  usage: string;
  /** Runs the command; resolves with its exit code, or undefined for a server that keeps running. */
  run(args: string[]): Promise<number | undefined>;
}

/** A mistake on the command line (told with the command's usage) or in its environment: exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super(message);
  }
}

/** Runs a start-up step that reads the environment (the SDK's configuration): its complaint is exit 2. */
export function configure<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw new UsageError((error as Error).message, false);
  }
}

/** Answers `--help`: the usage on stdout, exit code 0. */
export function printUsage(usage: string): number {
  process.stdout.write(`usage:\n${usage}\n`);
  return 0;
}

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
    throw new UsageError(reworded((error as Error).message));
  }
}

/** node:util's complaints in the words every pipemon command uses (exec parses its own arguments). */
function reworded(message: string): string {
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option "${unknown[1]}"`;
  const missing = /^Option '(-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[2]} needs a value`;
  const unexpected = /^Unexpected argument '([^']*)'/.exec(message);
  if (unexpected) return `unexpected argument "${unexpected[1]}"`;
  return message;
}

export function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/** Runs `command`, telling a mistake as every command does; resolves with the exit code (undefined: it serves on). */
export async function runCommand(command: Command, args: string[]): Promise<number | undefined> {
  try {
    return await command.run(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`pipemon ${command.name}: ${error.message}${error.showUsage ? `\n\nusage:\n${command.usage}` : ''}\n`);
    return 2;
  }
}
