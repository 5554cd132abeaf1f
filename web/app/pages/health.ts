/**
 * pipemon's own health, from its /metrics (Prometheus text) and /readyz: records accepted, refused and
 * failed, the writer's queue and its commit latency. Those routes need no key; where /metrics has a
 * listener of its own (--metrics-port), this page says so.
 */
import { getText } from '../lib/api.js';
import { fill, h } from '../lib/dom.js';
import { badge, bytes, count, duration, percent } from '../lib/format.js';
import { labelValues, parseMetrics, quantile, total, type Sample } from '../lib/prometheus-text.js';
import { REFRESH_MS, section, table, tiles, type Mount } from '../lib/view.js';

const M = {
  accepted: 'pipemon_receiver_accepted_records_total',
  duplicates: 'pipemon_receiver_duplicate_records_total',
  refused: 'pipemon_receiver_refused_records_total',
  failed: 'pipemon_receiver_failed_records_total',
  queue: 'pipemon_writer_queue_bytes',
  queueLimit: 'pipemon_writer_queue_limit_bytes',
  commit: 'pipemon_writer_commit_duration_seconds',
  batch: 'pipemon_writer_batch_records',
  request: 'pipemon_receiver_request_duration_seconds',
};

const mean = (samples: Sample[], histogram: string) => {
  const n = total(samples, `${histogram}_count`);
  return n > 0 ? total(samples, `${histogram}_sum`) / n : null;
};

function byReason(samples: Sample[], name: string) {
  return labelValues(samples, name, 'reason')
    .map((reason) => [reason, count(total(samples, name, { reason }))] as [string, string])
    .filter(([, n]) => n !== '0');
}

function render(samples: Sample[]) {
  const signals = labelValues(samples, M.accepted, 'signal');
  const used = total(samples, M.queue);
  const limit = total(samples, M.queueLimit);
  return [
    section(
      'Records since start',
      table(
        'Records by signal',
        ['Signal', 'Accepted', 'Duplicates (not stored twice)', 'Refused (invalid)', 'Failed (told to retry)'],
        signals.map((signal) => [
          signal,
          count(total(samples, M.accepted, { signal })),
          count(total(samples, M.duplicates, { signal })),
          count(total(samples, M.refused, { signal })),
          count(total(samples, M.failed, { signal })),
        ]),
      ),
      table('Refused by reason', ['Refused because', 'Records'], byReason(samples, M.refused), { empty: 'No record refused.' }),
      table('Failed by reason', ['Failed because', 'Records'], byReason(samples, M.failed), { empty: 'No record failed.' }),
    ),
    section(
      'Writer',
      tiles([
        ['Queue', `${bytes(used)} of ${bytes(limit)}`],
        ['Queue used', percent(limit > 0 ? used / limit : null)],
        ['Commits', count(total(samples, `${M.commit}_count`))],
        ['Commit latency, mean', duration(mean(samples, M.commit))],
        ['Commit latency, p95', duration(quantile(samples, M.commit, 0.95))],
        ['Records per commit, mean', count(mean(samples, M.batch))],
        ['Ingest requests', count(total(samples, `${M.request}_count`))],
        ['Request latency, p95', duration(quantile(samples, M.request, 0.95))],
      ]),
    ),
  ];
}

export const mountHealth: Mount = () => {
  const ready = h('div');
  const figures = h('div');
  return {
    title: 'pipemon health',
    element: h('div', null, h('h1', null, 'pipemon health'), ready, figures),
    intervalMs: REFRESH_MS,
    async refresh() {
      const [readyz, metrics] = await Promise.all([getText('/readyz'), getText('/metrics')]);
      const state = readyz ? (JSON.parse(readyz.text) as { status: string; database?: string; error?: string }) : null;
      fill(
        ready,
        tiles([
          ['Database', state ? badge(state.status === 'ready' ? 'ready' : 'unavailable') : '–'],
          ['Storage', state?.database ?? '–', 'wide'],
          ...(state?.error ? [['Error', state.error, 'wide'] as [string, string, 'wide']] : []),
        ]),
      );
      fill(
        figures,
        metrics
          ? render(parseMetrics(metrics.text))
          : h('p', { class: 'empty' }, 'This receiver serves /metrics on a listener of its own (--metrics-port), which this page does not reach: read it there, or in Prometheus.'),
      );
    },
  };
};
