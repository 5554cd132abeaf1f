import { describe, expect, it } from 'vitest';
import { monitor, monitored, run, serialize, shutdown } from '../../sdk/index.js';
import { useHarness } from '../helpers/sdk.js';

describe('the serializer', () => {
  it('masks secrets by key name at any depth, in objects and Maps', () => {
    const text = serialize({
      user: 'ana',
      password: 'hunter2',
      nested: { deeper: { api_key: 'k-123', Authorization: 'Bearer x', ok: 1 } },
      headers: new Map([['X-Auth-Token', 't-1']]),
    });
    expect(text).not.toMatch(/hunter2|k-123|Bearer x|t-1/);
    expect(text).toContain('password: "***"');
    expect(text).toContain('api_key: "***"');
    expect(text).toContain('ok: 1');
    expect(serialize({ ssn: '123' }, { sensitiveFields: ['SSN'] })).toBe('{ssn: "***"}');
  });

  it('marks circular references instead of recursing', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    a.list = [a];
    expect(serialize(a)).toBe('{name: "a", self: [Circular], list: [[Circular]]}');
  });

  it('summarises typed arrays, buffers, Maps, Sets, Dates, Errors and class instances', () => {
    class Portfolio {
      positions = 3;
    }
    expect(serialize(new Float64Array([1.5, 2, 3]))).toBe('Float64Array(3) [1.5, 2, 3]');
    expect(serialize(new Uint8Array(1000), { maxItems: 2 })).toBe('Uint8Array(1000) [0, 0, …+998 more]');
    expect(serialize(Buffer.from('hello'))).toBe('<Buffer 5 bytes>');
    expect(serialize(new Set([1, 'x']))).toBe('Set(2) {1, "x"}');
    expect(serialize(new Map([['k', 1]]))).toBe('Map(1) {"k" => 1}');
    expect(serialize(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000Z');
    expect(serialize(new TypeError('bad'))).toBe('TypeError: "bad"');
    expect(serialize(new Portfolio())).toBe('Portfolio {positions: 3}');
    expect(serialize([new Portfolio()], { maxDepth: 1 })).toBe('[<Portfolio>]');
    expect(serialize(Array.from({ length: 50 }, (_, i) => i), { maxItems: 3 })).toBe('[0, 1, 2, …+47 more]');
    expect(serialize(10n)).toBe('10n');
    expect(serialize(function load() {})).toBe('[Function load]');
  });

  it('never exceeds maxRepr, even for a huge value', () => {
    const huge = { rows: Array.from({ length: 100_000 }, (_, i) => ({ id: i, text: 'x'.repeat(1000) })) };
    const text = serialize(huge, { maxRepr: 200, maxItems: 1000 });
    expect(text.length).toBeLessThanOrEqual(201);
    expect(text.endsWith('…')).toBe(true);
    expect(serialize('y'.repeat(5000), { maxRepr: 50 }).length).toBeLessThanOrEqual(51);
  });

  it('never throws: throwing getters, revoked proxies, hostile prototypes', () => {
    const getter = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(serialize(getter)).toBe('{boom: "[Throws]"}');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => serialize(proxy)).not.toThrow();
    expect(serialize({ p: proxy })).toContain('[Unserializable]');
    const hostile = new Proxy({}, {
      ownKeys() {
        throw new Error('keys');
      },
      getPrototypeOf() {
        throw new Error('proto');
      },
    });
    expect(typeof serialize(hostile)).toBe('string');
    expect(serialize(Object.create(null))).toBe('{}');
  });
});

describe('monitored functions', () => {
  const harness = useHarness('pipemon-sdk-mon-');

  const startSdk = () => harness.startSdk();

  async function spansOf(traceId: string): Promise<any[]> {
    const { status, body } = await harness.get(`/api/v1/traces/${traceId}`);
    expect(status).toBe(200);
    return body.spans;
  }

  it('keeps values, this, errors, and records sync, async, generator and async generator calls as child spans', async () => {
    startSdk();
    const add = monitored((a: number, b: number) => a + b, { name: 'add', group: 'math' });
    const fetchRows = monitored(async (table: string) => [table, table], { name: 'fetchRows' });
    const counter = {
      base: 10,
      plus: monitored(function plus(this: { base: number }, n: number) {
        return this.base + n;
      }),
    };
    const countTo = monitored(function* numbers(n: number) {
      for (let i = 0; i < n; i++) yield i;
      return 'done';
    });
    const listPages = monitored(async function* pages() {
      yield 'p1';
      yield 'p2';
    });
    const broken = new SyntaxError('unexpected token');
    const parse = monitored((_text: string) => {
      throw broken;
    }, { name: 'parse' });

    let traceId = '';
    await run('wrapped', async (r) => {
      traceId = r.traceId;
      expect(add(2, 3)).toBe(5);
      expect(await fetchRows('orders')).toEqual(['orders', 'orders']);
      expect(counter.plus(5)).toBe(15);
      expect([...countTo(3)]).toEqual([0, 1, 2]);
      const seen: string[] = [];
      for await (const page of listPages()) seen.push(page);
      expect(seen).toEqual(['p1', 'p2']);
      expect(() => parse('{')).toThrow(broken);
    });
    await shutdown(10_000);

    const spans = await spansOf(traceId);
    const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
    const root = byName.wrapped;
    for (const name of ['add', 'fetchRows', 'plus', 'numbers', 'pages', 'parse']) {
      expect(byName[name], name).toBeDefined();
      expect(byName[name].parent_span_id).toBe(root.span_id);
    }
    expect(byName.add.attributes).toMatchObject({ 'pipemon.function.group': 'math', 'pipemon.function.args': '[2, 3]', 'pipemon.function.result': '5' });
    expect(byName.fetchRows.attributes['pipemon.function.result']).toBe('["orders", "orders"]');
    expect(byName.numbers.attributes['pipemon.function.yields']).toBe(3);
    expect(byName.pages.attributes['pipemon.function.yields']).toBe(2);
    expect(byName.parse.status_code).toBe(2);
    expect(byName.parse.attributes['error.type']).toBe('SyntaxError');
  });

  it('samples out successful calls but records every failure when sampleRate is 0', async () => {
    startSdk();
    const flaky = monitored(
      async (i: number) => {
        if (i % 2 === 1) throw new Error(`odd ${i}`);
        return i;
      },
      { name: 'flaky', sampleRate: 0 },
    );
    let traceId = '';
    let runId = '';
    await run('sampled', async (r) => {
      traceId = r.traceId;
      runId = r.runId;
      for (let i = 0; i < 20; i++) await flaky(i).catch(() => undefined);
    });
    await shutdown(10_000);

    const spans = (await spansOf(traceId)).filter((s) => s.name === 'flaky');
    expect(spans).toHaveLength(10);
    expect(spans.every((s) => s.status_code === 2)).toBe(true);
    expect(spans.map((s) => s.attributes['pipemon.function.args']).sort()).toEqual(
      [1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((i) => `[${i}]`).sort(),
    );
    const logs = await harness.get(`/api/v1/logs?run_id=${runId}&severity_min=ERROR&limit=100`);
    expect(logs.body.items.filter((l: any) => l.event_name === 'pipemon.function.call')).toHaveLength(10);
  });

  it('decorates class methods with the standard decorator, masking secret arguments', async () => {
    startSdk();
    class Warehouse {
      constructor(private readonly prefix: string) {}
      @monitor({ group: 'dw' })
      async connect(options: { host: string; password: string }) {
        return `${this.prefix}:${options.host}`;
      }
      @monitor()
      fail(): never {
        throw new Error('refused');
      }
    }
    const warehouse = new Warehouse('pg');
    let traceId = '';
    await run('decorated', async (r) => {
      traceId = r.traceId;
      expect(await warehouse.connect({ host: 'db1', password: 's3cret' })).toBe('pg:db1');
      expect(() => warehouse.fail()).toThrow('refused');
    });
    await shutdown(10_000);

    const byName = Object.fromEntries((await spansOf(traceId)).map((s) => [s.name, s]));
    expect(byName['Warehouse.connect'].attributes['pipemon.function.args']).toBe('[{host: "db1", password: "***"}]');
    expect(byName['Warehouse.connect'].attributes['pipemon.function.group']).toBe('dw');
    expect(byName['Warehouse.fail'].status_code).toBe(2);
  });

  it('returns thenables that are not Promises (query builders) unchanged, and records the call', async () => {
    startSdk();
    class QueryBuilder {
      readonly clauses: string[] = [];
      where(clause: string): this {
        this.clauses.push(clause);
        return this;
      }
      then<R>(resolve: (rows: string[]) => R): Promise<R> {
        return Promise.resolve(resolve(this.clauses));
      }
    }
    const select = monitored((table: string) => new QueryBuilder().where(`from ${table}`), { name: 'select' });
    let traceId = '';
    await run('query-builder', async (r) => {
      traceId = r.traceId;
      const builder = select('orders');
      expect(builder).toBeInstanceOf(QueryBuilder);
      expect(await builder.where('id > 10')).toEqual(['from orders', 'id > 10']);
    });
    await shutdown(10_000);
    const spans = (await spansOf(traceId)).filter((s) => s.name === 'select');
    expect(spans).toHaveLength(1);
    expect(spans[0].status_code).not.toBe(2);
    expect(spans[0].attributes['pipemon.function.result']).toBe('<QueryBuilder>');
  });
});
