import { afterEach, describe, expect, it } from 'vitest';
import { GRPC_STATUS } from '../../receiver/model/outcome.js';
import { openListeners, type Listeners } from '../../receiver/listeners.js';
import { grpcClient, retryDelayOf } from '../helpers/grpc.js';
import { logsRequest } from '../helpers/receiver.js';

const opened: Listeners[] = [];
afterEach(async () => {
  for (const listeners of opened.splice(0)) {
    await listeners.stopAccepting(0);
    listeners.closeConnections();
  }
});

describe('the receiver ports before the receiver is ready', () => {
  it('are bound at once and tell every client to retry until served', async () => {
    const listeners = await openListeners({ host: '127.0.0.1', port: 0, grpcPort: 0, metricsPort: 0, maxBodyBytes: 1024 * 1024 });
    opened.push(listeners);

    const http = await fetch(`${listeners.url}/v1/logs`, { method: 'POST', body: new Uint8Array(10) });
    expect(http.status).toBe(503);
    expect(http.headers.get('retry-after')).toBe('2');
    expect(await http.json()).toEqual({ error: 'pipemon is starting: retry shortly' });
    expect((await fetch(listeners.metricsUrl)).status).toBe(503);

    const client = grpcClient(listeners.grpcAddress!);
    try {
      const answer = await client.call('logs', logsRequest([{ body: 'too early' }]));
      expect(answer.code).toBe(GRPC_STATUS.UNAVAILABLE);
      expect(answer.details).toBe('pipemon is starting: retry shortly');
      expect(retryDelayOf(answer)).toBe(2);
    } finally {
      client.close();
    }
  });

  it('pass requests to the handlers once served', async () => {
    const listeners = await openListeners({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024 });
    opened.push(listeners);
    listeners.serve({
      app: (_req, res) => res.end('served'),
      metricsApp: (_req, res) => res.end(),
      grpc: undefined as never,
    });
    expect(await (await fetch(`${listeners.url}/anything`)).text()).toBe('served');
    expect(listeners.grpcAddress).toBeNull();
  });
});
