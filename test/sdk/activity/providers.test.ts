import fs from 'node:fs';
import path from 'node:path';
import { isSpanContextValid, SpanStatusCode } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { describe, expect, it } from 'vitest';
import { createProviders } from '../../../sdk/activity/providers.js';
import { resolveConfig, type StartOptions } from '../../../sdk/delivery/config.js';
import type { Delivery } from '../../../sdk/delivery/delivery.js';
import type { Channel } from '../../../sdk/delivery/record-queue.js';
import { EVENT } from '../../../contract/vocabulary.js';
import { tempDir } from '../../helpers/temp.js';

/** A delivery whose queues keep what is pushed, by signal, with the channel they were made for. */
function fakeDelivery() {
  const queues = new Map<string, { channel: Channel<any>; pushed: any[] }>();
  const delivery = {
    queue<T>(channel: Channel<T>) {
      const queue = { channel, pushed: [] as T[] };
      queues.set(channel.signal, queue);
      return { push: (item: T) => void queue.pushed.push(item), flush: () => undefined, buffered: 0 };
    },
  } as unknown as Delivery;
  return { delivery, queues };
}

const config = (options: StartOptions = {}) => resolveConfig({ spoolDir: tempDir('pipemon-providers-'), handleExit: false, ...options }, {});

describe('pipemon\'s own providers', () => {
  it('push log records into the delivery\'s log queue, keeping errors and run history but not ordinary records', () => {
    const { delivery, queues } = fakeDelivery();
    const { logger } = createProviders(config(), delivery);
    logger.emit({ body: 'batch loaded', severityNumber: SeverityNumber.INFO, severityText: 'INFO' });
    logger.emit({ body: 'lost connection', severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' });
    logger.emit({ body: 'run started', eventName: EVENT.runStart, severityNumber: SeverityNumber.INFO });
    const logs = queues.get('logs')!;
    expect(logs.pushed.map((r) => r.body)).toEqual(['batch loaded', 'lost connection', 'run started']);
    expect(logs.pushed.map((r) => logs.channel.mustKeep(r))).toEqual([false, true, true]);
  });

  it('push ended spans into the trace queue, never sampled out; a failed span is written through', () => {
    const { delivery, queues } = fakeDelivery();
    const { tracer } = createProviders(config(), delivery);
    const ok = tracer.startSpan('stage');
    expect(isSpanContextValid(ok.spanContext())).toBe(true);
    ok.end();
    const failed = tracer.startSpan('stage');
    failed.setStatus({ code: SpanStatusCode.ERROR });
    failed.end();
    const traces = queues.get('traces')!;
    expect(traces.pushed.map((s) => s.name)).toEqual(['stage', 'stage']);
    expect(traces.pushed.map((s) => traces.channel.writeThrough!(s))).toEqual([false, true]);
    expect(traces.pushed.map((s) => traces.channel.mustKeep(s))).toEqual([false, true]);
  });

  it('write records to the local output as well, which shutdown closes, and emit nothing after it', async () => {
    const { delivery, queues } = fakeDelivery();
    const file = path.join(tempDir('pipemon-local-'), 'records.jsonl');
    const providers = createProviders(config({ localOutput: file }), delivery);
    providers.logger.emit({ body: 'to both', severityNumber: SeverityNumber.WARN, severityText: 'WARN' });
    await providers.shutdown();
    providers.logger.emit({ body: 'too late', severityNumber: SeverityNumber.WARN, severityText: 'WARN' });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([expect.objectContaining({ level: 'WARN', message: 'to both' })]);
    expect(queues.get('logs')!.pushed.map((r) => r.body)).toEqual(['to both']);
  });

  it('without a delivery, still record spans and write the local output', async () => {
    const file = path.join(tempDir('pipemon-local-'), 'records.jsonl');
    const providers = createProviders(config({ export: false, localOutput: file }), null);
    expect(providers.tracer.startSpan('run').isRecording()).toBe(true);
    providers.logger.emit({ body: 'local only', severityNumber: SeverityNumber.INFO, severityText: 'INFO' });
    await providers.shutdown();
    expect(fs.readFileSync(file, 'utf8')).toContain('"message":"local only"');
  });
});
