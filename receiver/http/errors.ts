/** An HTTP answer other than success, raised anywhere below a route and rendered by the route. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** How long a client should wait before retrying a 503: short, since OpenTelemetry JS gives up past 10 s. */
export const RETRY_AFTER_SECONDS = { overloaded: 1, unavailable: 2 } as const;
