#!/usr/bin/env node
/**
 * The pipemon command: one table of commands, each with its usage and `--help`. A mistake on the
 * command line is told with the usage and exit code 2, before anything runs or is recorded.
 */
import { readFileSync } from 'node:fs';
import { demoCli, DEMO_USAGE } from '../demo/cli.js';
import { execCli, EXEC_USAGE } from '../sdk/exec.js';
import { flushCli, FLUSH_USAGE } from '../sdk/flush-cli.js';
import { UsageError, type Command } from './command.js';
import { keysCommand } from './keys.js';
import { movePgliteCommand } from './move-pglite.js';
import { serveCommand } from './serve.js';

/** Commands that parse their own arguments and print their own usage errors. */
const selfParsed = (summary: string, usage: string, cli: (args: string[]) => Promise<number>): Command => ({ summary, usage, run: cli });

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  exec: selfParsed('run a command as a monitored run', EXEC_USAGE, execCli),
  flush: selfParsed('send the records a pipeline left undelivered, and say what is left', FLUSH_USAGE, flushCli),
  demo: selfParsed('send realistic demo pipelines to a receiver', DEMO_USAGE, demoCli),
  keys: keysCommand,
  'move-pglite': movePgliteCommand,
};

const HELP_WORDS = new Set(['help', '--help', '-h']);
const VERSION_WORDS = new Set(['version', '--version', '-V']);

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `pipemon ${version()}: one view of every data pipeline's activity, built on OpenTelemetry

usage: pipemon COMMAND [OPTIONS]

commands:
${lines.join('\n')}

pipemon COMMAND --help shows a command's options. Storage: PostgreSQL at $DATABASE_URL when set, else the
embedded PostgreSQL server that pipemon runs with its data in --data-dir (keys works beside a running serve).`;
}

function version(): string {
  const manifest = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...args] = argv;
  if (name === undefined || HELP_WORDS.has(name)) {
    const asked = name === undefined ? undefined : args[0];
    if (asked !== undefined) return COMMANDS[asked] ? main([asked, '--help']) : usageError(`unknown command "${asked}"`);
    console.log(overview());
    return 0;
  }
  if (VERSION_WORDS.has(name)) {
    console.log(version());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) return usageError(`unknown command "${name}"`);
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, command);
    throw error;
  }
}

function usageError(message: string, command?: Command): number {
  const usage = command ? `usage:\n${command.usage}` : overview();
  console.error(`pipemon: ${message}\n\n${usage}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    // A server (serve) keeps running: only commands that finished exit.
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    console.error(`pipemon: ${(error as Error).message}`);
    process.exit(1);
  },
);
