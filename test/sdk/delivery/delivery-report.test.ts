/**
 * Nothing fails silently: a process that could not deliver its records says so on stderr, once, with
 * how many, why, where they are kept and how they will be sent; `pipemon exec` still exits with its
 * command's code; stats() and shutdown() tell the same.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveConfig } from '../../../sdk/delivery/config.js';
import { NOTHING_HELD, type DeliveryStats } from '../../../sdk/delivery/delivery-stats.js';
import { deliveryReport } from '../../../sdk/delivery/delivery-report.js';
import { frameHeader } from '../../../sdk/spool/frames.js';
import { run } from '../../../sdk/index.js';
import { eventually } from '../../helpers/async.js';
import { captured, closedPort, runCli, spooledRecords } from '../../helpers/cli.js';
import { listenOnLoopback } from '../../helpers/net.js';
import { useHarness } from '../../helpers/sdk.js';
import { tempDir } from '../../helpers/temp.js';
import { repoPath } from '../../helpers/repo.js';

const harness = useHarness('pipemon-delivery-report-');

const destination = { endpoint: 'http://127.0.0.1:4318', spoolDir: '/tmp/spool' };
const stats = (fields: Partial<DeliveryStats>): DeliveryStats => ({ ...NOTHING_HELD, ...fields });

/** `pipemon exec` of a node one-liner that exits with `code`. */
const exec = (code: number, env: NodeJS.ProcessEnv) =>
  runCli(['exec', '--pipeline', 'report-job', '--', process.execPath, '-e', `console.log('working'); process.exit(${code})`], env);

/** The one paragraph a process said about its records, or null. */
const said = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('pipemon: '));

/** What is left of a `pipemon:` paragraph once its count and size are checked against the spool. */
function countedAgainst(spoolDir: string, line: string): string {
  const match = /^pipemon: (\d+) records \((\d+\.\d KiB|\d+ B)\) not delivered: /.exec(line);
  expect(match, line).not.toBeNull();
  expect(Number(match![1])).toBe(spooledRecords(spoolDir));
  return line.slice(match![0].length);
}

describe('the words of the delivery report', () => {
  it('says nothing when everything was delivered', () => {
    expect(deliveryReport(stats({ delivered: 12 }), destination).message).toBeNull();
  });

  it('with no key: the 401, the spool, and the key to set before flushing that spool', () => {
    const lastFailure = { kind: 'no-key' as const, status: 401, message: 'HTTP 401' };
    expect(deliveryReport(stats({ undelivered: 4, spooledBytes: 1234, lastFailure }), destination).message).toBe(
      'pipemon: 4 records (1.2 KiB) not delivered: no API key is set and the receiver at http://127.0.0.1:4318 answered HTTP 401. ' +
        'They are kept in /tmp/spool; set PIPEMON_API_KEY to the key `pipemon serve` printed (saved in .pipemon/default-api-key of the folder where it runs), ' +
        'then send them with `pipemon flush --spool-dir /tmp/spool`.',
    );
  });

  it('with a wrong key: the refusal, and a key of that receiver with the ingest scope', () => {
    const lastFailure = { kind: 'key-refused' as const, status: 403, message: 'HTTP 403' };
    expect(deliveryReport(stats({ undelivered: 1, spooledBytes: 300, lastFailure }), destination).message).toBe(
      'pipemon: 1 record (300 B) not delivered: the receiver at http://127.0.0.1:4318 refused the API key (HTTP 403). ' +
        'They are kept in /tmp/spool; set PIPEMON_API_KEY to a key of that receiver with the ingest scope ' +
        '(`pipemon keys create --tenant NAME --scopes ingest` in the folder where `pipemon serve` runs), then send them with `pipemon flush --spool-dir /tmp/spool`.',
    );
  });

  it('with the receiver down or failing: what it answered, and when the records go', () => {
    const down = { kind: 'unavailable' as const, status: null, message: 'connect ECONNREFUSED 127.0.0.1:4318' };
    expect(deliveryReport(stats({ undelivered: 3, spooledBytes: 3 * 2 ** 20, lastFailure: down }), destination).message).toBe(
      'pipemon: 3 records (3.0 MiB) not delivered: the receiver at http://127.0.0.1:4318 did not answer (connect ECONNREFUSED 127.0.0.1:4318). ' +
        'They are kept in /tmp/spool; once the receiver answers (is `pipemon serve` running there? OTEL_EXPORTER_OTLP_ENDPOINT sets the address), ' +
        'the next pipemon process using this spool sends them, or `pipemon flush --spool-dir /tmp/spool` now.',
    );
    const failing = { kind: 'unavailable' as const, status: 503, message: 'HTTP 503' };
    expect(deliveryReport(stats({ undelivered: 3, spooledBytes: 10, lastFailure: failing }), destination).message).toContain(
      'not delivered: the receiver at http://127.0.0.1:4318 answered HTTP 503. They are kept in /tmp/spool; once the receiver takes them again, ',
    );
    // An answer of 404 is a receiver at another path: the endpoint is a base URL.
    const elsewhere = { kind: 'unavailable' as const, status: 404, message: 'HTTP 404' };
    expect(deliveryReport(stats({ undelivered: 3, spooledBytes: 10, lastFailure: elsewhere }), destination).message).toContain(
      "answered HTTP 404. They are kept in /tmp/spool; OTEL_EXPORTER_OTLP_ENDPOINT must be the receiver's base URL (such as http://127.0.0.1:4318, without /v1/logs or /v1/traces)",
    );
  });

  it('with records refused as malformed or dropped before sending: counted apart, as gone', () => {
    const malformed = { kind: 'malformed' as const, status: 400, message: 'HTTP 400' };
    expect(deliveryReport(stats({ dropped: 9, refused: 7, lastFailure: malformed }), destination).message).toBe(
      'pipemon: 7 records refused by the receiver at http://127.0.0.1:4318 as malformed (HTTP 400) and dropped: resending them cannot succeed. ' +
        '2 records dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its bound) or the disk refused them.',
    );
  });

  it('with metric measurements made after their run ended: counted apart from the spool\'s drops, with what to do', () => {
    expect(deliveryReport(stats({ dropped: 5, late: 3 }), destination).message).toBe(
      'pipemon: 2 records dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its bound) or the disk refused them. ' +
        '3 metric measurements dropped: made after their run or stage ended, or after shutdown(); record them inside the run.',
    );
    expect(deliveryReport(stats({ dropped: 1, late: 1 }), destination).message).toBe(
      'pipemon: 1 metric measurement dropped: made after their run or stage ended, or after shutdown(); record them inside the run.',
    );
  });

  it('with records only not sent yet when the process stopped, and a spool path that needs quoting', () => {
    const report = deliveryReport(stats({ undelivered: 2, spooledBytes: 2048 }), { ...destination, spoolDir: "/tmp/o'neil spool" });
    expect(report.message).toBe(
      "pipemon: 2 records (2.0 KiB) not delivered: this process stopped before they were sent. They are kept in /tmp/o'neil spool; " +
        "the next pipemon process using this spool sends them, or `pipemon flush --spool-dir '/tmp/o'\\''neil spool'` now.",
    );
  });
});

describe('a process that could not deliver', () => {
  it('with no key configured: exec says so with the default spool and exits with the command\'s code; stats() and shutdown() tell why', async () => {
    // The spool a keyless process picks by default: where the records of the reported case stayed for good.
    const spoolDir = resolveConfig({ endpoint: harness.url }, {}).spoolDir;
    try {
      const result = await exec(0, { PIPEMON_ENDPOINT: harness.url });
      expect(result.code).toBe(0);
      const [line, ...more] = said(result.stderr);
      expect(more).toEqual([]);
      expect(countedAgainst(spoolDir, line!)).toBe(
        `no API key is set and the receiver at ${harness.url} answered HTTP 401. They are kept in ${spoolDir}; ` +
          `set PIPEMON_API_KEY to the key \`pipemon serve\` printed (saved in .pipemon/default-api-key of the folder where it runs), then send them with \`pipemon flush --spool-dir ${spoolDir}\`.`,
      );
    } finally {
      fs.rmSync(spoolDir, { recursive: true, force: true });
    }

    const sdk = harness.startSdk({ apiKey: undefined });
    await run('keyless', (r) => r.log.info('sent without a key'));
    const output = await captured(async () => {
      const report = await sdk.shutdown(3_000);
      expect(report).toMatchObject({ lastFailure: { kind: 'no-key', status: 401, message: 'HTTP 401' }, delivered: 0, spoolDir: sdk.config.spoolDir });
      expect(report.undelivered).toBe(spooledRecords(sdk.config.spoolDir));
      expect(report.undelivered).toBeGreaterThan(0);
      // Said once: a second shutdown() resolves with the same report and says nothing more.
      expect(await sdk.shutdown()).toBe(report);
      return 0;
    });
    expect(said(output.stderr)).toHaveLength(1);
    expect(output.stderr).toContain('no API key is set');
    expect(sdk.stats()).toMatchObject({ lastFailure: { kind: 'no-key' }, receiverDown: true });
  });

  it('with a key the receiver refuses: exec says so and exits with the command\'s non-zero code; the report names the refusal', async () => {
    const spoolDir = tempDir('pipemon-report-wrong-key-');
    const result = await exec(3, { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: 'pm_not_a_key', PIPEMON_SPOOL_DIR: spoolDir });
    expect(result.code).toBe(3);
    expect(said(result.stderr)).toHaveLength(1);
    expect(countedAgainst(spoolDir, said(result.stderr)[0]!)).toMatch(
      new RegExp(`^the receiver at ${harness.url} refused the API key \\(HTTP 401\\)\\. They are kept in ${spoolDir}; set PIPEMON_API_KEY to a key of that receiver`),
    );

    const sdk = harness.startSdk({ apiKey: 'pm_not_a_key' });
    await run('wrong-key', (r) => r.log.info('sent with a wrong key'));
    const output = await captured(async () => {
      const report = await sdk.shutdown(3_000);
      expect(report).toMatchObject({ lastFailure: { kind: 'key-refused', status: 401 }, dropped: 0 });
      expect(report.undelivered).toBe(spooledRecords(sdk.config.spoolDir));
      return 0;
    });
    expect(said(output.stderr)).toEqual([expect.stringContaining('refused the API key (HTTP 401)')]);
  });

  it('with the receiver unreachable: exec says so and exits 0 as its command did; the next pipemon exec on that spool sends the records', async () => {
    const spoolDir = tempDir('pipemon-report-unreachable-');
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const result = await exec(0, { PIPEMON_ENDPOINT: endpoint, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir });
    expect(result.code).toBe(0);
    expect(countedAgainst(spoolDir, said(result.stderr)[0]!)).toBe(
      `the receiver at ${endpoint} did not answer (connect ECONNREFUSED 127.0.0.1:${port}). They are kept in ${spoolDir}; ` +
        'once the receiver answers (is `pipemon serve` running there? OTEL_EXPORTER_OTLP_ENDPOINT sets the address), ' +
        `the next pipemon process using this spool sends them, or \`pipemon flush --spool-dir ${spoolDir}\` now.`,
    );
    const left = spooledRecords(spoolDir);

    // Any pipemon process using the spool sends what a process that is gone left there: here an exec.
    const next = await runCli(['exec', '--pipeline', 'report-next', '--', process.execPath, '-e', 'process.exit(4)'], {
      PIPEMON_ENDPOINT: harness.url,
      PIPEMON_API_KEY: harness.key,
      PIPEMON_SPOOL_DIR: spoolDir,
    });
    expect(next).toMatchObject({ code: 4, stderr: '' });
    expect(spooledRecords(spoolDir)).toBe(0);
    const runs = (await harness.get('/api/v1/runs?pipeline=report-job&limit=10')).body.items;
    const runId = runs.find((item: any) => item.state === 'ended' && item.result === 'success')?.run_id;
    expect(runId).toBeDefined();
    const logs = (await harness.get(`/api/v1/logs?run_id=${runId}&limit=1000`)).body.items;
    expect(logs.map((l: any) => l.body)).toContain('working');
    // Its own records plus the run's span: every record that was left is stored.
    expect(logs.length + 1).toBe(left);

    const sdk = harness.startSdk({ endpoint, exportTimeoutMs: 500 });
    await run('unreachable', (r) => r.log.info('sent to nobody'));
    const output = await captured(async () => {
      const report = await sdk.shutdown(2_000);
      expect(report.lastFailure).toEqual({ kind: 'unavailable', status: null, message: `connect ECONNREFUSED 127.0.0.1:${port}` });
      expect(report.undelivered).toBe(spooledRecords(sdk.config.spoolDir));
      return 0;
    });
    expect(said(output.stderr)).toEqual([expect.stringContaining(`did not answer (connect ECONNREFUSED 127.0.0.1:${port})`)]);
  });

  it('with records the receiver refuses as malformed: exec counts them as dropped and exits 0; stats() tells refused apart', async () => {
    const spoolDir = tempDir('pipemon-report-malformed-');
    // A segment of a process that is gone (pid 0 never runs a pipeline), holding one frame of 7 records.
    const garbage = Buffer.from('not protobuf at all');
    fs.writeFileSync(path.join(spoolDir, `${Date.now()}-0-00000000-0-logs-n.wal`), Buffer.concat([frameHeader(garbage.length, 7), garbage]));
    const result = await exec(0, { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir });
    expect(result.code).toBe(0);
    expect(said(result.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(`^pipemon: 7 records refused by the receiver at ${harness.url} as malformed \\(HTTP 400( or 413)?\\) and dropped: resending them cannot succeed\\.$`),
      ),
    ]);
    expect(spooledRecords(spoolDir)).toBe(0);

    // A server that answers 400 to everything, as a receiver of another format would.
    const refusing = createServer((req, res) => req.resume().on('end', () => res.writeHead(400).end()));
    const port = await listenOnLoopback(refusing);
    onTestFinished(() => void refusing.close());
    const sdk = harness.startSdk({ endpoint: `http://127.0.0.1:${port}`, flushMs: 10 });
    await run('refused', (r) => r.log.info('malformed, says the receiver'));
    await sdk.flush(2_000);
    expect(sdk.stats()).toMatchObject({ undelivered: 0, lastFailure: { kind: 'malformed', status: 400 } });
    const output = await captured(async () => {
      const report = await sdk.shutdown(2_000);
      expect(report).toMatchObject({ undelivered: 0, delivered: 0 });
      expect(report.refused).toBeGreaterThan(0);
      expect(report.dropped).toBe(report.refused);
      return 0;
    });
    expect(said(output.stderr)).toEqual([expect.stringMatching(/^pipemon: \d+ records refused by the receiver .* as malformed \(HTTP 400\) and dropped/)]);
  });
});

describe('the exit hook of a pipeline that never calls shutdown()', () => {
  const compiledSdk = pathToFileURL(repoPath('dist/sdk/index.js')).href;

  /** A pipeline script on the compiled SDK, run as `node pipeline.mjs`, ending as `ending` says. */
  async function pipeline(ending: string, env: NodeJS.ProcessEnv) {
    const script = path.join(tempDir('pipemon-report-exit-'), 'pipeline.mjs');
    fs.writeFileSync(
      script,
      `import { run, start } from ${JSON.stringify(compiledSdk)};
start({ flushMs: 20, exportTimeoutMs: 300, heartbeatSeconds: 0 });
await run('exit-hook', (r) => r.log.info('left behind'));
${ending}
`,
    );
    const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr };
  }

  it('says once what it could not deliver as the process ends, whether on its own or by process.exit()', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const cases = [
      // Ending on its own, the process tried to send before its exit hook ran.
      { ending: '', code: 0, why: `the receiver at ${endpoint} did not answer` },
      // An exit at once may come before the first try: either way the records are counted and kept.
      { ending: 'process.exit(2);', code: 2, why: `(the receiver at ${endpoint} did not answer|this process stopped before they were sent)` },
    ];
    for (const { ending, code, why } of cases) {
      const spoolDir = tempDir('pipemon-report-exit-spool-');
      const result = await pipeline(ending, { PIPEMON_ENDPOINT: endpoint, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir });
      expect(result.code, ending).toBe(code);
      expect(said(result.stderr)).toHaveLength(1);
      expect(countedAgainst(spoolDir, said(result.stderr)[0]!)).toMatch(new RegExp(`^${why}.*They are kept in ${spoolDir}; `));
    }
  });
});

describe('a process that delivered everything', () => {
  it('says nothing, exec included, and reports nothing undelivered', async () => {
    const spoolDir = tempDir('pipemon-report-delivered-');
    const result = await exec(6, { PIPEMON_ENDPOINT: harness.url, PIPEMON_API_KEY: harness.key, PIPEMON_SPOOL_DIR: spoolDir });
    expect(result).toMatchObject({ code: 6, stderr: '' });

    const sdk = harness.startSdk();
    await run('delivered', (r) => r.log.info('arrives'));
    const output = await captured(async () => {
      const report = await sdk.shutdown(5_000);
      expect(report).toMatchObject({ undelivered: 0, dropped: 0, lastFailure: null, message: null });
      expect(report.delivered).toBeGreaterThan(0);
      return 0;
    });
    expect(output.stderr).toBe('');
    await eventually(async () => expect((await harness.get('/api/v1/runs?pipeline=delivered')).body.items).toHaveLength(1));
  });
});
