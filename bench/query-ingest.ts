/**
 * Ingest load beside bench:query's reads: the child process of query-ingest-load.ts (a receiver of its
 * own and its clients) on the bench's database. Compiled, the child is its .js beside this file; under
 * vitest (TypeScript sources) it runs through vite-node, as the tests do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { LoadOrder, LoadResult } from './query-ingest-load.js';

export type { LoadResult };

/** node and the arguments that run the load module, compiled or not. */
function command(order: LoadOrder): string[] {
  const self = fileURLToPath(import.meta.url);
  const module = self.replace(/query-ingest\.(ts|js)$/, (_, ext: string) => `query-ingest-load.${ext}`);
  const argument = `--order=${JSON.stringify(order)}`;
  if (module.endsWith('.js')) return [module, argument];
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  // vite-node passes what follows `--` to the module as its own arguments.
  return [viteNode, module, '--', argument];
}

export interface RunningLoad {
  /** Stops the clients and the child's receiver; resolves what they achieved. */
  stop(): Promise<LoadResult>;
}

async function started(order: LoadOrder): Promise<{ child: ChildProcess; result: Promise<LoadResult> }> {
  const child = spawn(process.execPath, command(order), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const ready = new Promise<void>((resolve) =>
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('query-ingest-load: ready')) resolve();
    }),
  );
  const exited = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`bench:query's ingest load exited with ${code}: ${err.slice(-2000)}`);
    return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
  });
  // An exit before ready is an error: raced, so that it rejects rather than waits for ever.
  await Promise.race([ready, exited]);
  return { child, result: exited };
}

/** Ingest for `seconds` at `rate` records/s (0: full speed); resolves once done. */
export async function ingestFor(order: Omit<LoadOrder, 'seconds'>, seconds: number): Promise<LoadResult> {
  return (await started({ ...order, seconds })).result;
}

/** Ingest at `rate` records/s (0: full speed) until stopped. */
export async function startIngest(order: Omit<LoadOrder, 'seconds'>): Promise<RunningLoad> {
  const { child, result } = await started({ ...order, seconds: 0 });
  return {
    stop: async () => {
      child.kill('SIGUSR2');
      return result;
    },
  };
}
