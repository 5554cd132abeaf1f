/**
 * `pipemon exec -- <command>`: any program (Python, shell, a notebook run from a shell) as a monitored
 * run. Exit code 0 is success, anything else failure; a command that cannot start is `error` (exit
 * 127/126, as shells do); a command stopped by a signal we forwarded is `cancellation`. Every stdout
 * and stderr line is echoed unchanged and becomes a log record; a line that is a JSON object becomes a
 * structured record (level, message, row counts, other fields as attributes).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { constants } from 'node:os';
import { run, type Activity } from './run.js';
import { shutdown, start } from './telemetry.js';
import { ATTR } from './vocabulary.js';

export interface ExecOptions {
  command: string;
  args?: string[];
  /** Default: the command's base name. */
  pipeline?: string;
  /** When set, the command runs as this stage of the run. */
  stage?: string;
  runId?: string;
  /** The team that owns the pipeline (`pipemon.pipeline.owner`). */
  owner?: string;
  /** How often the pipeline is meant to run, in seconds (`pipemon.pipeline.expected_interval_seconds`). */
  expectedIntervalSeconds?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Echo the command's output to our stdout/stderr (default true). */
  echo?: boolean;
  /** Signals to forward to the command while it runs (default SIGTERM, SIGINT, SIGHUP). */
  forwardSignals?: NodeJS.Signals[];
}

/** Thrown into the run's record (not to the caller) when the command exits non-zero. */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError';
}

type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_NAMES: Record<string, Level> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'error',
  critical: 'error',
  crit: 'error',
};

/** pino's numeric levels (10 trace ... 60 fatal); Python's `levelno` is read separately below. */
function pinoLevel(n: number): Level {
  return n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : 'debug';
}

function pythonLevel(n: number): Level {
  return n >= 40 ? 'error' : n >= 30 ? 'warn' : n >= 20 ? 'info' : 'debug';
}

const MESSAGE_KEYS = ['message', 'msg', 'event', 'body'];
const LEVEL_KEYS = ['level', 'severity', 'levelname', 'levelno', 'lvl'];

function count(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export interface ParsedLine {
  level: Level;
  message: string;
  attributes: Record<string, unknown>;
  rows: { read?: number; written?: number; rejected?: number } | null;
}

/** A line of output as a record: JSON objects are structured, anything else is the message itself. */
export function parseLine(line: string, stream: 'stdout' | 'stderr'): ParsedLine {
  // Python's logging writes to stderr and shows only WARNING and above by default.
  const plain: ParsedLine = { level: stream === 'stderr' ? 'warn' : 'info', message: line, attributes: {}, rows: null };
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return plain;
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return plain;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return plain;
  const fields = { ...(data as Record<string, unknown>) };

  let level: Level = 'info';
  if (typeof fields.levelno === 'number') level = pythonLevel(fields.levelno);
  else if (typeof fields.level === 'number') level = pinoLevel(fields.level);
  else {
    const name = LEVEL_KEYS.map((key) => fields[key]).find((value) => typeof value === 'string') as string | undefined;
    level = (name && LEVEL_NAMES[name.toLowerCase()]) || 'info';
  }
  for (const key of LEVEL_KEYS) delete fields[key];

  const messageKey = MESSAGE_KEYS.find((key) => typeof fields[key] === 'string');
  const message = messageKey ? (fields[messageKey] as string) : trimmed;
  if (messageKey) delete fields[messageKey];

  const nested = fields.rows !== null && typeof fields.rows === 'object' ? (fields.rows as Record<string, unknown>) : {};
  const rows = {
    read: count(fields.rows_read ?? fields.rowsRead ?? nested.read),
    written: count(fields.rows_written ?? fields.rowsWritten ?? nested.written),
    rejected: count(fields.rows_rejected ?? fields.rowsRejected ?? nested.rejected),
  };
  const hasRows = rows.read !== undefined || rows.written !== undefined || rows.rejected !== undefined;
  return { level, message, attributes: fields, rows: hasRows ? rows : null };
}

/** Runs the command as a monitored run and resolves with its exit code. Never rejects. */
export async function execMonitored(options: ExecOptions): Promise<number> {
  const pipeline = options.pipeline ?? path.basename(options.command);
  const commandLine = [options.command, ...(options.args ?? [])].join(' ');
  try {
    const runOptions = {
      runId: options.runId,
      owner: options.owner,
      expectedIntervalSeconds: options.expectedIntervalSeconds,
      attributes: { [ATTR.processCommand]: commandLine },
    };
    return await run(pipeline, runOptions, (r) =>
      options.stage ? r.stage(options.stage, (s) => spawnMonitored(s, options)) : spawnMonitored(r, options),
    );
  } catch {
    // run() rethrows only what our callback threw, and spawnMonitored does not throw; belt and braces.
    return 1;
  }
}

function spawnMonitored(activity: Activity, options: ExecOptions): Promise<number> {
  const echo = options.echo ?? true;
  return new Promise<number>((resolve) => {
    let settled = false;
    const signals = options.forwardSignals ?? (['SIGTERM', 'SIGINT', 'SIGHUP'] as NodeJS.Signals[]);
    const forwarders = new Map<NodeJS.Signals, () => void>();
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      for (const [signal, handler] of forwarders) process.off(signal, handler);
      activity.set({ [ATTR.processExitCode]: code });
      resolve(code);
    };

    const child = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env: {
        ...(options.env ?? process.env),
        // W3C trace context for the child's own OpenTelemetry SDK, and the run for its logs.
        TRACEPARENT: `00-${activity.traceId}-${activity.spanId}-01`,
        PIPEMON_RUN_ID: activity.runId,
        PIPEMON_PIPELINE: activity.pipeline,
      },
      stdio: ['inherit', 'pipe', 'pipe'],
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      // The command never ran: the system failed, not the work.
      activity.fail(error, 'error');
      if (echo) process.stderr.write(`pipemon exec: cannot run ${options.command}: ${error.message}\n`);
      finish(error.code === 'ENOENT' ? 127 : 126);
    });

    const follow = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      const target = name === 'stdout' ? process.stdout : process.stderr;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line: string) => {
        if (echo) target.write(`${line}\n`);
        const parsed = parseLine(line, name);
        if (parsed.rows) activity.rows(parsed.rows);
        activity.log[parsed.level](parsed.message, { ...parsed.attributes, [ATTR.logIostream]: name });
      });
    };
    follow(child.stdout, 'stdout');
    follow(child.stderr, 'stderr');

    for (const signal of signals) {
      const handler = () => {
        activity.cancel(`received ${signal}`);
        child.kill(signal);
      };
      forwarders.set(signal, handler);
      process.on(signal, handler);
    }

    // 'close' comes after both output streams ended, so every line has been recorded.
    child.on('close', (code, signal) => {
      if (code === 0) return finish(0);
      const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      // A signal we did not send (OOM killer, operator) means the system stopped the work.
      activity.fail(new CommandFailedError(`${options.command} ${reason}`), signal ? 'error' : 'failure');
      finish(exitCode);
    });
  });
}

export const EXEC_USAGE = `  pipemon exec [--pipeline NAME] [--stage NAME] [--run-id ID] [--owner TEAM] [--expected-interval 1h]
               -- COMMAND [ARGS...]
                runs COMMAND as a monitored run (OTEL_EXPORTER_OTLP_* / PIPEMON_* set the receiver)
                and exits with its exit code`;

const EXEC_FLAGS = {
  '--pipeline': 'pipeline',
  '--stage': 'stage',
  '--run-id': 'runId',
  '--owner': 'owner',
} as const;
const INTERVAL_FLAG = '--expected-interval';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `1d` as seconds; throws saying what is accepted. */
export function parseInterval(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!(seconds > 0)) throw new Error(`--expected-interval must be a positive duration such as 90s, 15m, 1h or 1d, got "${text}"`);
  return seconds;
}

/**
 * Our flags, then the command: everything from `--` or from the first word that is not one of our
 * flags belongs to the command untouched (its own `-e`, `--verbose`...).
 */
type ExecArgs = { [K in (typeof EXEC_FLAGS)[keyof typeof EXEC_FLAGS]]?: string } & { expectedIntervalSeconds?: number; command: string[] };

export function parseExecArgs(argv: string[]): ExecArgs {
  const parsed: ExecArgs = { command: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      i++;
      break;
    }
    const eq = token.indexOf('=');
    const flag = eq > 0 ? token.slice(0, eq) : token;
    if (!(flag in EXEC_FLAGS) && flag !== INTERVAL_FLAG) break;
    const value = eq > 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === INTERVAL_FLAG) parsed.expectedIntervalSeconds = parseInterval(value);
    else parsed[EXEC_FLAGS[flag as keyof typeof EXEC_FLAGS]] = value;
  }
  parsed.command = argv.slice(i);
  return parsed;
}

/** The `pipemon exec` command line; resolves with the exit code to use. */
export async function execCli(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseExecArgs>;
  try {
    parsed = parseExecArgs(argv);
  } catch (error) {
    process.stderr.write(`pipemon exec: ${(error as Error).message}\n\nusage:\n${EXEC_USAGE}\n`);
    return 2;
  }
  const [command, ...args] = parsed.command;
  if (!command) {
    process.stderr.write(`pipemon exec: no command given\n\nusage:\n${EXEC_USAGE}\n`);
    return 2;
  }
  try {
    start({ handleExit: false });
  } catch (error) {
    process.stderr.write(`pipemon exec: ${(error as Error).message}\n`);
    return 2;
  }
  const code = await execMonitored({
    command,
    args,
    pipeline: parsed.pipeline,
    stage: parsed.stage,
    runId: parsed.runId,
    owner: parsed.owner,
    expectedIntervalSeconds: parsed.expectedIntervalSeconds,
  });
  await shutdown();
  return code;
}
