/**
 * gRPC admission (receiver/grpc/admission.ts) beside OTLP/HTTP on a fresh receiver: calls whose messages
 * are still arriving hold deposits of the largest message they may be, which fill the writer budget
 * while little is held, and an OTLP/HTTP request arriving then waits for them to settle instead of being
 * answered 503. Deposits are held for real: raw HTTP/2 gRPC calls that send their message in two parts.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { until } from '../../helpers/async.js';
import { EXPORT_PATHS } from '../../helpers/grpc.js';
import { logsRequest, post, receiverBackends, startTestReceiver } from '../../helpers/receiver.js';

/** A unary gRPC call that sends the first kilobyte of its message and holds the rest until finish(). */
function slowCall(address: string, key: string, message: Buffer) {
  const session = http2.connect(`http://${address}`);
  const stream = session.request({
    ':method': 'POST',
    ':path': EXPORT_PATHS.logs,
    'content-type': 'application/grpc',
    te: 'trailers',
    authorization: `Bearer ${key}`,
  });
  const status = new Promise<string>((resolve, reject) => {
    stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
    stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(String(headers['grpc-status'])));
    stream.on('error', reject);
  });
  stream.resume();
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  const framed = Buffer.concat([prefix, message]);
  stream.write(framed.subarray(0, 1000));
  return {
    finish: async () => {
      stream.end(framed.subarray(1000));
      try {
        return await status;
      } finally {
        session.close();
      }
    },
  };
}

/** POST /v1/logs: `sent` once the whole request is written, `status` once answered. */
function postLogs(url: string, key: string, body: Buffer) {
  const { hostname, port } = new URL(url);
  const req = http.request({ host: hostname, port, path: '/v1/logs', method: 'POST', headers: {
    'content-type': 'application/x-protobuf', 'content-length': body.length, authorization: `Bearer ${key}` } });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    req.on('error', reject);
  });
  const sent = new Promise<void>((resolve) => req.end(body, resolve));
  return { sent, status };
}

const heldBytes = async (url: string) => Number(/^pipemon_writer_queue_bytes (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

describe.each(receiverBackends())('gRPC deposits beside OTLP/HTTP on $name', (backend) => {
  it('has an OTLP/HTTP request wait for the deposits of gRPC calls still arriving, then stores it, instead of answering 503', async () => {
    const message = logsRequest(Array.from({ length: 200 }, (_, i) => ({ body: `over gRPC ${i}`.padEnd(100, '.') })));
    const maxBodyBytes = message.length * 2;
    // Two deposits fill the budget.
    const r = await startTestReceiver({ ...(await backend.options()), grpcPort: 0, maxBodyBytes, maxQueueBytes: 2 * maxBodyBytes });
    try {
      // The key is checked once before (a lookup, then cached), so that the request below reaches the
      // budget as soon as it is read.
      expect((await post(r.url, '/v1/logs', logsRequest([]), { key: r.key })).status).toBe(200);
      const calls = [slowCall(r.receiver.grpcAddress!, r.key, message), slowCall(r.receiver.grpcAddress!, r.key, message)];
      await until(async () => (await heldBytes(r.url)) === 2 * maxBodyBytes, 'both calls hold their deposits');

      const overHttp = postLogs(r.url, r.key, logsRequest([{ body: 'over HTTP beside gRPC deposits' }]));
      // Sent whole, then a round trip to the same receiver: by its answer, the request has been read.
      await overHttp.sent;
      expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
      expect(await calls[0]!.finish()).toBe('0');
      expect(await overHttp.status).toBe(200);
      expect(await calls[1]!.finish()).toBe('0');
      // The two calls send the same records: stored once.
      const { rows } = await r.receiver.db.query<{ grpc: number; http: number }>(
        `SELECT count(*) FILTER (WHERE body LIKE 'over gRPC %')::int AS grpc, count(*) FILTER (WHERE body = 'over HTTP beside gRPC deposits')::int AS http FROM logs`,
      );
      expect(rows[0]).toEqual({ grpc: 200, http: 1 });
    } finally {
      await r.close();
    }
  });
});
