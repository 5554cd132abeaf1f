/**
 * `pipemon` outside the clone, put there as the README says: `npm link` in the clone puts the command on
 * the PATH, and `npm link pipemon` in a pipeline's own folder lets its code import the SDK. npm's global
 * prefix is a temporary directory here, so the machine's own is never touched.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from './helpers/repo.js';
import { tempDir } from './helpers/temp.js';

const run = promisify(execFile);
const CLONE = REPO;
const prefix = tempDir('pipemon-npm-prefix-');
const elsewhere = tempDir('pipemon-pipeline-folder-');
// npm test has built dist already: the link's prepare script would only build it again.
const npmEnv = { ...process.env, npm_config_prefix: prefix, npm_config_ignore_scripts: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };

afterAll(() => {
  rmSync(prefix, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});

describe('pipemon outside the clone', () => {
  it('runs from another folder once npm link put it on the PATH, and its SDK imports there', async () => {
    await run('npm', ['link'], { cwd: CLONE, env: npmEnv });
    const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}` };
    const version = await run('pipemon', ['--version'], { cwd: elsewhere, env });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await run('pipemon', ['exec', '--help'], { cwd: elsewhere, env });
    expect(help.stdout).toContain('pipemon exec [--pipeline NAME]');

    await run('npm', ['link', 'pipemon'], { cwd: elsewhere, env: npmEnv });
    writeFileSync(path.join(elsewhere, 'job.mjs'), "import { run, start } from 'pipemon/sdk';\nconsole.log(typeof run, typeof start);\n");
    const imported = await run(process.execPath, ['job.mjs'], { cwd: elsewhere, env });
    expect(imported.stdout.trim()).toBe('function function');
  });
});
