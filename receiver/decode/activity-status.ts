/**
 * The status words of activity records and what each means for a run: notebook loggers write "Success",
 * workflow loggers "SUCCESS"; their notebooks and workflows also report the other outcomes below. Words are
 * matched without regard to case, and with spaces or dashes read as underscores ("In Progress").
 */
import type { Result } from '../../contract/vocabulary.js';
import { FieldError, own, shown, type JsonObject } from './json-fields.js';

/** Where in its run a record stands: begun, still going, or over with a result. */
export type Meaning = { phase: 'start' } | { phase: 'heartbeat' } | { phase: 'end'; result: Result };

const end = (result: Result): Meaning => ({ phase: 'end', result });

const WORDS: Readonly<Record<string, Meaning>> = {
  started: { phase: 'start' },
  starting: { phase: 'start' },
  running: { phase: 'heartbeat' },
  in_progress: { phase: 'heartbeat' },
  success: end('success'),
  succeeded: end('success'),
  successful: end('success'),
  completed: end('success'),
  complete: end('success'),
  done: end('success'),
  failed: end('failure'),
  failure: end('failure'),
  error: end('error'),
  errored: end('error'),
  timeout: end('timeout'),
  timed_out: end('timeout'),
  cancelled: end('cancellation'),
  canceled: end('cancellation'),
  aborted: end('cancellation'),
  skipped: end('skip'),
};

export const STATUS_WORDS: readonly string[] = Object.keys(WORDS);

/** The record's `status`, as sent and as meant; refused naming the accepted words. */
export function statusOf(record: JsonObject): { word: string; meaning: Meaning } {
  const word = own(record, 'status');
  if (word === undefined || word === null) throw new FieldError('status', `is required: one of ${STATUS_WORDS.join(', ')} (any case)`);
  if (typeof word !== 'string') throw new FieldError('status', `must be a string, one of ${STATUS_WORDS.join(', ')}; got ${shown(word)}`);
  const meaning = Object.hasOwn(WORDS, normal(word)) ? WORDS[normal(word)] : undefined;
  if (meaning === undefined) throw new FieldError('status', `must be one of ${STATUS_WORDS.join(', ')} (any case), got ${shown(word)}`);
  return { word, meaning };
}

const normal = (word: string) => word.trim().toLowerCase().replace(/[\s-]+/g, '_');
