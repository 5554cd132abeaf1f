/**
 * What a process says when it stops with records it could not deliver: how many, why, where they are
 * kept and how they will reach the receiver. Said once, on stderr, by shutdown() and the exit hook:
 * a pipeline whose records never arrive must not look like one that is fine.
 */
import type { Config } from './config.js';
import type { DeliveryFailure, DeliveryStats } from './delivery-stats.js';

export interface DeliveryReport extends Pick<DeliveryStats, 'undelivered' | 'delivered' | 'dropped' | 'refused' | 'spooledBytes' | 'lastFailure'> {
  /** Where the undelivered records are kept, for the next pipemon process using it or `pipemon flush`. */
  spoolDir: string;
  /** The paragraph for stderr; null when nothing was left behind or dropped. */
  message: string | null;
}

type Destination = Pick<Config, 'endpoint' | 'spoolDir'>;

export function deliveryReport(stats: DeliveryStats, destination: Destination): DeliveryReport {
  const { undelivered, delivered, dropped, refused, spooledBytes, lastFailure } = stats;
  const parts = [leftBehind(stats, destination), refusedPart(stats, destination.endpoint), droppedPart(stats), latePart(stats)];
  const said = parts.filter((part): part is string => part !== null);
  const message = said.length === 0 ? null : `pipemon: ${said.join(' ')}`;
  return { undelivered, delivered, dropped, refused, spooledBytes, lastFailure, spoolDir: destination.spoolDir, message };
}

function leftBehind(stats: DeliveryStats, { endpoint, spoolDir }: Destination): string | null {
  if (stats.undelivered === 0) return null;
  // A malformed batch is dropped, so it never keeps the others waiting.
  const failure = stats.lastFailure?.kind === 'malformed' ? null : stats.lastFailure;
  const size = stats.spooledBytes > 0 ? ` (${bytes(stats.spooledBytes)})` : '';
  const flush = `\`pipemon flush --spool-dir ${shellWord(spoolDir)}\``;
  return `${records(stats.undelivered)}${size} not delivered: ${why(failure, endpoint)}. They are kept in ${spoolDir}; ${remedy(failure, flush)}.`;
}

function why(failure: DeliveryFailure | null, endpoint: string): string {
  if (failure === null) return 'this process stopped before they were sent';
  const receiver = `the receiver at ${endpoint}`;
  if (failure.kind === 'no-key') return `no API key is set and ${receiver} answered ${failure.message}`;
  if (failure.kind === 'key-refused') return `${receiver} refused the API key (${failure.message})`;
  return failure.status === null ? `${receiver} did not answer (${failure.message})` : `${receiver} answered ${failure.message}`;
}

/** What to do, and when the records go. A new key selects another default spool: hence --spool-dir. */
function remedy(failure: DeliveryFailure | null, flush: string): string {
  const later = `the next pipemon process using this spool sends them, or ${flush} now`;
  switch (failure?.kind) {
    case 'no-key':
      return `set PIPEMON_API_KEY to the key \`pipemon serve\` printed (saved in .pipemon/default-api-key of the folder where it runs), then send them with ${flush}`;
    case 'key-refused':
      return `set PIPEMON_API_KEY to a key of that receiver with the ingest scope (\`pipemon keys create --tenant NAME --scopes ingest\` in the folder where \`pipemon serve\` runs), then send them with ${flush}`;
    case 'unavailable':
      return unavailableRemedy(failure.status, later, flush);
    default:
      return later;
  }
}

/** A receiver that did not answer is started or pointed at; an answer of 404 means another path. */
function unavailableRemedy(status: number | null, later: string, flush: string): string {
  if (status === 404) {
    return `OTEL_EXPORTER_OTLP_ENDPOINT must be the receiver's base URL (such as http://127.0.0.1:4318, without /v1/logs or /v1/traces); with it right, send them with ${flush}`;
  }
  if (status === null) return `once the receiver answers (is \`pipemon serve\` running there? OTEL_EXPORTER_OTLP_ENDPOINT sets the address), ${later}`;
  return `once the receiver takes them again, ${later}`;
}

function refusedPart(stats: DeliveryStats, endpoint: string): string | null {
  if (stats.refused === 0) return null;
  const answer = stats.lastFailure?.kind === 'malformed' ? stats.lastFailure.message : 'HTTP 400 or 413';
  return `${records(stats.refused)} refused by the receiver at ${endpoint} as malformed (${answer}) and dropped: resending them cannot succeed.`;
}

function droppedPart(stats: DeliveryStats): string | null {
  const other = stats.dropped - stats.refused - (stats.late ?? 0);
  if (other === 0) return null;
  return `${records(other)} dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its bound) or the disk refused them.`;
}

function latePart({ late = 0 }: DeliveryStats): string | null {
  if (late === 0) return null;
  const measurements = late === 1 ? '1 metric measurement' : `${late} metric measurements`;
  return `${measurements} dropped: made after their run or stage ended, or after shutdown(); record them inside the run.`;
}

const records = (n: number) => (n === 1 ? '1 record' : `${n} records`);

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  return n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** A path as one shell word, so that a command printed with it can be pasted as it is. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
