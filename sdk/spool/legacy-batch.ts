/**
 * Batch files of the spool before segments: one request body per file, no frame header, its record
 * count in the name. Never written any more; still replayed after an upgrade, by whoever finds them
 * (they name no instance, so no live writer can claim them).
 */
import type { Frame } from './frames.js';
import type { Signal } from '../../contract/signal.js';

// <ms>-<pid>-<seq>-<signal>-<e|n>-<records>.otlp
const BATCH_FILE = /^(\d{13})-(\d+)-(\d+)-(logs|traces)-([en])-(\d+)\.otlp$/;

export interface LegacyBatch {
  signal: Signal;
  keep: boolean;
  records: number;
}

/** What a batch file's name says; null for any other name. */
export function parseLegacyBatchName(name: string): LegacyBatch | null {
  const match = BATCH_FILE.exec(name);
  if (!match) return null;
  return { signal: match[4] as Signal, keep: match[5] === 'e', records: Number(match[6]) };
}

/** A batch file's content as the one frame it amounts to. */
export function legacyBatchFrames(batch: LegacyBatch, content: Uint8Array): Frame[] {
  return [{ records: batch.records, body: content }];
}
