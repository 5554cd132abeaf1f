/**
 * pipemon health: is the receiver up, taking records in, and writing them? Records accepted, refused
 * (invalid, not retried) and failed (503, retried), request and commit latency, the writer's queue
 * against its budget, and database errors, from Prometheus.
 */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { finish, pipemonDashboard } from './dashboard-base.js';
import { UID } from './links.js';
import { prom } from './queries-builders.js';
import { statPanel, thresholds, timeSeriesPanel, zeroIsGood } from './panels.js';
import { instanceVariable } from './variables.js';

const INSTANCE = 'instance=~"$instance"';

const rate = (metric: string, by = '') => `${by ? `sum by (${by}) ` : 'sum'}(rate(${metric}{${INSTANCE}}[$__rate_interval]))`;

const quantile = (q: number, metric: string, by = '') =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket{${INSTANCE}}[$__rate_interval])))`;

const latency = (metric: string, by: string) =>
  [0.5, 0.95, 0.99].map((q, i) =>
    prom(quantile(q, metric, by), { legend: `p${q * 100}${by ? ` {{${by}}}` : ''}`, refId: String.fromCharCode(65 + i) }),
  );

export function healthDashboard(): Dashboard {
  const builder = pipemonDashboard(UID.health, 'The receiver itself: records in, refused and failed, latency, the writer queue and database errors.')
    .withVariable(instanceVariable())

    .withRow(new RowBuilder('Now'))
    .withPanel(
      statPanel('Receivers up', prom(`sum(up{job="pipemon", ${INSTANCE}})`, { instant: true }), {
        description: 'Receivers Prometheus scraped successfully (scrape job `pipemon`).',
      }).thresholds(thresholds({ value: null, color: 'red' }, { value: 1, color: 'green' })),
    )
    .withPanel(statPanel('Accepted records/s', prom(rate('pipemon_receiver_accepted_records_total'), { instant: true }), { unit: 'short' }))
    .withPanel(
      statPanel('Refused records/s', prom(`${rate('pipemon_receiver_refused_records_total')} or vector(0)`, { instant: true }), {
        unit: 'short',
        description: 'Refused as invalid (bad ids, no timestamp, outside retention): the clients were told not to retry them.',
      }).thresholds(thresholds({ value: null, color: 'green' }, { value: 0.001, color: 'orange' })),
    )
    .withPanel(
      statPanel('Failed records/s', prom(`${rate('pipemon_receiver_failed_records_total')} or vector(0)`, { instant: true }), {
        unit: 'short',
        description: 'Answered 503 (database unavailable, writer memory budget full): the clients keep them and retry.',
      }).thresholds(zeroIsGood()),
    )
    .withPanel(
      statPanel('Writer queue used', prom(`max(pipemon_writer_queue_bytes{${INSTANCE}} / pipemon_writer_queue_limit_bytes{${INSTANCE}})`, { instant: true }), {
        unit: 'percentunit',
        description: 'Bytes waiting to be written, of the budget (--max-queue-bytes); past it, requests get 503.',
      }).thresholds(thresholds({ value: null, color: 'green' }, { value: 0.5, color: 'orange' }, { value: 0.8, color: 'red' })),
    )
    .withPanel(
      statPanel('Database errors in range', prom(`sum(increase(pipemon_database_errors_total{${INSTANCE}}[$__range])) or vector(0)`, { instant: true }), {
      }).thresholds(zeroIsGood()),
    )

    .withRow(new RowBuilder('Records'))
    .withPanel(
      timeSeriesPanel(
        'Accepted and duplicate records',
        [
          prom(rate('pipemon_receiver_accepted_records_total', 'signal'), { legend: 'accepted {{signal}}', refId: 'A' }),
          prom(rate('pipemon_receiver_duplicate_records_total', 'signal'), { legend: 'duplicate {{signal}}', refId: 'B' }),
        ],
        { unit: 'short', description: 'Records per second; duplicates are resent records stored once.' },
      ),
    )
    .withPanel(
      timeSeriesPanel(
        'Refused and failed records',
        [
          prom(rate('pipemon_receiver_refused_records_total', 'signal, reason'), { legend: 'refused {{signal}} {{reason}}', refId: 'A' }),
          prom(rate('pipemon_receiver_failed_records_total', 'signal, reason'), { legend: 'failed {{signal}} {{reason}}', refId: 'B' }),
        ],
        { unit: 'short', description: 'Records per second refused as invalid (not retried), or failed with a 503 (retried), by reason.' },
      ),
    )

    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeSeriesPanel('Request duration', latency('pipemon_receiver_request_duration_seconds', 'signal'), {
        unit: 's',
        description: 'From request to answer, which comes after COMMIT.',
      }),
    )
    .withPanel(timeSeriesPanel('Commit duration', latency('pipemon_writer_commit_duration_seconds', ''), { unit: 's', description: 'One batch written and committed.' }))

    .withRow(new RowBuilder('Writer and database'))
    .withPanel(
      timeSeriesPanel(
        'Writer queue',
        [
          prom(`sum by (instance) (pipemon_writer_queue_bytes{${INSTANCE}})`, { legend: 'queued {{instance}}', refId: 'A' }),
          prom(`sum by (instance) (pipemon_writer_queue_limit_bytes{${INSTANCE}})`, { legend: 'limit {{instance}}', refId: 'B' }),
        ],
        { unit: 'bytes' },
      ),
    )
    .withPanel(
      timeSeriesPanel(
        'Batch size',
        [
          prom(quantile(0.5, 'pipemon_writer_batch_records'), { legend: 'p50', refId: 'A' }),
          prom(quantile(0.95, 'pipemon_writer_batch_records'), { legend: 'p95', refId: 'B' }),
        ],
        { unit: 'short', description: 'Records per committed batch.' },
      ),
    )
    .withPanel(
      timeSeriesPanel('Database errors', [prom(`sum by (kind) (increase(pipemon_database_errors_total{${INSTANCE}}[$__rate_interval]))`, { legend: '{{kind}}' })], {
        unit: 'short',
      }),
    )
    .withPanel(
      timeSeriesPanel('Memory', [prom(`pipemon_process_resident_memory_bytes{${INSTANCE}}`, { legend: '{{instance}}' })], {
        unit: 'bytes',
        description: 'Resident memory of the receiver process.',
      }),
    );
  return finish(builder);
}
