/**
 * A local write, as notebook loggers kept one so that records stay readable when no monitor service
 * is up: every log record as one JSON object per line, to stdout, stderr or a file, useful with no
 * receiver at all. A stream write buffers in memory, so emit does not wait for the disk or the
 * terminal.
 */
import fs from 'node:fs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { hrTimeToMilliseconds } from '@opentelemetry/core';

export interface LocalLine {
  timestamp: string;
  level: string;
  component: string;
  message: unknown;
  event?: string;
  trace_id?: string;
  span_id?: string;
  attributes: Record<string, unknown>;
}

export function toLocalLine(record: ReadableLogRecord): LocalLine {
  const line: LocalLine = {
    timestamp: new Date(hrTimeToMilliseconds(record.hrTime)).toISOString(),
    level: record.severityText ?? 'INFO',
    component: String(record.resource.attributes['service.name'] ?? record.instrumentationScope.name),
    message: record.body ?? null,
    attributes: { ...record.attributes },
  };
  if (record.eventName) line.event = record.eventName;
  if (record.spanContext) {
    line.trace_id = record.spanContext.traceId;
    line.span_id = record.spanContext.spanId;
  }
  return line;
}

export interface LocalOutput {
  write(record: ReadableLogRecord): void;
  close(): Promise<void>;
}

export function createLocalOutput(target: string): LocalOutput {
  const stream: NodeJS.WritableStream =
    target === 'stdout' ? process.stdout : target === 'stderr' ? process.stderr : fs.createWriteStream(target, { flags: 'a' });
  // A broken pipe or full disk must not become an uncaught exception in the pipeline.
  stream.on('error', () => undefined);
  return {
    write(record) {
      try {
        stream.write(`${JSON.stringify(toLocalLine(record), jsonSafe)}\n`);
      } catch {
        // Never throw into the pipeline.
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (stream === process.stdout || stream === process.stderr) resolve();
        else (stream as fs.WriteStream).end(() => resolve());
      }),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}
