/** OTLP/JSON log requests written by hand, for records whose resource (service, environment) a test chooses. */

export type Value = string | number | boolean;

export interface JsonRecord {
  body?: string;
  timeMs: number;
  severityNumber?: number;
  eventName?: string;
  attributes?: Record<string, Value>;
  traceId?: string;
  spanId?: string;
}

function anyValue(value: Value) {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

const keyValues = (attributes: Record<string, Value>) => Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

export function otlpJsonLogs(resource: Record<string, Value>, records: JsonRecord[]): string {
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: keyValues(resource) },
        scopeLogs: [
          {
            scope: { name: 'query-api-test' },
            logRecords: records.map((record) => ({
              timeUnixNano: String(BigInt(record.timeMs) * 1_000_000n),
              severityNumber: record.severityNumber ?? 9,
              ...(record.body === undefined ? {} : { body: { stringValue: record.body } }),
              ...(record.eventName ? { eventName: record.eventName } : {}),
              attributes: keyValues(record.attributes ?? {}),
              ...(record.traceId ? { traceId: record.traceId } : {}),
              ...(record.spanId ? { spanId: record.spanId } : {}),
            })),
          },
        ],
      },
    ],
  });
}
