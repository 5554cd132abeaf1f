import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetryingTransport } from '../../../sdk/delivery/retrying-transport.js';
import { createHttpTransport, failureKind, sortAnswer, type Outcome, type Transport } from '../../../sdk/delivery/transport.js';
import { closedPort } from '../../helpers/cli.js';
import { listenOnLoopback } from '../../helpers/net.js';

describe('sorting the receiver answers', () => {
  it('sorts every status once: 2xx ok, 400 and 413 refused, anything else retried', () => {
    expect(sortAnswer(200, null).kind).toBe('ok');
    expect(sortAnswer(400, null).kind).toBe('refused');
    expect(sortAnswer(413, null).kind).toBe('refused');
    for (const status of [401, 403, 404, 429, 500, 503]) expect(sortAnswer(status, null).kind).toBe('retry');
    expect(sortAnswer(503, '7')).toEqual({ kind: 'retry', reason: 'HTTP 503', status: 503, afterMs: 7000 });
  });

  it('tells why records wait from the answer alone: no key, key refused, malformed, or the receiver unavailable', () => {
    const failed = (status: number) => sortAnswer(status, null) as Exclude<Outcome, { kind: 'ok' }>;
    expect(failureKind(failed(401), false)).toBe('no-key');
    expect(failureKind(failed(401), true)).toBe('key-refused');
    expect(failureKind(failed(403), true)).toBe('key-refused');
    expect(failureKind(failed(400), true)).toBe('malformed');
    expect(failureKind(failed(413), false)).toBe('malformed');
    for (const status of [404, 429, 500, 503]) expect(failureKind(failed(status), true)).toBe('unavailable');
    expect(failureKind({ kind: 'retry', reason: 'connect ECONNREFUSED 127.0.0.1:1' }, false)).toBe('unavailable');
  });
});

describe('the HTTP transport', () => {
  let url = '';
  let answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const received: Array<{ path: string; body: Buffer; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks), auth: req.headers.authorization });
      answer(req, res);
    });
  });
  beforeAll(async () => {
    url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('posts the body unchanged to /v1/<signal> with the configured headers, and answers as sorted', async () => {
    const transport = createHttpTransport({ endpoint: url, headers: { Authorization: 'Bearer k' }, timeoutMs: 5_000 });
    answer = (_req, res) => res.writeHead(413).end();
    const outcome = await transport.send('traces', new Uint8Array([1, 2, 3]), Date.now() + 5_000);
    expect(outcome.kind).toBe('refused');
    expect(received.at(-1)).toEqual({ path: '/v1/traces', body: Buffer.from([1, 2, 3]), auth: 'Bearer k' });
    answer = (_req, res) => res.writeHead(503, { 'retry-after': '2' }).end();
    expect(await transport.send('logs', new Uint8Array([1]), Date.now() + 5_000)).toMatchObject({ kind: 'retry', afterMs: 2000 });
  });

  it('answers retry, never rejects, when the receiver is unreachable or hangs past the deadline', async () => {
    const port = await closedPort();
    const dead = createHttpTransport({ endpoint: `http://127.0.0.1:${port}`, headers: {}, timeoutMs: 5_000 });
    // The network's own words, not fetch's "fetch failed"; no status, as nothing answered.
    const reason = `connect ECONNREFUSED 127.0.0.1:${port}`;
    expect(await dead.send('logs', new Uint8Array([1]), Date.now() + 5_000)).toEqual({ kind: 'retry', reason });
    answer = () => undefined; // never answers
    const hung = createHttpTransport({ endpoint: url, headers: {}, timeoutMs: 60_000 });
    expect((await hung.send('logs', new Uint8Array([1]), Date.now() + 200)).kind).toBe('retry');
  });

  it('abandons a request in flight on close, answering retry', async () => {
    answer = () => undefined;
    const transport = createHttpTransport({ endpoint: url, headers: {}, timeoutMs: 60_000 });
    const pending = transport.send('logs', new Uint8Array([1]), Date.now() + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    transport.close();
    expect((await pending).kind).toBe('retry');
  });
});

/** A transport that answers from a script, and the waits asked of a fake sleep. */
function scripted(answers: Outcome[]) {
  const sent: number[] = [];
  const transport: Transport = {
    async send(_signal, body) {
      sent.push(body[0]!);
      return answers.shift() ?? { kind: 'ok' };
    },
    close: () => undefined,
  };
  return { transport, sent };
}

describe('the retrying transport', () => {
  const retry: Outcome = { kind: 'retry', reason: 'HTTP 503' };
  let clock = 0;
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    clock += ms;
  };
  const wrap = (transport: Transport, maxAttempts = 4) =>
    createRetryingTransport({ transport, maxAttempts, minDelayMs: 100, maxDelayMs: 1_000, now: () => clock, random: () => 0.5, sleep });

  it('sends the same bytes again after growing waits until the answer is ok', async () => {
    waits.length = 0;
    const { transport, sent } = scripted([retry, retry, { kind: 'ok' }]);
    expect((await wrap(transport).send('logs', new Uint8Array([9]), clock + 60_000)).kind).toBe('ok');
    expect(sent).toEqual([9, 9, 9]);
    expect(waits).toEqual([100, 150]);
  });

  it('gives up after its attempts and hands back the last answer; a refusal is never retried', async () => {
    const failing = scripted([retry, retry, retry, retry, retry]);
    expect((await wrap(failing.transport, 3).send('logs', new Uint8Array([1]), clock + 60_000)).kind).toBe('retry');
    expect(failing.sent).toHaveLength(3);
    const refusing = scripted([{ kind: 'refused', reason: 'HTTP 400', status: 400 }]);
    expect((await wrap(refusing.transport).send('logs', new Uint8Array([1]), clock + 60_000)).kind).toBe('refused');
    expect(refusing.sent).toHaveLength(1);
  });

  it("waits as long as the receiver's Retry-After says (within the cap), and never past the deadline", async () => {
    waits.length = 0;
    const told = scripted([{ kind: 'retry', reason: 'HTTP 429', afterMs: 700 }, { kind: 'ok' }]);
    await wrap(told.transport).send('logs', new Uint8Array([1]), clock + 60_000);
    expect(waits).toEqual([700]);
    const late = scripted([retry, retry]);
    expect((await wrap(late.transport).send('logs', new Uint8Array([1]), clock + 50)).kind).toBe('retry');
    expect(late.sent).toHaveLength(1);
  });

  it('stops waiting when closed', async () => {
    const { transport, sent } = scripted([retry, retry, retry]);
    const retrying = createRetryingTransport({ transport, maxAttempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 });
    const pending = retrying.send('logs', new Uint8Array([1]), Date.now() + 600_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    retrying.close();
    expect((await pending).kind).toBe('retry');
    expect(sent).toHaveLength(1);
  });
});
