/**
 * A segment's file name, `<ms>-<pid>-<instance>-<seq>-<signal>-<e|n>.wal` (docs/spool-format.md): sortable
 * by age, with its writer and kind in it, so that a reader knows whose it is and what it holds before
 * opening it.
 */
import type { Owner } from './owner.js';
import { SIGNALS, type Signal } from '../../contract/signal.js';

const SEGMENT = new RegExp(`^(\\d{13})-(\\d+)-([0-9a-f]{8})-(\\d+)-(${SIGNALS.join('|')})-([en])\\.wal$`);

export interface SegmentName {
  writer: Owner;
  signal: Signal;
  /** Kept records (`e`): errors and run/stage records, never evicted. */
  keep: boolean;
}

/** What a segment's name says; null for any other name. */
export function parseSegmentName(name: string): SegmentName | null {
  const match = SEGMENT.exec(name);
  if (!match) return null;
  return { writer: { pid: Number(match[2]), instance: match[3]! }, signal: match[5] as Signal, keep: match[6] === 'e' };
}

/** Names this writer's segments, and its in-memory pieces among them (so that they sort by age with them). */
export class SegmentNamer {
  private seq = 0;

  constructor(
    private readonly writer: Owner,
    private readonly now: () => number,
  ) {}

  segment(signal: Signal, keep: boolean): string {
    return `${this.stem(signal)}-${keep ? 'e' : 'n'}.wal`;
  }

  /** Held in memory only: kept records, with an extension no reader of the directory takes for a file. */
  memoryPiece(signal: Signal): string {
    return `${this.stem(signal)}-e.memory`;
  }

  private stem(signal: Signal): string {
    return `${this.now()}-${this.writer.pid}-${this.writer.instance}-${this.seq++}-${signal}`;
  }
}
