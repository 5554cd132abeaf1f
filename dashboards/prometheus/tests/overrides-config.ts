/**
 * The config that tests/overrides.test.yaml runs against: the shipped one plus flaky-pipeline and
 * zero-rows overrides, which the shipped config leaves empty. build.ts renders it into
 * tests/alerts-with-overrides.yaml.
 */
import { config, type MixinConfig } from '../../../contract/alert-config.js';

export const overridesConfig: MixinConfig = {
  ...config,
  failedRuns: {
    failuresBeforePaging: 1,
    // `flaky-partner` matches both: the first entry (3) wins.
    flakyPipelines: [
      { pipeline: 'flaky-.*', failures: 3 },
      { pipeline: 'flaky-partner|partner-.*', failures: 2 },
    ],
  },
  zeroRows: { allowedPipelines: ['incremental-.*'] },
};
