/**
 * The Grafana dashboards and provisioning files: the committed JSON is what the TypeScript builds, every
 * dashboard validates against the JSON schema of the foundation SDK's Dashboard type, and what Grafana
 * resolves by name (datasource uids, dashboard uids in links, template variables) exists. Grafana itself
 * cannot be installed here; test/dashboards/grafana/queries.test.ts runs the SQL against PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards, renderDashboards } from '../../../dashboards/grafana/dashboards.js';
import { DATASOURCES, POSTGRES, PROMETHEUS } from '../../../dashboards/grafana/datasources.js';
import { UID } from '../../../dashboards/grafana/links.js';
import { expandPromQL, promQueries, sqlQueries } from '../../../dashboards/grafana/queries.js';
import { PROMETHEUS_HINT } from '../../helpers/prometheus.js';
import { warnSkipped } from '../../helpers/tools.js';
import { tempDir } from '../../helpers/temp.js';

const ROOT = path.join('dashboards', 'grafana');
const JSON_DIR = path.join(ROOT, 'dashboards');
const SCHEMA_FILE = path.join(ROOT, 'schema', 'dashboard.schema.json');
const SDK_TYPES = path.join('node_modules', '@grafana', 'grafana-foundation-sdk', 'dist', 'dashboard', 'types.gen.d.ts');

const committed = () => fs.readdirSync(JSON_DIR).filter((name) => name.endsWith('.json')).sort();
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(JSON_DIR, name), 'utf8')) as Dashboard;
const dashboards = committed().map(load);

const panelsOf = (dashboard: Dashboard): Panel[] =>
  (dashboard.panels ?? []).flatMap((panel) => (panel.type === 'row' ? [panel as Panel, ...(panel as RowPanel).panels] : [panel as Panel]));

/** Every `links` array anywhere in a dashboard (dashboard links, panel links, field config and overrides). */
function linksIn(node: unknown, found: { title?: string; url?: string }[] = []): { title?: string; url?: string }[] {
  if (Array.isArray(node)) node.forEach((item) => linksIn(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'links' && Array.isArray(value)) found.push(...value);
      else if (key === 'value' && (node as { id?: string }).id === 'links' && Array.isArray(value)) found.push(...value);
      else linksIn(value, found);
    }
  }
  return found;
}

/** Grafana's template-variable syntax: $name, ${name...}, [[name...]]. */
const REFERENCES = /\$(\w+)|\[\[(\w+?)(?::\w+)?\]\]|\$\{(\w+)(?:\.[^:^}]+)?(?::[^}]+)?\}/g;
const referenced = (text: string) => [...text.matchAll(REFERENCES)].map((m) => (m[1] ?? m[2] ?? m[3])!);
/** Names Grafana or its datasources replace themselves: built-in variables and the SQL macros. */
const BUILT_IN = /^__(interval|interval_ms|rate_interval|range|range_s|range_ms|from|to|timeFilter|timeFrom|timeTo|timeGroup|timeGroupAlias|unixEpochNanoFilter|unixEpochNanoFrom)$/;

describe('Grafana dashboards', () => {
  it('are committed exactly as the TypeScript builds them (rebuild: npm run build && node dist/dashboards/grafana/build.js)', () => {
    const rendered = renderDashboards();
    expect(committed()).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) expect(fs.readFileSync(path.join(JSON_DIR, name), 'utf8'), name).toBe(text);
  });

  it('have the six stable uids, each once, in files named after them', () => {
    expect(dashboards.map((dashboard) => dashboard.uid).sort()).toEqual(Object.values(UID).sort());
    for (const name of committed()) expect(load(name).uid).toBe(name.replace(/\.json$/, ''));
  });

  it('use a schemaVersion of Grafana 11 or 12 (39-42)', () => {
    for (const dashboard of dashboards) {
      expect(dashboard.schemaVersion, dashboard.uid).toBeGreaterThanOrEqual(39);
      expect(dashboard.schemaVersion, dashboard.uid).toBeLessThanOrEqual(42);
    }
  });

  it('validate against the JSON schema of the foundation SDK Dashboard type', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')));
    for (const dashboard of dashboards) {
      validate(dashboard);
      expect(validate.errors ?? [], dashboard.uid).toEqual([]);
    }
  });

  it('come with the schema that ts-json-schema-generator makes from the installed SDK', () => {
    const schema = createGenerator({ path: SDK_TYPES, type: 'Dashboard', skipTypeCheck: true, additionalProperties: true }).createSchema('Dashboard');
    expect(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')), `regenerate ${SCHEMA_FILE} (see dashboards/grafana/README.md)`).toEqual(
      JSON.parse(JSON.stringify(schema)),
    );
  });

  it('give every panel, query and variable a datasource that provisioning creates', () => {
    const provisioned = parse(fs.readFileSync(path.join(ROOT, 'provisioning', 'datasources', 'pipemon.yaml'), 'utf8')) as {
      datasources: { uid: string; type: string }[];
    };
    const byUid = new Map(provisioned.datasources.map((source) => [source.uid, source.type]));
    for (const dashboard of dashboards) {
      for (const panel of panelsOf(dashboard).filter((p) => p.type !== 'row')) {
        const where = `${dashboard.uid} / ${panel.title}`;
        expect(byUid.get(panel.datasource?.uid ?? ''), where).toBe(panel.datasource?.type);
        expect(panel.targets?.length, where).toBeGreaterThan(0);
        for (const target of panel.targets as { datasource?: { uid?: string } }[]) expect(target.datasource, where).toEqual(panel.datasource);
      }
      for (const variable of (dashboard.templating.list ?? []).filter((v) => v.type === 'query')) {
        expect(byUid.get(variable.datasource?.uid ?? ''), `${dashboard.uid} / $${variable.name}`).toBe(variable.datasource?.type);
      }
    }
  });

  it('link only to dashboards that exist', () => {
    const uids = new Set(dashboards.map((dashboard) => dashboard.uid));
    for (const dashboard of dashboards) {
      const links = linksIn(dashboard);
      expect(links.length, dashboard.uid).toBeGreaterThan(0);
      for (const link of links) {
        const target = /^\/d\/([\w-]+)(?:\?|$)/.exec(link.url ?? '')?.[1];
        expect(uids.has(target), `${dashboard.uid}: ${link.title} → ${link.url}`).toBe(true);
      }
    }
  });

  it('link overview → pipeline → run, and every dashboard to the others', () => {
    expect(linksIn(dashboards.find((d) => d.uid === UID.overview)!.panels).some((l) => l.url!.startsWith(`/d/${UID.pipeline}?`))).toBe(true);
    expect(linksIn(dashboards.find((d) => d.uid === UID.pipeline)!.panels).some((l) => l.url!.startsWith(`/d/${UID.run}?`))).toBe(true);
    expect(linksIn(dashboards.find((d) => d.uid === UID.logs)!.panels).some((l) => l.url!.startsWith(`/d/${UID.run}?`))).toBe(true);
    for (const uid of Object.values(UID)) {
      const navigation = (dashboards.find((d) => d.uid === uid)!.links ?? []).map((link) => link.url);
      expect(navigation.sort(), uid).toEqual(Object.values(UID).filter((other) => other !== uid).map((other) => `/d/${other}`).sort());
    }
  });

  it('have unique panel titles and ids within each dashboard', () => {
    for (const dashboard of dashboards) {
      const panels = panelsOf(dashboard);
      const titles = panels.filter((p) => p.type !== 'row').map((p) => p.title);
      expect(new Set(titles).size, `${dashboard.uid}: ${titles.join(', ')}`).toBe(titles.length);
      expect(new Set(panels.map((p) => p.id)).size, dashboard.uid).toBe(panels.length);
    }
  });

  it('declare tenant, pipeline and environment where they filter pipelines, a metric on the pipeline dashboard and a run on the run dashboard', () => {
    const names = (uid: string) => (dashboards.find((d) => d.uid === uid)!.templating.list ?? []).map((v: VariableModel) => v.name);
    expect(names(UID.overview)).toEqual(['tenant', 'pipeline', 'environment']);
    expect(names(UID.pipeline)).toEqual(['tenant', 'pipeline', 'environment', 'metric']);
    expect(names(UID.run)).toEqual(['tenant', 'pipeline', 'run_id']);
    expect(names(UID.logs)).toEqual(['tenant', 'pipeline', 'environment', 'severity', 'run_id', 'search']);
    expect(names(UID.lineage)).toEqual(['tenant', 'pipeline']);
    const overview = dashboards.find((d) => d.uid === UID.overview)!.templating.list!;
    for (const variable of overview) expect({ multi: variable.multi, includeAll: variable.includeAll }, variable.name).toEqual({ multi: true, includeAll: true });
  });

  it('refer only to variables the dashboard declares, built-in variables and SQL macros', () => {
    const built = buildDashboards();
    const queries = [...promQueries(built).map((q) => ({ ...q, text: q.expr })), ...sqlQueries(built).map((q) => ({ ...q, text: q.rawSql }))];
    expect(queries.length).toBeGreaterThan(50);
    for (const query of queries) {
      const declared = new Set(query.variables.map((v) => v.name));
      for (const name of referenced(query.text)) {
        expect(declared.has(name) || BUILT_IN.test(name), `${query.dashboard} / ${query.panel}: $${name}`).toBe(true);
      }
    }
  });

  it('save SQL as Grafana\'s code editor does, and PromQL with an expression', () => {
    for (const dashboard of dashboards) {
      for (const panel of panelsOf(dashboard)) {
        for (const target of (panel.targets ?? []) as unknown as Record<string, unknown>[]) {
          const where = `${dashboard.uid} / ${panel.title}`;
          if (panel.datasource?.uid === POSTGRES.uid) {
            expect({ editorMode: target.editorMode, rawQuery: target.rawQuery }, where).toEqual({ editorMode: 'code', rawQuery: true });
            expect(['table', 'time_series'], where).toContain(target.format);
            expect(typeof target.rawSql === 'string' && target.rawSql.length > 0, where).toBe(true);
          } else {
            expect(panel.datasource?.uid, where).toBe(PROMETHEUS.uid);
            expect(typeof target.expr === 'string' && target.expr.length > 0, where).toBe(true);
          }
        }
      }
    }
  });
});

describe('PromQL of the dashboards', () => {
  const PROMTOOL = '/usr/bin/promtool';
  const installed = fs.existsSync(PROMTOOL);
  if (!installed && process.env.CI) throw new Error(`CI is set and promtool is missing: ${PROMETHEUS_HINT}`);
  if (!installed) warnSkipped('test/dashboards/grafana/dashboards.test.ts', 'promtool not found', PROMETHEUS_HINT);

  it.skipIf(!installed)('parses, variables replaced as Grafana does, with values that need escaping (promtool check rules)', () => {
    // Names with regex and string metacharacters: Grafana must escape them, and the result must still parse.
    const values = { tenant: ['acme', 'it\'s'], pipeline: ['orders.v2', 'load (daily)\\x'] };
    const single = { tenant: 'acme', pipeline: 'orders.v2' };
    const queries = promQueries();
    const rules = queries.map((query, i) => {
      const multi = query.variables.find((v) => v.name === 'pipeline')?.multi !== false;
      return { record: `grafana:query_${i}`, expr: expandPromQL(query, { values: multi ? values : single, scrapeIntervalSeconds: 15 }) };
    });
    const dir = tempDir('pipemon-promql-');
    try {
      const file = path.join(dir, 'dashboards.rules.yml');
      fs.writeFileSync(file, stringify({ groups: [{ name: 'dashboards', rules }] }));
      try {
        execFileSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
        const where = rules.map((rule, i) => `${rule.record}: ${queries[i]!.dashboard} / ${queries[i]!.panel}: ${rule.expr}`).join('\n');
        throw new Error(`promtool refused an expression:\n${output}\n${where}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Grafana provisioning', () => {
  const datasources = parse(fs.readFileSync(path.join(ROOT, 'provisioning', 'datasources', 'pipemon.yaml'), 'utf8')) as {
    apiVersion: number;
    datasources: Record<string, any>[];
  };
  const providers = parse(fs.readFileSync(path.join(ROOT, 'provisioning', 'dashboards', 'pipemon.yaml'), 'utf8')) as {
    apiVersion: number;
    providers: Record<string, any>[];
  };

  it('creates the datasources the dashboards name, by uid and type', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources.map(({ uid, type }) => ({ uid, type }))).toEqual(DATASOURCES.map(({ uid, type }) => ({ uid, type })));
  });

  it('connects PostgreSQL as the read-only role, with its password and address from the environment', () => {
    const postgres = datasources.datasources.find((source) => source.uid === POSTGRES.uid)!;
    expect(postgres.user).toBe('pipemon_reader');
    expect(postgres.secureJsonData).toEqual({ password: '${PIPEMON_READER_PASSWORD}' });
    expect(postgres.url).toBe('${PIPEMON_DB_HOST}:${PIPEMON_DB_PORT}');
    expect(postgres.jsonData).toMatchObject({ database: 'pipemon', sslmode: 'disable', timescaledb: false });
  });

  it('uses only environment references that Grafana expands (Go os.ExpandEnv: $VAR or ${VAR}, no defaults)', () => {
    const texts = [
      fs.readFileSync(path.join(ROOT, 'provisioning', 'datasources', 'pipemon.yaml'), 'utf8'),
      fs.readFileSync(path.join(ROOT, 'provisioning', 'dashboards', 'pipemon.yaml'), 'utf8'),
    ].map((text) => text.replace(/#.*$/gm, ''));
    for (const text of texts) {
      for (const [reference] of text.matchAll(/\$\{[^}]*\}/g)) expect(reference).toMatch(/^\$\{PIPEMON_[A-Z_]+\}$/);
    }
  });

  it('loads the dashboards from files, never changed from the UI', () => {
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toHaveLength(1);
    expect(providers.providers[0]).toMatchObject({ type: 'file', allowUiUpdates: false, options: { path: '${PIPEMON_DASHBOARDS_DIR}' } });
  });
});
