import fs from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { pipemonMiddleware } from '../../sdk/express.js';
import { run, shutdown, start } from '../../sdk/index.js';
import { listenOnLoopback } from '../helpers/net.js';
import { useHarness } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';

const harness = useHarness('pipemon-sdk-http-');

async function withApp(fn: (url: string, runIds: string[]) => Promise<void>) {
  const runIds: string[] = [];
  const app = express();
  app.use(pipemonMiddleware());
  app.post('/pipelines/:name', async (req, res) => {
    await run(req.params.name, async (r) => {
      runIds.push(r.runId);
      await r.stage('work', (s) => s.rows({ written: 1 }));
    });
    res.status(202).json({ ok: true });
  });
  const server = createServer(app);
  const port = await listenOnLoopback(server);
  try {
    await fn(`http://127.0.0.1:${port}`, runIds);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('the express middleware', () => {
  it('joins the caller\'s traceparent, so a run started over HTTP is one trace under the request span', async () => {
    harness.startSdk();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await withApp(async (url, runIds) => {
      const response = await fetch(`${url}/pipelines/ingest`, {
        method: 'POST',
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(response.status).toBe(202);
      await shutdown(10_000);

      const detail = (await harness.get(`/api/v1/runs/${runIds[0]}`)).body;
      expect(detail).toMatchObject({ trace_id: traceId, result: 'success' });
      const spans = (await harness.get(`/api/v1/traces/${traceId}`)).body.spans as any[];
      const request = spans.find((s) => s.name === 'POST /pipelines/:name');
      const runSpan = spans.find((s) => s.name === 'ingest');
      expect(request.parent_span_id).toBe('00f067aa0ba902b7');
      expect(request.attributes['http.response.status_code']).toBe(202);
      expect(runSpan.parent_span_id).toBe(request.span_id);
      const logs = (await harness.get(`/api/v1/traces/${traceId}`)).body.logs as any[];
      expect(logs.some((l) => l.event_name === 'pipemon.http.request' && l.body === 'POST /pipelines/ingest 202')).toBe(true);
    });
  });

  it('puts requests sharing an X-Correlation-ID in one trace and echoes the id', async () => {
    harness.startSdk();
    await withApp(async (url, runIds) => {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${url}/pipelines/batch`, { method: 'POST', headers: { 'x-correlation-id': 'order-import-42' } });
        expect(response.headers.get('x-correlation-id')).toBe('order-import-42');
      }
      await shutdown(10_000);
      const [a, b] = await Promise.all(runIds.map(async (id) => (await harness.get(`/api/v1/runs/${id}`)).body));
      expect(a.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(b.trace_id).toBe(a.trace_id);
    });
  });
});

describe('local output', () => {
  it('writes every record as one JSON line with timestamp, level, component, message, ids and attributes, with no receiver', async () => {
    const file = path.join(tempDir('pipemon-sdk-local-'), 'activity.jsonl');
    start({ export: false, localOutput: file, serviceName: 'local-etl', handleExit: false, heartbeatSeconds: 0 });
    let traceId = '';
    await run('offline', async (r) => {
      traceId = r.traceId;
      r.log.warn('no receiver configured', { batch: 1 });
    });
    await shutdown(5_000);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => l.event ?? l.message)).toEqual(['pipeline.run.start', 'no receiver configured', 'pipeline.run.end']);
    const warn = lines[1];
    expect(warn).toMatchObject({ level: 'WARN', component: 'local-etl', trace_id: traceId, attributes: { batch: 1, 'cicd.pipeline.name': 'offline' } });
    expect(Number.isNaN(Date.parse(warn.timestamp))).toBe(false);
    expect(lines[2].attributes['cicd.pipeline.result']).toBe('success');
  });
});
