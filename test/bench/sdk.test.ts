/**
 * bench:sdk in its small mode on a busy machine, the compiled script as `npm run bench:sdk -- --small --busy`
 * runs it, so that it keeps running as both SDKs change: both send to its sink, pipemon delivers every record
 * it sent, the bursts run in processes of their own with the receiver down, and its JSON holds every figure.
 * No timings are asserted: the goals are read as booleans, not required to be met.
 */
import os from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchJson, compiledBench, eachOf, finite, positive } from '../helpers/bench.js';

/** The small mode's calls per measurement; two rounds of each SDK. */
const N = 20_000;
const BURST = 20_000;

describe('bench:sdk --small --busy', () => {
  let out: Record<string, unknown>;
  beforeAll(async () => {
    out = await benchJson(process.execPath, [compiledBench('sdk'), '--small', '--busy']);
  }, 300_000);

  it('measures both SDKs with the CPUs busy, pipemon delivering all it sent, and prints every figure', () => {
    expect(out).toMatchObject({ small: true, busy_processes: os.availableParallelism(), checksum: true, all_delivered: true, pino_null_stream_ns: positive() });

    const pipemon = out.pipemon as Record<string, Record<string, number>>;
    expect(pipemon.ns_per_call).toEqual(eachOf(['plain_function', 'monitored_sampled_out', 'monitored_sampled_in', 'stage', 'log_record', 'log_end_to_end'], positive()));
    expect(pipemon.sent).toEqual({ logs: 2 * N, plain: (2 * N) / 4, s: (2 * N) / 10 });
    expect(pipemon.lost).toEqual({ logs: 0, plain: 0, s: 0 });
    expect(pipemon.log_records_per_second).toEqual({ emitted: positive(), delivered: pipemon.log_records_per_second!.emitted });
    expect(pipemon.monitored_overhead_ns).toEqual(eachOf(['sampled_out', 'sampled_in'], finite()));

    const otel = out.opentelemetry as Record<string, Record<string, number>>;
    expect(otel.ns_per_call).toEqual(eachOf(['span_sampled_out', 'span_sampled_in', 'log_record', 'log_end_to_end'], positive()));
    expect(otel.sent).toEqual({ logs: 2 * N, plain: (2 * N) / 4 });
    // Its batch processors drop what does not fit their queue: anything from none to all but the first batch.
    for (const kind of ['logs', 'plain']) expect(otel.lost![kind]).toSatisfy((lost: number) => lost >= 0 && lost < otel.sent![kind]!);
    expect(otel.log_records_per_second!.delivered).toBeLessThanOrEqual(otel.log_records_per_second!.emitted!);

    const ratios = ['sampled_out_ns', 'sampled_in_ns', 'log_record_ns', 'log_end_to_end_ns', 'delivered_log_records_per_second', 'burst_peak_heap', 'burst_peak_rss'];
    expect(out.pipemon_vs_opentelemetry).toEqual(eachOf(ratios, positive()));
    expect(out.goals).toEqual(eachOf(['monitored_sampled_out_under_1us', 'monitored_sampled_in_under_5us', 'log_record_within_1_5x_opentelemetry'], expect.any(Boolean)));
  });

  it('has each burst with the receiver down kept by pipemon\'s spool and lost by OpenTelemetry, with its memory', () => {
    const bursts = out.burst_receiver_down as Record<string, Record<string, number>>;
    expect(bursts.pipemon).toMatchObject({ records: BURST, lost: 0, spooled_mb: positive() });
    expect(bursts.opentelemetry).toMatchObject({ records: BURST, lost: BURST, spooled_mb: 0 });
    for (const burst of Object.values(bursts)) {
      expect(burst).toMatchObject({ emit_seconds: positive(), heap_mb_before: positive() });
      expect(burst.peak_heap_mb).toBeGreaterThanOrEqual(burst.heap_mb_before!);
      expect(burst.peak_rss_mb).toBeGreaterThanOrEqual(burst.peak_heap_mb!);
    }
  });
});
