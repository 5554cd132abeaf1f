/**
 * Benches run from the suite in their small mode, as `npm run bench:<name>` runs them: the compiled script
 * (`npm test` builds dist/ before the suites start), and the one JSON object it prints read back.
 */
import fs from 'node:fs';
import { expect } from 'vitest';
import { repoPath } from './repo.js';
import { run } from './tools.js';

/** dist/bench/<name>.js, which `npm run bench:<name>` runs. */
export function compiledBench(name: string): string {
  const file = repoPath('dist', 'bench', `${name}.js`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: build first (npm run build; npm test does it)`);
  return file;
}

/** Runs `file args` to its end and returns the one JSON object it printed, its only line on stdout. */
export async function benchJson(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const { stdout, stderr } = await run(file, args, { env });
  const lines = stdout.trim().split('\n');
  expect(lines, `${file} ${args.join(' ')} must print one JSON object on one line; stderr:\n${stderr}`).toHaveLength(1);
  const printed: unknown = JSON.parse(lines[0]!);
  expect(printed).toBeTypeOf('object');
  return printed as Record<string, unknown>;
}

/** A figure that can be a measurement: a finite number above zero. */
export const positive = () => expect.toSatisfy((x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0, 'a finite number above 0');

/** A figure that can be a difference of measurements: any finite number. */
export const finite = () => expect.toSatisfy((x: unknown) => typeof x === 'number' && Number.isFinite(x), 'a finite number');

/** `keys` each mapped to `value`, and no other key. */
export const eachOf = (keys: readonly string[], value: unknown) => Object.fromEntries(keys.map((key) => [key, value]));
