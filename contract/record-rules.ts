/**
 * What both SDKs (sdk/ in Node, python/ in Python) must write alike beyond the names of vocabulary.ts:
 * each log level's OpenTelemetry severity, the key fragments whose values are masked, and the bounds of
 * a value's preview. contract/vocabulary-python.ts writes them into the Python SDK.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Each level's OpenTelemetry severity number and text: the SDK's log methods and logAt() emit these. */
export const SEVERITY: Record<LogLevel, [SeverityNumber, string]> = {
  debug: [SeverityNumber.DEBUG, 'DEBUG'],
  info: [SeverityNumber.INFO, 'INFO'],
  warn: [SeverityNumber.WARN, 'WARN'],
  error: [SeverityNumber.ERROR, 'ERROR'],
  fatal: [SeverityNumber.FATAL, 'FATAL'],
};

/** What a masked value shows instead of itself. */
export const MASK = '***';

/** Key fragments masked by default, compared without case, '-' or '_'. */
export const DEFAULT_SENSITIVE = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'auth',
  'cookie',
  'credential',
  'privatekey',
  'accesskey',
  'session',
  'signature',
  'connectionstring',
] as const;

/** The default bounds of a preview: characters, entries per container, levels. */
export const PREVIEW_LIMITS = { maxRepr: 1000, maxItems: 10, maxDepth: 4 } as const;
