/**
 * Every YAML file generated from the TypeScript here, by path under dashboards/prometheus/: build.ts
 * writes them, and test/dashboards/prometheus/rules.test.ts checks that the committed ones are these.
 */
import { config } from '../../contract/alert-config.js';
import { renderRules } from './rules.js';
import { overridesConfig } from './tests/overrides-config.js';

export function generatedFiles(): Record<string, string> {
  return {
    ...renderRules(config),
    'tests/alerts-with-overrides.yaml': renderRules(overridesConfig)['alerts.yaml'],
  };
}
