/**
 * The Dockerfile, read without a Docker engine: a build stage and a production runtime stage, a
 * non-root user, the Node.js major the tests run on, the ports and health check of what the pipemon
 * service runs, and a build context that keeps secrets out and every compiled file in.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  flag,
  healthcheckCmd,
  imageCmd,
  instructions,
  lastInstruction,
  PIPEMON_GRPC_PORT,
  PIPEMON_METRICS_PORT,
  PIPEMON_PORT,
  service,
  stages,
} from './helpers/compose.js';
import { readRepoFile, repoPath, REPO } from './helpers/repo.js';
import { run } from './helpers/tools.js';

describe('the Dockerfile', () => {
  it('builds in one stage and runs the build output with production dependencies in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runLines = instructions('RUN').map((i) => i.args).join('\n');
    expect(runLines).toMatch(/npm ci\b[^\n]*--omit=dev/);
    expect(instructions('COPY').some((i) => /--from=\S+\s+\S*dist\s/.test(i.args))).toBe(true);
    expect(stages[0]!.instructions.some((i) => i.keyword === 'RUN' && /npm run build|tsc/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user, in a data directory that user owns', () => {
    const user = lastInstruction('USER')?.args;
    expect(user, 'the runtime stage sets USER').toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const dataDir = flag(imageCmd, '--data-dir')!;
    expect(dataDir).toBeDefined();
    expect(instructions('RUN').some((i) => i.args.includes(`chown ${user}`) && i.args.includes(dataDir))).toBe(true);
    // The pipemon service keeps that directory (the default key) in a volume.
    expect(service('pipemon').mounts.find((m) => m.target === dataDir)?.bind).toBe(false);
  });

  it('runs the Node.js major version the tests run on', () => {
    for (const stage of stages.filter((s) => s.image.startsWith('node:'))) {
      expect(stage.image.split(':')[1]!.split('.')[0], stage.image).toBe(process.versions.node.split('.')[0]);
    }
  });

  it('serves beyond loopback, with /metrics on a port of its own, and exposes every port it listens on', () => {
    expect(flag(imageCmd, '--host')).toBe('0.0.0.0');
    expect(flag(imageCmd, '--metrics-host')).toBe('0.0.0.0');
    const exposed = instructions('EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, '')));
    expect(exposed.sort()).toEqual([PIPEMON_PORT, PIPEMON_GRPC_PORT, PIPEMON_METRICS_PORT].sort());
  });

  it('checks health on /readyz of the port it serves', () => {
    const script = healthcheckCmd.join(' ');
    expect(script).toContain(`127.0.0.1:${PIPEMON_PORT}/readyz`);
    expect(healthcheckCmd[0]).toBe('node');
  });

  it('is what the pipemon service runs', () => {
    // The service does not override the image's command, or overrides it with the same one.
    expect(service('pipemon').command ?? imageCmd).toEqual(imageCmd);
    expect(imageCmd.slice(0, 3)).toEqual(['node', 'dist/bin/pipemon.js', 'serve']);
  });

  const dockerignore = readRepoFile('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  /** Whether .dockerignore leaves the repository path out of the build context (its entries: names, or *.ext). */
  const leftOut = (relative: string) =>
    dockerignore.some((entry) => {
      if (/^\*\.\w+$/.test(entry)) return relative.endsWith(entry.slice(1));
      if (/[*?[!]/.test(entry)) throw new Error(`.dockerignore entry "${entry}": this test reads only names and *.ext`);
      return relative === entry || relative.startsWith(`${entry}/`);
    });

  it('keeps secrets and build output out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.pipemon', '.env', '.git']) expect(leftOut(entry), entry).toBe(true);
  });

  it('keeps in the build context every file the build compiles', async () => {
    const { stdout } = await run(process.execPath, [repoPath('node_modules/typescript/bin/tsc'), '-p', repoPath('tsconfig.json'), '--listFilesOnly']);
    const compiled = stdout.split('\n').filter((file) => file.startsWith(REPO) && !file.includes('/node_modules/')).map((file) => path.relative(REPO, file));
    expect(compiled.length).toBeGreaterThan(0);
    expect(compiled.filter(leftOut)).toEqual([]);
  });
});
