/**
 * `pipemon flush`: sends what processes that are gone left in a spool, and says what is left. Called
 * in this process (through runCommand, as bin/pipemon.ts calls it) with the pipemon variables set for it,
 * and once as the built command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKey } from '../../receiver/auth/keys.js';
import { startReceiver } from '../../receiver/serve.js';
import { runCommand } from '../../bin/command.js';
import { flushCommand } from '../../bin/flush.js';
import { eventually, until } from '../helpers/async.js';
import { createTestDatabase, testServerUrl } from '../helpers/backends.js';
import { captured, closedPort, runCli, spooledRecords } from '../helpers/cli.js';
import { useHarness } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';

const harness = useHarness('pipemon-flush-');

const VARIABLES = ['PIPEMON_ENDPOINT', 'PIPEMON_API_KEY', 'PIPEMON_SPOOL_DIR', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS'];
afterEach(() => {
  vi.unstubAllEnvs();
});

/** `pipemon flush` as a user with these variables (and no other of them) set runs it. */
function flush(argv: string[], env: Record<string, string>) {
  for (const name of VARIABLES) vi.stubEnv(name, env[name]);
  return captured(async () => (await runCommand(flushCommand, argv))!);
}

async function runOf(url: string, key: string, pipeline: string): Promise<any> {
  const response = await fetch(`${url}/api/v1/runs?pipeline=${pipeline}&limit=1`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { items: any[] }).items[0] ?? null;
}

describe('pipemon flush arguments', () => {
  it('prints its usage for --help and -h, and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await flush([flag], {});
      expect(result).toEqual({ code: 0, stdout: `usage:\n${flushCommand.usage}\n`, stderr: '' });
    }
    expect(flushCommand.usage).toMatch(/^ {2}pipemon flush \[--spool-dir DIR\] \[--timeout SECONDS\]\n {16}sends /);
  });

  it('refuses an unknown option, an argument or a bad timeout with the usage, and exits 2', async () => {
    for (const argv of [['--spool'], ['somewhere'], ['--timeout', '0'], ['--timeout', 'soon']]) {
      const result = await flush(argv, {});
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^pipemon flush: .+\\n\\nusage:\\n${flushCommand.usage.replace(/[[\]*.()]/g, '\\$&')}\\n$`));
    }
    expect((await flush(['--timeout', 'soon'], {})).stderr).toContain('--timeout must be a positive number of seconds, got "soon"');
  });
});

describe('pipemon flush', () => {
  it('says there is nothing to send in an empty spool, and exits 0', async () => {
    const spoolDir = tempDir('pipemon-flush-empty-');
    const result = await flush(['--spool-dir', spoolDir], { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key });
    expect(result).toEqual({ code: 0, stdout: `pipemon flush: nothing to send in ${spoolDir}\n`, stderr: '' });
  });

  it('sends a run whose receiver stopped mid-run: exits 1 saying what is left while it is down, 0 once it is back', async () => {
    const port = await closedPort();
    const databaseUrl = await createTestDatabase(testServerUrl());
    let receiver = await startReceiver({ port, databaseUrl });
    const { key } = await createKey(receiver.db, 'acme', ['ingest', 'read']);
    const spoolDir = tempDir('pipemon-flush-stopped-');
    const go = path.join(tempDir('pipemon-flush-go-'), 'go');
    try {
      // The command works until told to finish; meanwhile the receiver stops.
      const waitForGo = `console.log('started'); setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) process.exit(5) }, 20)`;
      const env = { PIPEMON_ENDPOINT: receiver.url, PIPEMON_API_KEY: key, PIPEMON_SPOOL_DIR: spoolDir };
      const exec = runCli(['exec', '--pipeline', 'stopped-receiver', '--', process.execPath, '-e', waitForGo], env);
      await eventually(async () => expect(await runOf(receiver.url, key, 'stopped-receiver')).toMatchObject({ state: 'running' }));
      await receiver.close();
      fs.writeFileSync(go, '');
      const result = await exec;
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(new RegExp(`^pipemon: \\d+ records \\(.+\\) not delivered: the receiver at ${receiver.url} did not answer`));
      const left = spooledRecords(spoolDir);
      expect(left).toBeGreaterThan(0);

      const down = await flush(['--spool-dir', spoolDir, '--timeout', '2'], { PIPEMON_ENDPOINT: receiver.url, PIPEMON_API_KEY: key });
      expect(down.code).toBe(1);
      expect(down.stdout).toBe(`pipemon flush: 0 of ${left} records sent from ${spoolDir}; ${left} left\n`);
      expect(down.stderr).toMatch(
        new RegExp(`^pipemon: ${left} records \\(.+ KiB\\) not delivered: the receiver at ${receiver.url} did not answer \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\\. They are kept in ${spoolDir}; `),
      );
      expect(spooledRecords(spoolDir)).toBe(left);

      receiver = await startReceiver({ port, databaseUrl });
      const back = await flush(['--spool-dir', spoolDir], { PIPEMON_ENDPOINT: receiver.url, PIPEMON_API_KEY: key });
      expect(back).toEqual({ code: 0, stdout: `pipemon flush: ${left} of ${left} records sent from ${spoolDir}; nothing left\n`, stderr: '' });
      expect(spooledRecords(spoolDir)).toBe(0);
      expect(await runOf(receiver.url, key, 'stopped-receiver')).toMatchObject({ state: 'ended', result: 'failure' });
    } finally {
      await receiver.close();
    }
  });

  it('ends the run of an exec killed with kill -9 and sends its records, from the spool the variables select, as `pipemon flush`', async () => {
    const spoolDir = tempDir('pipemon-flush-killed-');
    const env = { PIPEMON_ENDPOINT: `http://127.0.0.1:${await closedPort()}`, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir };
    let commandPid = 0;
    const exec = runCli(['exec', '--pipeline', 'killed-exec', '--', process.execPath, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)'], env, (out) => {
      commandPid = Number.parseInt(out, 10) || 0;
    });
    await until(() => commandPid > 0 && fs.existsSync(path.join(spoolDir, 'open-runs')) && fs.readdirSync(path.join(spoolDir, 'open-runs')).length > 0, 'the run is open');
    await until(() => spooledRecords(spoolDir) >= 2, 'the run start and the line are in the spool');
    process.kill(exec.pid, 'SIGKILL');
    process.kill(commandPid, 'SIGKILL');
    await exec;

    // The installed command this time, as bin/pipemon.ts wires it.
    const result = await runCli(['flush'], { ...env, PIPEMON_ENDPOINT: harness.url });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^pipemon flush: (\\d+) of \\1 records sent from ${spoolDir}; nothing left\\n$`));
    expect(fs.readdirSync(path.join(spoolDir, 'open-runs'))).toEqual([]);
    const run = await runOf(harness.url, harness.key, 'killed-exec');
    expect(run).toMatchObject({ state: 'ended', result: 'error' });
  });

  it('names the spool that records sent with a wrong key wait in, which a right key would not look in, and exits 1', async () => {
    // A private temporary directory: the default spools of this user live under it.
    const tmp = tempDir('pipemon-flush-tmp-');
    const wrongKey = { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: 'pm_1_000000000000_wrong', TMPDIR: tmp };
    const exec = await runCli(['exec', '--pipeline', 'wrong-key', '--', process.execPath, '-e', 'console.log("loaded")'], wrongKey);
    expect(exec.code).toBe(0);
    const stranded = /They are kept in (\S+);/.exec(exec.stderr)![1]!;
    expect(path.dirname(stranded)).toBe(path.join(tmp, `pipemon-spool-${process.getuid!()}`));

    vi.stubEnv('TMPDIR', tmp);
    const right = await flush([], { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key });
    expect(right.code).toBe(1);
    expect(right.stdout).toMatch(/^pipemon flush: nothing to send in /);
    expect(right.stderr).toContain(`records are also waiting in spools of other endpoints or keys`);
    expect(right.stderr).toMatch(new RegExp(`^  ${stranded} \\(\\d+ bytes\\)$`, 'm'));

    const sent = await flush(['--spool-dir', stranded], { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key });
    expect(sent.code, sent.stderr).toBe(0);
    expect(await runOf(harness.url, harness.key, 'wrong-key')).toMatchObject({ state: 'ended', result: 'success' });
    expect((await flush([], { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key })).code).toBe(0);
  });
});
