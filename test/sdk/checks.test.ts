import { describe, expect, it } from 'vitest';
import { ATTR, CHECK, EVENT, checks, run, shutdown } from '../../sdk/index.js';
import { useHarness } from '../helpers/sdk.js';

const harness = useHarness('pipemon-sdk-checks-');

describe('the usual data-quality checks', () => {
  it('record empty dataset, null ratio, schema drift and duplicates, passing and failing, as check records', async () => {
    harness.startSdk();
    const rows = [
      { id: 1, email: 'a@x' },
      { id: 2, email: null },
      { id: 2, email: 'c@x' },
      { id: 3, email: undefined },
    ];
    const outcomes: boolean[] = [];
    let runId = '';
    await run('quality', async (r) => {
      runId = r.runId;
      await r.stage('validate', (s) => {
        outcomes.push(
          checks.emptyDataset(s, rows),
          checks.emptyDataset(s, []),
          checks.nullRatio(s, 'email', rows.map((row) => row.email), 0.6),
          checks.nullRatio(s, 'email', rows.map((row) => row.email), 0.25),
          checks.schemaDrift(s, ['id', 'email'], Object.keys(rows[0]!)),
          checks.schemaDrift(s, ['id', 'email', 'amount'], ['id', 'email', 'note']),
          checks.duplicates(s, rows.map((row) => row.id)),
          checks.duplicates(s, [{ k: 1 }, { k: 2 }]),
        );
      });
    });
    expect(outcomes).toEqual([true, false, true, false, true, false, false, true]);
    await shutdown(10_000);

    const { body } = await harness.get(`/api/v1/logs?run_id=${runId}&limit=100`);
    const records = body.items.filter((log: any) => log.event_name === EVENT.check);
    const outcome = (log: any) => [log.attributes[ATTR.checkName], log.attributes[ATTR.checkPassed]];
    // Records of one millisecond come back in no particular order: compare as sets.
    expect(records.map(outcome).sort()).toEqual([
      [CHECK.emptyDataset, true],
      [CHECK.emptyDataset, false],
      [CHECK.nullRatio, true],
      [CHECK.nullRatio, false],
      [CHECK.schemaDrift, true],
      [CHECK.schemaDrift, false],
      [CHECK.duplicates, false],
      [CHECK.duplicates, true],
    ].sort());
    const failed = records.filter((log: any) => !log.attributes[ATTR.checkPassed]);
    expect(failed.every((log: any) => log.severity_text === 'WARN')).toBe(true);
    const details = (name: string) => failed.find((log: any) => log.attributes[ATTR.checkName] === name).attributes[ATTR.checkDetails];
    // Details travel as the SDK's bounded serialization of the object.
    expect(details(CHECK.nullRatio)).toMatch(/column: "email", nulls: 2, total: 4, ratio: 0.5/);
    expect(details(CHECK.schemaDrift)).toMatch(/missing: \["amount"\], unexpected: \["note"\]/);
    expect(details(CHECK.duplicates)).toMatch(/duplicates: 1, total: 4, examples: \["2"\]/);
  });
});
