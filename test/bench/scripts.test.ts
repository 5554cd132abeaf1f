/**
 * Every bench has a test in CI that runs it in a small mode, so that none can rot unnoticed: each
 * `bench:<name>` script of package.json runs one entry file (dist/bench/<name>.js, built from
 * bench/<name>.ts, or python/bench/<file>.py), and its test is where the suite mirrors that file
 * (test/bench/<name>.test.ts, test/python/bench/<file>.test.ts) and names the script. A bench added
 * without such a test fails here.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoPath } from '../helpers/repo.js';

const scripts: Record<string, string> = JSON.parse(readRepoFile('package.json')).scripts;
const benches = Object.entries(scripts).filter(([name]) => name.startsWith('bench:'));

/** The source file a bench script runs (the last one its command names): bench/x.ts for dist/bench/x.js. */
function entryOf(command: string): string | undefined {
  const last = [...command.matchAll(/(?:dist\/)?((?:python\/)?bench\/[\w.-]+)\.(js|py)\b/g)].at(-1);
  if (!last) return undefined;
  return last[2] === 'js' ? `${last[1]}.ts` : `${last[1]}.py`;
}

/** Where the suite mirrors a source file: test/<path without its extension>.test.ts. */
const mirroredTest = (source: string) => `test/${source.replace(/\.\w+$/, '')}.test.ts`;

describe('bench scripts', () => {
  it('are found in package.json', () => {
    expect(benches.map(([name]) => name)).toContain('bench:decode');
  });

  it.each(benches)('%s has a test that runs it in a small mode', (name, command) => {
    const entry = entryOf(command);
    expect(entry, `${name} runs "${command}": no dist/bench/*.js or python/bench/*.py in it to find its test by`).toBeDefined();
    expect(fs.existsSync(repoPath(entry!)), `${name} runs ${entry}, which is missing`).toBe(true);
    const test = mirroredTest(entry!);
    const remedy = `add ${test}: it runs ${entry} in a small mode (seconds) and checks its JSON, naming "${name}"`;
    expect(fs.existsSync(repoPath(test)), `${name} has no test: ${remedy}`).toBe(true);
    expect(readRepoFile(test), `${test} does not name ${name}: ${remedy}`).toContain(name);
  });
});
