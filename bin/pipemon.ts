#!/usr/bin/env node
/**
 * The pipemon command: one table of commands, each with its usage and `--help`. A mistake on the
 * command line is told with the usage and exit code 2, before anything runs or is recorded.
 */
import { readFileSync } from 'node:fs';
import { runCommand } from './command.js';
import { demoCommand } from './demo.js';
import { execCommand } from './exec.js';
import { flushCommand } from './flush.js';
import { keysCommand } from './keys.js';
import { movePgliteCommand } from './move-pglite.js';
import { serveCommand } from './serve.js';

const COMMANDS = new Map(
  [serveCommand, execCommand, flushCommand, demoCommand, keysCommand, movePgliteCommand].map((command) => [command.name, command]),
);

const HELP_WORDS = new Set(['help', '--help', '-h']);
const VERSION_WORDS = new Set(['version', '--version', '-V']);

function overview(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((name) => name.length));
  const lines = [...COMMANDS.values()].map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
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
    if (asked !== undefined) return COMMANDS.has(asked) ? main([asked, '--help']) : mistake(`unknown command "${asked}"`);
    console.log(overview());
    return 0;
  }
  if (VERSION_WORDS.has(name)) {
    if (args.length > 0) return mistake(`${name} takes no arguments, got "${args.join(' ')}"`);
    console.log(version());
    return 0;
  }
  const command = COMMANDS.get(name);
  return command ? runCommand(command, args) : mistake(`unknown command "${name}"`);
}

/** A mistake before any command: told with the overview of the commands. */
function mistake(message: string): number {
  console.error(`pipemon: ${message}\n\n${overview()}`);
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
