/**
 * `pipemon exec [OPTIONS] -- COMMAND`: the command line of the SDK's execMonitored(). Our options come
 * before the command; a word we do not know there is a mistake, told before anything runs.
 */
import { execMonitored } from '../sdk/exec.js';
import { shutdown, start } from '../sdk/activity/telemetry.js';
import { configure, printUsage, UsageError, type Command } from './command.js';

const USAGE = `  pipemon exec [--pipeline NAME] [--stage NAME [--allow-failure]] [--run-id ID] [--owner TEAM]
               [--expected-interval 1h] [--input DATASET]... [--output DATASET]... -- COMMAND [ARGS...]
                runs COMMAND as a monitored run (OTEL_EXPORTER_OTLP_* / PIPEMON_* set the receiver)
                and exits with its exit code. Options go before --; everything after it is the
                command's. --pipeline: default the command's name; --stage: the command is this stage
                of the run; --allow-failure: the stage's failure does not fail the run;
                --input, --output: a dataset it reads or writes, for the lineage graph, named as
                OpenLineage names it (postgres://db:5432/shop.public.orders, s3://bucket/key); repeatable`;

const EXEC_FLAGS = {
  '--pipeline': 'pipeline',
  '--stage': 'stage',
  '--run-id': 'runId',
  '--owner': 'owner',
} as const;
const INTERVAL_FLAG = '--expected-interval';
/** Repeatable: each one adds a dataset. */
const DATASET_FLAGS = { '--input': 'inputs', '--output': 'outputs' } as const;
const ALLOW_FAILURE_FLAG = '--allow-failure';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `1d` as seconds; throws saying what is accepted. */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!(seconds > 0)) throw new UsageError(`--expected-interval must be a positive duration such as 90s, 15m, 1h or 1d, got "${text}"`);
  return seconds;
}

/**
 * Our options, then the command: everything from `--` (or from the first word that is not an option)
 * belongs to the command untouched (its own `-e`, `--verbose`...). Anything else that looks like an
 * option before it is a mistake, told before anything runs: a typo must not become the command, or
 * a pipeline named after it.
 */
type ExecArgs = { [K in (typeof EXEC_FLAGS)[keyof typeof EXEC_FLAGS]]?: string } & {
  expectedIntervalSeconds?: number;
  allowFailure?: boolean;
  inputs?: string[];
  outputs?: string[];
  help?: boolean;
  command: string[];
};

const HELP_FLAGS = new Set(['--help', '-h']);

export function parseExecArgs(argv: string[]): ExecArgs {
  const parsed: ExecArgs = { command: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      i++;
      break;
    }
    if (!token.startsWith('-')) break;
    if (HELP_FLAGS.has(token)) return { help: true, command: [] };
    if (token === ALLOW_FAILURE_FLAG) {
      parsed.allowFailure = true;
      continue;
    }
    const eq = token.indexOf('=');
    const flag = eq > 0 ? token.slice(0, eq) : token;
    if (flag === ALLOW_FAILURE_FLAG) throw new UsageError(`${ALLOW_FAILURE_FLAG} takes no value: write it alone, as ${ALLOW_FAILURE_FLAG}`);
    if (!(flag in EXEC_FLAGS) && !(flag in DATASET_FLAGS) && flag !== INTERVAL_FLAG) {
      throw new UsageError(`unknown option "${flag}" (the command's own options go after --: pipemon exec [OPTIONS] -- COMMAND [ARGS...])`);
    }
    const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === INTERVAL_FLAG) parsed.expectedIntervalSeconds = parseInterval(value);
    else if (flag in DATASET_FLAGS) addDataset(parsed, flag as keyof typeof DATASET_FLAGS, value);
    else parsed[EXEC_FLAGS[flag as keyof typeof EXEC_FLAGS]] = value;
  }
  parsed.command = argv.slice(i);
  if (parsed.allowFailure && parsed.stage === undefined) {
    throw new UsageError(`${ALLOW_FAILURE_FLAG} tolerates a stage's failure: name the stage with --stage NAME, or leave it out`);
  }
  return parsed;
}

function addDataset(parsed: ExecArgs, flag: keyof typeof DATASET_FLAGS, value: string): void {
  if (value.trim() === '') throw new UsageError(`${flag} needs a dataset name, such as postgres://db:5432/shop.public.orders`);
  (parsed[DATASET_FLAGS[flag]] ??= []).push(value);
}

export const execCommand: Command = {
  name: 'exec',
  summary: 'run a command as a monitored run',
  usage: USAGE,
  run: runExec,
};

/** Resolves with the command's own exit code, whatever happened to its records. */
async function runExec(argv: string[]): Promise<number> {
  const parsed = parseExecArgs(argv);
  if (parsed.help) return printUsage(USAGE);
  const [command, ...args] = parsed.command;
  if (!command) throw new UsageError('no command given: pipemon exec [OPTIONS] -- COMMAND [ARGS...]');
  configure(() => start({ handleExit: false }));
  const code = await execMonitored({
    command,
    args,
    pipeline: parsed.pipeline,
    stage: parsed.stage,
    allowFailure: parsed.allowFailure,
    runId: parsed.runId,
    owner: parsed.owner,
    expectedIntervalSeconds: parsed.expectedIntervalSeconds,
    inputs: parsed.inputs,
    outputs: parsed.outputs,
  });
  // shutdown() says on stderr what it could not deliver; whatever happens there, the scheduler sees
  // the command's own exit code.
  await shutdown().catch((error: unknown) => process.stderr.write(`pipemon exec: stopping the SDK failed: ${(error as Error).message}\n`));
  return code;
}
