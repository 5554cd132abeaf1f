/**
 * `pipemon demo`: the command line of runDemo(). Exit codes: 0 when everything sent was taken, 2 for
 * bad flags or configuration, 1 when the receiver cannot be reached, refuses the key, or does not take
 * what was sent.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DAYS, DEFAULT_SEED, DemoConfigError, DeliveryError, ReceiverError, runDemo } from '../demo/index.js';
import { HELP, parseCommand, printUsage, UsageError, type Command } from './command.js';

const USAGE = `  pipemon demo [--days ${DEFAULT_DAYS}] [--seed ${DEFAULT_SEED}] [--live] [--live-interval 5]
               [--endpoint URL] [--key KEY] [--data-dir ./.pipemon]
                sends demo pipelines to a receiver: --days of history (0 for none), then with --live a new
                run of each pipeline every --live-interval seconds until Ctrl-C. The same --seed sends the
                same runs, which the receiver stores once. Endpoint and key: the flags, else
                OTEL_EXPORTER_OTLP_ENDPOINT and PIPEMON_API_KEY (or OTEL_EXPORTER_OTLP_HEADERS), else
                the local receiver and the key it saved in --data-dir`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'send realistic demo pipelines to a receiver',
  usage: USAGE,
  async run(argv) {
    const flags = parse(argv);
    if (flags.help) return printUsage(USAGE);
    const controller = new AbortController();
    const stop = (signal: NodeJS.Signals) => {
      process.stdout.write(`pipemon demo: ${signal}: letting the runs in flight finish and delivering them (${signal} again to quit at once)\n`);
      controller.abort();
    };
    // Once each: a second Ctrl-C finds no handler and ends the process the usual way.
    if (flags.live) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    try {
      await runDemo({ ...flags, signal: controller.signal, log: (line) => process.stdout.write(`${line}\n`) });
      return 0;
    } catch (error) {
      if (error instanceof DemoConfigError) throw new UsageError(error.message);
      if (!(error instanceof ReceiverError || error instanceof DeliveryError)) throw error;
      process.stderr.write(`pipemon demo: ${error.message}\n`);
      return 1;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

function parse(argv: string[]) {
  const { values } = parseCommand(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        ...HELP,
        days: { type: 'string' },
        seed: { type: 'string' },
        live: { type: 'boolean', default: false },
        'live-interval': { type: 'string' },
        endpoint: { type: 'string' },
        key: { type: 'string' },
        'data-dir': { type: 'string' },
      },
    }),
  );
  return {
    help: values.help ?? false,
    live: values.live,
    days: numberFlag('days', values.days),
    seed: numberFlag('seed', values.seed),
    liveIntervalSeconds: numberFlag('live-interval', values['live-interval']),
    endpoint: values.endpoint,
    key: values.key,
    dataDir: values['data-dir'],
  };
}

function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}
