/**
 * Capped exponential backoff with jitter (as opentelemetry-js's retrying transport: x1.5 per attempt,
 * +-20%), so that many processes of a pipeline fleet do not retry a recovering receiver in step.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** 0 <= random() < 1; injected by tests. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /** The wait before the next attempt; each call lengthens the following one, up to the cap. */
  next(): number {
    const base = Math.min(this.options.maxMs, this.options.minMs * 1.5 ** this.attempt++);
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
