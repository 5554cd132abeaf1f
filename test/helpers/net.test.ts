import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnLoopback } from './net.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});
const server = () => {
  const created = net.createServer((socket) => socket.end('hello'));
  servers.push(created);
  return created;
};

describe('listenOnLoopback', () => {
  it('listens on 127.0.0.1, on the port it resolves with', async () => {
    const listening = server();
    const port = await listenOnLoopback(listening);
    expect(listening.address()).toMatchObject({ address: '127.0.0.1', port });
    // Errors after it listens are the server's own, as without this helper.
    expect(listening.listenerCount('error')).toBe(0);
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString())).on('end', () => resolve(text)).on('error', reject);
    });
    expect(greeting).toBe('hello');
  });

  it('rejects when the server cannot listen', async () => {
    const listening = server();
    await listenOnLoopback(listening);
    await expect(listenOnLoopback(listening)).rejects.toThrow(/called more than once/);
  });
});
