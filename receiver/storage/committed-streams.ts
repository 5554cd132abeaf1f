/**
 * The log and metric streams this process has seen committed, by key, so that a batch sends only the
 * stream lines of streams that may be new. A metrics export names about as many series as it has points,
 * and sending each one's metric_streams line again (resource, scope and attributes: several hundred
 * bytes) to have ON CONFLICT skip it cost more than the points themselves (bench:ingest).
 *
 * Only what committed is remembered, and forgetting is always safe: a stream sent again conflicts and is
 * skipped. A tenant's shorter retention may delete a remembered stream of an old day whose points then
 * arrive; they are past that retention, and its next pass deletes them with the rest.
 */
/** What a batch's requests carry of streams: their lines by key (record-copy.ts RecordLines). */
interface StreamLines {
  streamLines: Map<string, string>;
  metricStreamLines: Map<string, string>;
}

export interface CommittedStreams {
  /** The lines of these streams (by key) not known to be committed. */
  unknown(lines: Iterable<[string, string]>): string[];
  /** The batch committed: its streams are stored. */
  committed(batch: readonly StreamLines[]): void;
}

/** Remembers nothing: every stream line is sent. */
export const NO_COMMITTED_STREAMS: CommittedStreams = {
  unknown: (lines) => [...new Map(lines).values()],
  committed: () => {},
};

/** Keys held before starting afresh: about 100 bytes each. */
const MAX_KEYS = 500_000;

export function createCommittedStreams(maxKeys = MAX_KEYS): CommittedStreams {
  const known = new Set<string>();
  return {
    unknown(lines) {
      const unknown = new Map<string, string>();
      for (const [key, line] of lines) if (!known.has(key)) unknown.set(key, line);
      return [...unknown.values()];
    },
    committed(batch) {
      for (const lines of batch) {
        for (const key of lines.streamLines.keys()) known.add(key);
        for (const key of lines.metricStreamLines.keys()) known.add(key);
      }
      if (known.size > maxKeys) known.clear();
    },
  };
}
