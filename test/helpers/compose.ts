/**
 * The stack as the repository describes it, read without a Docker engine, for the tests of
 * docker-compose.yml, the Dockerfile, deploy/prometheus.yml and the stack run natively:
 * - docker-compose.yml as compose reads it: interpolated, with volumes and ports parsed;
 * - the Dockerfile's stages and the runtime stage's instructions;
 * - otel-collector.yaml expanded with the otel-collector service's environment;
 * - what each service listens on inside the compose network.
 */
import path from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { DEBIAN_HINT } from '../../harness/postgres.js';
import { PROMETHEUS_HINT } from './prometheus.js';
import { readRepoFile, REPO, repoPath } from './repo.js';
import { required as baseRequired, tool as baseTool } from './tools.js';

// ---------------------------------------------------------------------------------------------------
// Tools: fatal under CI when missing, a loud skip on a developer's machine.

const TOOL_HINTS = {
  'docker-compose': "install Debian's docker-compose (apt-get install docker-compose; .ci/run does it)",
  promtool: PROMETHEUS_HINT,
  amtool: PROMETHEUS_HINT,
  psql: DEBIAN_HINT,
};
type StackTool = keyof typeof TOOL_HINTS;

/** The tool on PATH, or null after a loud warning that the tests of `suite` needing it are skipped. */
export const stackTool = (suite: string, name: StackTool) => baseTool(suite, name, TOOL_HINTS[name]);
/** The tool's path; under CI, where a test runs without it, an Error naming what to install. */
export const required = (name: StackTool, file: string | null) => baseRequired(name, file, TOOL_HINTS[name]);

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml as compose reads it: interpolated, volumes and ports parsed.

export type Env = Record<string, string | undefined>;

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
export function composeVariables(): Map<string, string | undefined> {
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
export function requiredVariables(): string[] {
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
export const REQUIRED_ENV: Env = { GRAFANA_ADMIN_PASSWORD: 'compose-test-grafana-password' };

export function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, fn)]));
  return value;
}

export interface Mount {
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

export interface Service {
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

export function normalizeService(name: string, raw: Record<string, unknown>, baseDir: string): Service {
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

export const COMPOSE_FILE = repoPath('docker-compose.yml');
export const COMPOSE_TEXT = readRepoFile('docker-compose.yml');

/** The compose file with only the required variables set: every default applies, as on a first `docker compose up` with a minimal .env. */
export function loadCompose(env: Env = REQUIRED_ENV): Record<string, Service> {
  const raw = mapStrings(parse(COMPOSE_TEXT), (text) => interpolate(text, env)) as { services: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(raw.services).map(([name, service]) => [name, normalizeService(name, service, REPO)]));
}

export const services = loadCompose();

export function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}" (it has ${Object.keys(services).join(', ')})`);
  return found;
}

/** The mount of `relative` (a repository path) in the service. */
export function mountOf(serviceName: string, relative: string): Mount {
  const mount = service(serviceName).mounts.find((m) => m.bind && m.source === repoPath(relative));
  if (!mount) throw new Error(`the ${serviceName} service does not mount ${relative}`);
  return mount;
}

/** The value of `--flag=value` or `--flag value` in an argument list. */
export function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i]!.startsWith(`${name}=`)) return args[i]!.slice(name.length + 1);
  }
  return undefined;
}

export function flags(args: readonly string[], name: string): string[] {
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

export const stages = parseDockerfile(readRepoFile('Dockerfile'));
const runtimeStage = stages.at(-1)!;
export const instructions = (keyword: string) => runtimeStage.instructions.filter((i) => i.keyword === keyword);
export const lastInstruction = (keyword: string) => instructions(keyword).at(-1);

export const imageCmd = execForm(lastInstruction('CMD')?.args ?? '', 'CMD');
/** The HEALTHCHECK's command, after its options. */
export const healthcheckCmd = execForm(/\bCMD\s+(.*)$/.exec(lastInstruction('HEALTHCHECK')?.args ?? '')?.[1] ?? '', 'HEALTHCHECK CMD');
/** What the pipemon service runs: its command, else the image's CMD. */
export const pipemonCommand = service('pipemon').command ?? imageCmd;

export const PIPEMON_PORT = Number(flag(pipemonCommand, '--port'));
export const PIPEMON_GRPC_PORT = Number(flag(pipemonCommand, '--grpc-port'));
export const PIPEMON_METRICS_PORT = Number(flag(pipemonCommand, '--metrics-port'));

export function dockerfileEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions('ENV')) {
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------
// otel-collector.yaml, expanded as the Collector does with the otel-collector service's environment.

export const COLLECTOR_VARIABLE = /\$\{env:([A-Za-z_]\w*)(?::-([^}]*))?\}/g;
export const COLLECTOR_TEXT = readRepoFile('otel-collector.yaml');

function expandCollector(text: string, env: Env): string {
  return text.replace(COLLECTOR_VARIABLE, (_match, name: string, fallback?: string) => env[name] || (fallback ?? ''));
}

interface CollectorConfig {
  extensions: Record<string, { endpoint?: string; directory?: string }>;
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  exporters: Record<string, { endpoint?: string; headers?: Record<string, string> }>;
  service: { telemetry?: { metrics?: { readers?: { pull?: { exporter?: { prometheus?: { host: string; port: number | string } } } }[] } } };
}

export const collectorConfig = parse(expandCollector(COLLECTOR_TEXT, service('otel-collector').environment)) as CollectorConfig;
export const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
export const pipemonExporterName = Object.keys(collectorConfig.exporters).find((name) => /^otlp_?http\/pipemon$/.test(name));
export const collectorMetricsPort = Number(collectorConfig.service.telemetry?.metrics?.readers?.find((r) => r.pull?.exporter?.prometheus)?.pull?.exporter?.prometheus?.port);

// ---------------------------------------------------------------------------------------------------
// What each service listens on inside the compose network.

/** The images' own defaults, for services whose command and environment leave them alone (test/docker-compose.test.ts asserts that nothing moves them). */
const IMAGE_DEFAULT_PORTS: Record<string, number[]> = { postgres: [5432], prometheus: [9090], alertmanager: [9093], grafana: [3000] };

export function listeningPorts(name: string): number[] {
  if (name === 'pipemon') return [PIPEMON_PORT, PIPEMON_GRPC_PORT, PIPEMON_METRICS_PORT];
  if (name === 'otel-collector') {
    const { grpc, http } = collectorConfig.receivers.otlp.protocols;
    return [portOf(grpc.endpoint), portOf(http.endpoint), portOf(collectorConfig.extensions.health_check!.endpoint!), collectorMetricsPort];
  }
  return IMAGE_DEFAULT_PORTS[name] ?? [];
}

/** host:port reaches a service of the stack, on a port it listens on. */
export function expectReachable(host: string, port: number, what: string): void {
  expect(Object.keys(services), `${what}: no service "${host}"`).toContain(host);
  expect(listeningPorts(host), `${what}: ${host} does not listen on ${port}`).toContain(port);
}
