/**
 * docker-compose.yml, without a Docker engine:
 * - the compose file as a real compose implementation (Debian's docker-compose) reads it, and as the
 *   checks below read it (both must agree);
 * - pinned images; every mounted file in the repository;
 * - ports, URLs, variables and datasource uids that agree across the compose file, otel-collector.yaml,
 *   the Grafana provisioning and Alertmanager (amtool).
 * The Dockerfile, deploy/prometheus.yml and the stack run natively have their own files.
 * A missing tool fails these tests when CI is set and skips them with a loud warning otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { READER_ROLE } from '../receiver/storage/migrations.js';
import { rejection } from './helpers/async.js';
import {
  COLLECTOR_TEXT,
  COLLECTOR_VARIABLE,
  collectorConfig,
  COMPOSE_FILE,
  COMPOSE_TEXT,
  composeVariables,
  type Env,
  expectReachable,
  flag,
  flags,
  listeningPorts,
  loadCompose,
  mapStrings,
  mountOf,
  normalizeService,
  PIPEMON_METRICS_PORT,
  PIPEMON_PORT,
  PIPEMON_GRPC_PORT,
  pipemonExporterName,
  portOf,
  REQUIRED_ENV,
  required,
  requiredVariables,
  service,
  services,
  stackTool,
  stages,
} from './helpers/compose.js';
import { readRepoFile, repoPath, REPO } from './helpers/repo.js';
import { run, withTools } from './helpers/tools.js';
import { tempDir } from './helpers/temp.js';

const SUITE = 'test/docker-compose.test.ts';
const dockerCompose = stackTool(SUITE, 'docker-compose');
const amtool = stackTool(SUITE, 'amtool');

describe('docker-compose.yml', () => {
  withTools(dockerCompose)('is valid for docker-compose, which reads it as these tests do', async () => {
    const bin = required('docker-compose', dockerCompose);
    // A .env with only the required variables and none of the others in the environment: the defaults
    // apply, as on a first `docker compose up`.
    const dir = tempDir('pipemon-compose-');
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
      const theirs = normalizeService(name, raw, REPO);
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
    const manifest = repoPath('collector/builder-config.yaml');
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
      expect(mount.source.startsWith(REPO), `${mount.service} mounts ${mount.source}, outside the repository`).toBe(true);
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
  const provisioningFiles = fs.readdirSync(repoPath(PROVISIONING), { recursive: true, encoding: 'utf8' }).filter((file) => /\.ya?ml$/.test(file));
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
    const dir = repoPath('dashboards/grafana/dashboards');
    for (const file of fs.readdirSync(dir)) walk(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    expect(used.size).toBeGreaterThan(0);
    for (const uid of used) expect(datasources.map((d) => d.uid), uid).toContain(uid);
  });
});
