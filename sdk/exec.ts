/**
 * `pipemon exec -- <command>`: any program (Python, shell, a notebook run from a shell) as a monitored
 * run. Exit code 0 is success, anything else failure, with the command's last ERROR line as the error;
 * a command that cannot start is `error` (exit 127/126, as shells do); a command stopped by a signal we
 * forwarded is `cancellation`. With `--stage` the command is a stage and the run shares its result,
 * unless the stage's failure is declared tolerated. Every stdout and stderr line is echoed unchanged and
 * becomes a log record; a line that is a JSON object becomes a structured record (level, message, time,
 * row counts, other fields as attributes).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { HrTime } from '@opentelemetry/api';
import type { LogLevel } from '../contract/record-rules.js';
import { logAt, run, type Activity, type Dataset } from './activity/run.js';
import { ATTR } from '../contract/vocabulary.js';

export interface ExecOptions {
  command: string;
  args?: string[];
  /** Default: the command's base name. */
  pipeline?: string;
  /** When set, the command runs as this stage of the run, and the run ends as the stage does. */
  stage?: string;
  /** With `stage`: the stage may fail without failing the run (the stage's `allowFailure`). */
  allowFailure?: boolean;
  runId?: string;
  /** The team that owns the pipeline (`pipemon.pipeline.owner`). */
  owner?: string;
  /** How often the pipeline is meant to run, in seconds (`pipemon.pipeline.expected_interval_seconds`). */
  expectedIntervalSeconds?: number;
  /** Datasets the command reads and writes (`pipemon.lineage.inputs` / `outputs`), on its run or its stage. */
  inputs?: Dataset[];
  outputs?: Dataset[];
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

// A Map, not an object: a level named `constructor` or `toString` must not find Object's methods.
const LEVEL_NAMES = new Map<string, LogLevel>([
  ['trace', 'debug'],
  ['debug', 'debug'],
  ['info', 'info'],
  ['notice', 'info'],
  ['warn', 'warn'],
  ['warning', 'warn'],
  ['error', 'error'],
  ['err', 'error'],
  ['fatal', 'fatal'],
  ['critical', 'fatal'],
  ['crit', 'fatal'],
]);

const levelNamed = (name: string): LogLevel | undefined => LEVEL_NAMES.get(name.toLowerCase());

/** pino's numeric levels (10 trace ... 60 fatal); Python's `levelno` is read separately below. */
function pinoLevel(n: number): LogLevel {
  return n >= 60 ? 'fatal' : n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : 'debug';
}

/** Python's `levelno` (10 DEBUG ... 50 CRITICAL). */
function pythonLevel(n: number): LogLevel {
  return n >= 50 ? 'fatal' : n >= 40 ? 'error' : n >= 30 ? 'warn' : n >= 20 ? 'info' : 'debug';
}

const MESSAGE_KEYS = ['message', 'msg', 'event', 'body'];
const LEVEL_KEYS = ['level', 'severity', 'levelname', 'levelno', 'lvl'];
/** `created` is Python logging's record time (epoch seconds), for formatters that dump the record. */
const TIME_KEYS = ['timestamp', 'time', 'ts', 'created'];

/** ISO 8601 date and time, `T` or a space between, `.` or `,` before the fraction, with or without offset. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
/** Epoch numbers below this are seconds (until the year 5138), above it milliseconds. */
const EPOCH_MILLISECONDS_FROM = 1e11;

/**
 * A record time in milliseconds since the epoch, or undefined when `value` is none. Without an offset
 * an ISO time is the command's local time, as it wrote it.
 */
export function parseTimestamp(value: unknown): number | undefined {
  let ms = NaN;
  if (typeof value === 'number') ms = value < EPOCH_MILLISECONDS_FROM ? value * 1000 : value;
  else if (typeof value === 'string' && ISO_DATE_TIME.test(value.trim())) ms = Date.parse(value.trim().replace(',', '.'));
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** A plain line that starts with its level: Python's default `ERROR:root:...`, `[ERROR] ...`, `error: ...`, `FATAL ...`. */
const LEVEL_PREFIX = /^(?:\[(\w+)\]|(\w+):|([A-Z]+)\s)/;
/** The last line of an uncaught exception: Python's `ValueError: ...`, `pandas.errors.EmptyDataError: ...`. */
const EXCEPTION_LINE = /^(?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception)(?::\s.*)?$/;

/**
 * A plain line's level: the one it starts with; else, on stderr, where runtimes report uncaught
 * exceptions, ERROR for an exception's line and WARN for the rest (Python's logging writes to stderr
 * and shows only WARNING and above by default); else INFO.
 */
function plainLevel(line: string, stream: 'stdout' | 'stderr'): LogLevel {
  const prefix = LEVEL_PREFIX.exec(line);
  const named = prefix ? levelNamed(prefix[1] ?? prefix[2] ?? prefix[3]!) : undefined;
  if (named) return named;
  if (stream === 'stdout') return 'info';
  return EXCEPTION_LINE.test(line) ? 'error' : 'warn';
}

function count(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export interface ParsedLine {
  level: LogLevel;
  message: string;
  attributes: Record<string, unknown>;
  rows: { read?: number; written?: number; rejected?: number } | null;
  /** The line's own time (milliseconds since the epoch), when a JSON line has one. */
  time?: number;
}

/** A line of output as a record: JSON objects are structured, anything else is the message itself. */
export function parseLine(line: string, stream: 'stdout' | 'stderr'): ParsedLine {
  const plain: ParsedLine = { level: plainLevel(line, stream), message: line, attributes: {}, rows: null };
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

  let level: LogLevel = 'info';
  if (typeof fields.levelno === 'number') level = pythonLevel(fields.levelno);
  else if (typeof fields.level === 'number') level = pinoLevel(fields.level);
  else {
    const name = LEVEL_KEYS.map((key) => fields[key]).find((value) => typeof value === 'string') as string | undefined;
    level = (name && levelNamed(name)) || 'info';
  }
  for (const key of LEVEL_KEYS) delete fields[key];

  // An unparseable time stays an attribute, so that nothing the command wrote is lost.
  const timeKey = TIME_KEYS.find((key) => fields[key] !== undefined);
  const time = timeKey === undefined ? undefined : parseTimestamp(fields[timeKey]);
  if (time !== undefined) delete fields[timeKey!];

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
  const parsed: ParsedLine = { level, message, attributes: fields, rows: hasRows ? rows : null };
  if (time !== undefined) parsed.time = time;
  return parsed;
}

/** Now in whole microseconds since the epoch, on the clock of the SDK's own records. */
const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * Record times of one output stream: a line's own time, else now, but at least a microsecond (a step
 * that stores keeping microseconds still see) after the previous line's, so that times follow the order
 * the lines were written in: lines stamped alike (a whole second, or faster than the stamp's
 * resolution) or stamped before a line that came earlier would otherwise sort out of it.
 */
function streamClock(): (lineMs: number | undefined) => HrTime {
  let last = -Infinity;
  return (lineMs) => {
    last = Math.max(lineMs === undefined ? nowMicros() : Math.round(lineMs * 1000), last + 1);
    return [Math.floor(last / 1e6), (last % 1e6) * 1000];
  };
}

/** Runs the command as a monitored run and resolves with its exit code. Never rejects. */
export async function execMonitored(options: ExecOptions): Promise<number> {
  const pipeline = options.pipeline ?? path.basename(options.command);
  const commandLine = [options.command, ...(options.args ?? [])].join(' ');
  // What the command reads and writes belongs to what it is: the run, or the stage it runs as.
  const lineage = { inputs: options.inputs, outputs: options.outputs };
  try {
    const runOptions = {
      runId: options.runId,
      owner: options.owner,
      expectedIntervalSeconds: options.expectedIntervalSeconds,
      attributes: { [ATTR.processCommand]: commandLine },
      ...(options.stage ? {} : lineage),
    };
    return await run(pipeline, runOptions, async (r) => {
      if (!options.stage) return settle(r, await spawnMonitored(r, options));
      const stageOptions = { allowFailure: options.allowFailure, ...lineage };
      // Defined: without skipWhenEmpty the stage calls back, and the callback never throws.
      const exit = (await r.stage(options.stage, stageOptions, async (s) => {
        const stageExit = await spawnMonitored(s, options);
        settle(s, stageExit);
        return stageExit;
      }))!;
      // The command is all the run does: a failure of its stage is the run's, unless declared tolerated.
      return settle(r, options.allowFailure ? { ...exit, failure: null } : exit);
    });
  } catch {
    // run() rethrows only what our callback threw, and spawnMonitored does not throw; belt and braces.
    return 1;
  }
}

/** How a command ended, for its run or stage (and the run around that stage) to record. */
interface CommandExit {
  code: number;
  /** Why it did not succeed: a failure of its work, or an error of the system (not found, killed). */
  failure: { error: Error; result: 'failure' | 'error' } | null;
  /** The signal we forwarded to it, which stops it as asked: a cancellation, not a failure. */
  cancelledBy: NodeJS.Signals | null;
}

/** Records how the command ended on `activity`; returns the exit code to pass on. */
function settle(activity: Activity, exit: CommandExit): number {
  activity.set({ [ATTR.processExitCode]: exit.code });
  // A cancellation first: the error of the signal that followed it does not change the result.
  if (exit.cancelledBy) activity.cancel(`received ${exit.cancelledBy}`);
  if (exit.failure) activity.fail(exit.failure.error, exit.failure.result);
  return exit.code;
}

function spawnMonitored(activity: Activity, options: ExecOptions): Promise<CommandExit> {
  const echo = options.echo ?? true;
  return new Promise<CommandExit>((resolve) => {
    let settled = false;
    let cancelledBy: NodeJS.Signals | null = null;
    /** The message of the last line at ERROR or worse: the command's own word on what went wrong. */
    let lastError: string | null = null;
    const signals = options.forwardSignals ?? (['SIGTERM', 'SIGINT', 'SIGHUP'] as NodeJS.Signals[]);
    const forwarders = new Map<NodeJS.Signals, () => void>();
    const finish = (code: number, failure: CommandExit['failure'] = null) => {
      if (settled) return;
      settled = true;
      for (const [signal, handler] of forwarders) process.off(signal, handler);
      resolve({ code, failure, cancelledBy });
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
      if (echo) process.stderr.write(`pipemon exec: cannot run ${options.command}: ${error.message}\n`);
      // The command never ran: the system failed, not the work.
      finish(error.code === 'ENOENT' ? 127 : 126, { error, result: 'error' });
    });

    const follow = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      const target = name === 'stdout' ? process.stdout : process.stderr;
      const clock = streamClock();
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line: string) => {
        if (echo) target.write(`${line}\n`);
        const parsed = parseLine(line, name);
        if (parsed.rows) activity.rows(parsed.rows);
        if ((parsed.level === 'error' || parsed.level === 'fatal') && parsed.message.trim() !== '') lastError = parsed.message;
        logAt(activity, parsed.level, parsed.message, { ...parsed.attributes, [ATTR.logIostream]: name }, clock(parsed.time));
      });
    };
    follow(child.stdout, 'stdout');
    follow(child.stderr, 'stderr');

    for (const signal of signals) {
      const handler = () => {
        cancelledBy ??= signal;
        child.kill(signal);
      };
      forwarders.set(signal, handler);
      process.on(signal, handler);
    }

    // 'close' comes after both output streams ended, so every line has been recorded.
    child.on('close', (code, signal) => {
      if (code === 0) return finish(0);
      const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      // A signal we did not send (OOM killer, operator) means the system stopped the work.
      if (signal) return finish(exitCode, { error: new CommandFailedError(`${options.command} killed by ${signal}`), result: 'error' });
      finish(exitCode, { error: new CommandFailedError(lastError ?? `${options.command} exited with code ${code}`), result: 'failure' });
    });
  });
}
