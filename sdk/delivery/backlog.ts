/**
 * The in-memory FIFO of one export queue, kept as a list of batch-sized arrays. Pushing, taking a batch
 * and evicting the oldest record never copy the backlog: with plain arrays, `slice` on every batch
 * taken copied tens of thousands of records per export during a burst (10% of a stage's cost in
 * bench/sdk.ts, mostly as garbage).
 */
export class Backlog<T> {
  private chunks: T[][] = [];
  /** Index of the oldest live item in chunks[0]; items before it were evicted or taken. */
  private head = 0;
  length = 0;

  constructor(private readonly chunkSize: number) {}

  push(item: T): void {
    const tail = this.chunks[this.chunks.length - 1];
    if (tail !== undefined && tail.length < this.chunkSize) tail.push(item);
    else this.chunks.push([item]);
    this.length++;
  }

  /** Drops the oldest item. */
  dropOldest(): void {
    const first = this.chunks[0];
    if (first === undefined) return;
    this.length--;
    if (++this.head >= first.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Removes and returns up to `max` of the oldest items; a whole chunk is handed over, not copied. */
  take(max: number): T[] {
    let out: T[] | null = null;
    while (this.chunks.length > 0 && (out?.length ?? 0) < max) {
      const first = this.chunks[0]!;
      const end = Math.min(first.length, this.head + max - (out?.length ?? 0));
      if (out === null && this.head === 0 && end === first.length) {
        out = first;
      } else {
        out ??= [];
        for (let i = this.head; i < end; i++) out.push(first[i]!);
      }
      this.length -= end - this.head;
      if (end === first.length) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head = end;
      }
    }
    return out ?? [];
  }

  /** Puts items back in front, oldest first (records the disk refused). */
  putBack(items: T[]): void {
    if (items.length === 0) return;
    if (this.head > 0) {
      this.chunks[0] = this.chunks[0]!.slice(this.head);
      this.head = 0;
    }
    this.chunks.unshift(items);
    this.length += items.length;
  }

  /** Removes and returns everything, oldest first. */
  takeAll(): T[] {
    return this.take(this.length);
  }
}
