/** The health page's reading of /metrics: the real receiver's exposition, and quantiles as histogram_quantile() gives them. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../../receiver/metrics/metrics.js';
import { labelValues, parseMetrics, quantile, total } from '../../../../web/app/lib/prometheus-text.js';

describe("the web view's Prometheus text reader", () => {
  it("reads the receiver's own /metrics: counters by label, and escaped label values", async () => {
    const metrics = createMetrics();
    const text = `${await metrics.registry.metrics()}\nweird_total{reason="a \\"quoted\\" \\\\ value"} 3\n`;
    const samples = parseMetrics(text);
    expect(labelValues(samples, 'pipemon_receiver_accepted_records_total', 'signal')).toEqual(expect.arrayContaining(['logs', 'traces']));
    expect(total(samples, 'pipemon_receiver_accepted_records_total')).toBe(0);
    expect(samples.find((s) => s.name === 'weird_total')!.labels.reason).toBe('a "quoted" \\ value');
  });

  it('interpolates within the bucket as histogram_quantile() does, and stops at the highest finite bound', () => {
    const samples = parseMetrics(
      ['h_bucket{le="0.1"} 10', 'h_bucket{le="0.5"} 30', 'h_bucket{le="1"} 40', 'h_bucket{le="+Inf"} 40', 'h_count 40'].join('\n'),
    );
    expect(quantile(samples, 'h', 0.5)).toBeCloseTo(0.1 + (0.4 * (20 - 10)) / 20, 10);
    expect(quantile(samples, 'h', 0.25)).toBeCloseTo(0.1, 10);
    expect(quantile(samples, 'h', 1)).toBe(1);
    const overflow = parseMetrics(['g_bucket{le="1"} 1', 'g_bucket{le="+Inf"} 10'].join('\n'));
    expect(quantile(overflow, 'g', 0.95)).toBe(1);
    expect(quantile(parseMetrics('e_bucket{le="+Inf"} 0'), 'e', 0.5)).toBeNull();
  });
});
