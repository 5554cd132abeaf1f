/**
 * docs/vocabulary.md, generated from the names and their documentation in vocabulary.ts, so that the
 * table a Python or Java user reads is the one the SDK and the receiver import. Regenerate with
 * `npm run build && node dist/contract/vocabulary-table.js`; test/contract/vocabulary-table.test.ts fails while the
 * committed file differs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTR, ATTR_DOCS, CHECK, EVENT, EVENT_DOCS, RESULT_DOCS, RESULTS, type NameDoc } from './vocabulary.js';

/** A table cell: pipes escaped, so that a value never splits its row. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The attributes that make a span a run or a stage, in the order a reader needs them. */
const RUN_KEYS = ['pipelineName', 'runId', 'stageName', 'stageRunId', 'runResult', 'stageResult'] as const;

function attributeRows(keys: readonly (keyof typeof ATTR)[]): string[] {
  return keys.map((key) => {
    const doc: NameDoc = ATTR_DOCS[key];
    return `| \`${ATTR[key]}\` | ${cell(doc.type)} | ${cell(doc.meaning)} | \`${cell(doc.example)}\` |`;
  });
}

export function vocabularyMarkdown(): string {
  const others = (Object.keys(ATTR) as (keyof typeof ATTR)[]).filter((key) => !(RUN_KEYS as readonly string[]).includes(key));
  const header = ['| attribute | type | meaning | example |', '|---|---|---|---|'];
  return [
    '# Attribute vocabulary',
    '',
    '<!-- Generated from contract/vocabulary.ts by contract/vocabulary-table.ts: edit those, then run',
    '     `npm run build && node dist/contract/vocabulary-table.js`. test/contract/vocabulary-table.test.ts fails while this file differs. -->',
    '',
    'The names pipemon reads, for any language. The pipemon SDK and `pipemon exec` set them for you;',
    'set them yourself when you send spans or log records with another OpenTelemetry SDK.',
    'This file is generated from `contract/vocabulary.ts`, the one place the SDK and the receiver take the names from.',
    '',
    '## What makes a run and a stage',
    '',
    'A span with `cicd.pipeline.name` (on the span or on its resource) is a pipeline run or stage:',
    '',
    '- without `cicd.pipeline.task.name`, it is the **run**, if it is a root span or a SERVER span;',
    '- with `cicd.pipeline.task.name`, it is a **stage** of the run that `cicd.pipeline.run.id` names;',
    '- any other span with it (a child span without a task name) makes nothing.',
    '',
    "The run id is `cicd.pipeline.run.id`, else the span's trace id (for a stage too). The span's start and end are the",
    "run's start and end. Its result is `cicd.pipeline.result` (`cicd.pipeline.task.run.result` for a",
    'stage) when set, else `failure` for an ERROR status and `success` otherwise. The error message comes',
    "from `exception.message`, else the span's `exception` event, else its status message.",
    '',
    ...header,
    ...attributeRows(RUN_KEYS),
    '',
    '## Result values',
    '',
    '| value | meaning |',
    '|---|---|',
    ...RESULTS.map((result) => `| \`${result}\` | ${cell(RESULT_DOCS[result])} |`),
    '',
    '## All other attributes',
    '',
    ...header,
    ...attributeRows(others),
    '',
    '## Log record event names',
    '',
    'Log records can describe runs as well: the event name (the record\'s `event_name`, or its',
    '`event.name` attribute) says what happened, with `cicd.pipeline.name` and `cicd.pipeline.run.id`',
    'in its attributes.',
    '',
    '| event name | meaning |',
    '|---|---|',
    ...(Object.keys(EVENT) as (keyof typeof EVENT)[]).map((key) => `| \`${EVENT[key]}\` | ${cell(EVENT_DOCS[key])} |`),
    '',
    '## Built-in data-quality checks',
    '',
    'The SDK\'s `checks` record these names in `pipemon.check.name`:',
    (Object.values(CHECK) as string[]).map((name) => `\`${name}\``).join(', ') + '.',
    '',
  ].join('\n');
}

// Run as a script (built, from dist/sdk/): writes the repository's docs/vocabulary.md.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('../../docs/vocabulary.md', import.meta.url));
  fs.writeFileSync(file, vocabularyMarkdown());
  console.log(`wrote ${file}`);
}
