import { get as httpGet } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpType, realisticLogsRequest } from '../../../harness/otlp-fixtures.js';
import { post, receiverBackends, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';

const RECORDS = 50_000;
const PER_REQUEST = 10_000;
const MB = 1024 * 1024;

/** The npm server only: this measures the receiver's memory, which does not depend on the server. */
describe('a large CSV export', () => {
  let r: TestReceiver;
  beforeAll(async () => {
    r = await startTestReceiver({ ...(await receiverBackends()[0]!.options()), maxBodyBytes: 64 * MB });
    const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    for (let sent = 0; sent < RECORDS; sent += PER_REQUEST) {
      const request = realisticLogsRequest({
        values: 'protobuf',
        startUnixNano: start + BigInt(sent) * 10_000n,
        stepNanos: 10_000n,
        scope: { name: 'export-test', version: '1' },
        records: PER_REQUEST,
      });
      const type = otlpType('ExportLogsServiceRequest');
      const body = Buffer.from(type.encode(type.fromObject(request)).finish());
      expect((await post(r.url, '/v1/logs', body, { key: r.key })).status).toBe(200);
    }
  }, 300_000);
  afterAll(() => r?.close());

  it('streams 50k rows to a slow reader while the heap stays flat', async () => {
    // Live memory only: garbage not yet collected would measure the collector's timing, not the export.
    const gc = global.gc;
    if (!gc) throw new Error('run with --expose-gc (vitest.config.ts passes it to the test processes)');
    const live = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = live();
    let chunks = 0;
    let peak = before;
    let bytes = 0;
    let newlines = 0;
    await new Promise<void>((resolve, reject) => {
      httpGet(`${r.url}/api/v1/logs?format=csv`, { headers: { 'x-api-key': r.key } }, async (res) => {
        try {
          expect(res.statusCode).toBe(200);
          for await (const chunk of res as AsyncIterable<Buffer>) {
            bytes += chunk.length;
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
            if (++chunks % 50 === 0) peak = Math.max(peak, live());
            // A reader slower than the database: without backpressure the rows would pile up in the receiver.
            if (newlines % 20 === 0) await sleep(1);
          }
          resolve();
        } catch (error) {
          reject(error as Error);
        }
      }).on('error', reject);
    });
    const growth = peak - before;
    console.log(JSON.stringify({ rows: newlines - 1, exported_mb: +(bytes / MB).toFixed(1), heap_growth_mb: +(growth / MB).toFixed(1) }));
    expect(newlines).toBe(RECORDS + 1);
    // Held in memory, the export would add at least its own size to the heap; streamed, a few pages.
    expect(growth).toBeLessThan(bytes / 4);
  }, 600_000);
});
