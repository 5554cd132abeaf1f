/**
 * The three ways bench:page makes a pipeline's run fail, as users do: the Node SDK in a process of its
 * own (a run whose function throws), `pipemon exec -- false`, and an OpenLineage FAIL event POSTed to
 * /api/v1/lineage. Each resolves when the producer knows the receiver has the failure: the SDK and
 * `pipemon exec` exit once their spool is delivered (shutdown flushes it), the POST when it is answered.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const PRODUCERS = ['sdk', 'exec', 'openlineage'] as const;
export type ProducerName = (typeof PRODUCERS)[number];

const OPENLINEAGE_NAMESPACE = 'bench-page';

export interface ProducerTarget {
  /** The receiver's base URL and a key with the ingest scope. */
  url: string;
  key: string;
  /** The compiled project (dist/): the SDK and bin/pipemon.js the producers run. */
  dist: string;
  /** A scratch folder of the caller's: the SDK script and the spool. */
  workDir: string;
}

export interface Producer {
  /** The pipeline as the receiver names the runs of `name`. */
  pipeline(name: string): string;
  /** Makes a run of `name` fail; resolves with when the producer saw the failure acknowledged (Unix ms). */
  fail(name: string): Promise<number>;
}

// The SDK's pipeline: a run whose function throws, then shutdown(), which returns once it is delivered.
const SDK_SCRIPT = `const [sdk, pipeline] = process.argv.slice(2);
const { start, run, shutdown } = await import(sdk);
start({ serviceName: 'bench-page' });
await run(pipeline, async () => { throw new Error('bench:page: this run fails on purpose'); }).catch(() => undefined);
await shutdown();
`;

export function producers(target: ProducerTarget): Record<ProducerName, Producer> {
  for (const file of ['sdk/index.js', 'bin/pipemon.js']) {
    if (!fs.existsSync(path.join(target.dist, file))) throw new Error(`bench:page runs ${path.join(target.dist, file)}, which is missing: build first (npm run build)`);
  }
  const script = path.join(target.workDir, 'sdk-pipeline.mjs');
  fs.writeFileSync(script, SDK_SCRIPT);
  const env = producerEnv(target);
  const sdk = pathToFileURL(path.join(target.dist, 'sdk/index.js')).href;
  const named = (name: string) => name;
  return {
    sdk: { pipeline: named, fail: (name) => exited(process.execPath, [script, sdk, name], env, 0) },
    exec: { pipeline: named, fail: (name) => exited(process.execPath, [path.join(target.dist, 'bin/pipemon.js'), 'exec', '--pipeline', name, '--', 'false'], env, 1) },
    openlineage: { pipeline: (name) => `${OPENLINEAGE_NAMESPACE}/${name}`, fail: (name) => openLineageFailure(target, name) },
  };
}

/** The bench's receiver, key and spool, and nothing of the calling shell's pipemon or OpenTelemetry settings. */
function producerEnv(target: ProducerTarget): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(PIPEMON|OTEL)_/.test(name)));
  return { ...inherited, OTEL_EXPORTER_OTLP_ENDPOINT: target.url, PIPEMON_API_KEY: target.key, PIPEMON_SPOOL_DIR: path.join(target.workDir, 'spool') };
}

/** Runs a producer to its end; resolves with when it exited, or rejects with its output when its exit code is not `expected`. */
function exited(command: string, args: string[], env: NodeJS.ProcessEnv, expected: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const at = Date.now();
      if (code === expected) resolve(at);
      else reject(new Error(`${path.basename(args[0]!)} ${args.slice(1).join(' ')} ended with code ${code} (signal ${signal}), expected ${expected}:\n${output}`));
    });
  });
}

/** A START (not timed: the run exists before it fails, as in any scheduler), then the timed FAIL. */
async function openLineageFailure(target: ProducerTarget, name: string): Promise<number> {
  const runId = randomUUID();
  await postLineage(target, lineageEvent('START', runId, name));
  await postLineage(target, lineageEvent('FAIL', runId, name));
  return Date.now();
}

function lineageEvent(eventType: 'START' | 'FAIL', runId: string, name: string) {
  return {
    eventType,
    eventTime: new Date().toISOString(),
    producer: 'https://github.com/OWNER/pipemon/tree/main/bench/page-producers.ts',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId },
    job: { namespace: OPENLINEAGE_NAMESPACE, name },
    inputs: [],
    outputs: [],
  };
}

async function postLineage(target: ProducerTarget, event: object): Promise<void> {
  const response = await fetch(`${target.url}/api/v1/lineage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.key}` },
    body: JSON.stringify(event),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /api/v1/lineage answered ${response.status}: ${text.slice(0, 500)}`);
}
