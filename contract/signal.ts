/** The OpenTelemetry signals pipemon sends and receives, each at OTLP's `/v1/<signal>`. */
export const SIGNALS = ['logs', 'traces', 'metrics'] as const;
export type Signal = (typeof SIGNALS)[number];
