/**
 * What an instance says about records it could not deliver: while it runs, a WARN record now and then
 * with the records dropped since the last one, so that drops show where its records are read; when it
 * stops, the delivery report, said on stderr once.
 */
import { SeverityNumber, type Logger } from '@opentelemetry/api-logs';
import type { Config } from '../delivery/config.js';
import type { DeliveryStats } from '../delivery/delivery-stats.js';
import { deliveryReport, type DeliveryReport } from '../delivery/delivery-report.js';
import { ATTR, EVENT } from '../../contract/vocabulary.js';

export interface Reporting {
  /** Emits a WARN record with the records dropped since the last one; nothing when none were. */
  drops(): void;
  /** The delivery report now; its message (when any) is said the first time only. */
  final(): DeliveryReport;
  /** Ends the periodic drop reports. */
  stop(): void;
}

export interface ReportingOptions {
  /** Where the records go and where they wait, for the final report. */
  config: Pick<Config, 'endpoint' | 'spoolDir'>;
  stats(): DeliveryStats;
  logger: Pick<Logger, 'emit'>;
  /** Drops are reported this often without being asked. */
  everyMs: number;
  /** Where the final report is said: stderr unless a test listens. */
  say?: (text: string) => void;
}

export function startReporting({ config, stats, logger, everyMs, say = (text) => process.stderr.write(text) }: ReportingOptions): Reporting {
  let reported = 0;
  const drops = () => {
    const dropped = stats().dropped;
    if (dropped <= reported) return;
    logger.emit({
      eventName: EVENT.sdkDropped,
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: `pipemon SDK dropped ${dropped - reported} records (memory or spool full, or refused as malformed)`,
      attributes: { [ATTR.droppedRecords]: dropped - reported },
    });
    reported = dropped;
  };
  const timer = setInterval(drops, everyMs).unref();
  let told = false;
  return {
    drops,
    final() {
      const result = deliveryReport(stats(), config);
      if (result.message !== null && !told) say(`${result.message}\n`);
      told = true;
      return result;
    },
    stop: () => clearInterval(timer),
  };
}
