/**
 * python/src/pipemon/vocabulary.py, generated from vocabulary.ts and record-rules.ts, so that the
 * Python SDK uses the names, results, severities, masked key fragments and preview bounds that the Node
 * SDK uses and the receiver reads, from one statement. Regenerate with `npm run build && node dist/contract/vocabulary-python.js`;
 * test/contract/vocabulary-python.test.ts fails while the committed file differs.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SENSITIVE, MASK, PREVIEW_LIMITS, SEVERITY } from './record-rules.js';
import { ATTR, CHECK, ERROR_TYPE, EVENT, FAILED_RESULTS, RESULTS } from './vocabulary.js';

/** pipelineName -> PIPELINE_NAME */
const constantName = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

const literal = (value: unknown) => JSON.stringify(value);

function namespace(name: string, doc: string, names: Record<string, string>): string[] {
  return [
    `class ${name}:`,
    `    """${doc}"""`,
    '',
    ...Object.entries(names).map(([key, value]) => `    ${constantName(key)} = ${literal(value)}`),
    '',
    '',
  ];
}

export function vocabularyPython(): string {
  const severities = Object.entries(SEVERITY).map(([level, [number, text]]) => `    ${literal(level)}: (${number}, ${literal(text)}),`);
  return [
    '# Generated from contract/vocabulary.ts and contract/record-rules.ts by contract/vocabulary-python.ts:',
    '# edit those, then run `npm run build && node dist/contract/vocabulary-python.js`.',
    '# test/contract/vocabulary-python.test.ts fails while this file differs.',
    '"""The names pipemon sends and reads: the same as the Node SDK\'s, from one statement."""',
    '',
    '',
    ...namespace('ATTR', 'Attribute keys.', ATTR),
    ...namespace('EVENT', 'Log record event names (OTLP `event_name`).', EVENT),
    ...namespace('CHECK', 'Names of the built-in data-quality checks.', CHECK),
    ...namespace('ERROR_TYPE', '`error.type` values pipemon sets itself.', ERROR_TYPE),
    '# `cicd.pipeline.result` values; the failed ones count as a failed run.',
    `RESULTS = (${RESULTS.map(literal).join(', ')})`,
    `FAILED_RESULTS = frozenset((${FAILED_RESULTS.map(literal).join(', ')}))`,
    '',
    '# Each log level\'s OpenTelemetry severity number and text.',
    'SEVERITY = {',
    ...severities,
    '}',
    '',
    '# Key fragments masked by default, compared without case, "-", "_", "." or spaces; masked values read MASK.',
    'DEFAULT_SENSITIVE = (',
    ...DEFAULT_SENSITIVE.map((fragment) => `    ${literal(fragment)},`),
    ')',
    `MASK = ${literal(MASK)}`,
    '',
    '# The default bounds of a preview of a value: characters, entries per container, levels.',
    ...Object.entries(PREVIEW_LIMITS).map(([key, value]) => `${constantName(key)} = ${value}`),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(new URL('../../python/src/pipemon/vocabulary.py', import.meta.url), vocabularyPython());
}
