/** Servers a test starts on this machine's loopback only. */
import type net from 'node:net';

/** Listens on a port the system picks on 127.0.0.1: resolves with that port, rejects if it cannot listen. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}
