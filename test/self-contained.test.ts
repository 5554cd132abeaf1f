/**
 * The repository explains itself: no comment, doc, test name or message points at something a reader
 * of the repository cannot open (a note, a design document or a ticket kept elsewhere). What such a
 * thing said that matters is written here instead: for the activity records that notebook and workflow
 * loggers post, docs/sending.md. The patterns below are excluded from the sweep, since they name what
 * is looked for.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const OUTSIDE: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /reference[- ]designs?\b/i, why: 'say what the design is (e.g. "Fabric notebook loggers post ...")' },
  { pattern: /\bdesigns? 0\d\d\b/i, why: 'a numbered design kept elsewhere: say what it is' },
  { pattern: /\b(?:the|either|neither|both) designs\b|\b(?:either|neither) design\b/i, why: 'say which records or services are meant' },
  { pattern: /\bspectra\b/i, why: 'a name from a design kept elsewhere' },
  { pattern: /(?<![\w.-])notes\/[\w-]+/i, why: 'a note kept elsewhere: put what it says here' },
  { pattern: /\b(?:style|design|ecosystem-facts|ingest-limits|otlp-receiver|pipeline-conventions)\.md\b/i, why: 'a document kept elsewhere' },
  { pattern: /\becosystem-facts\b/i, why: 'a note kept elsewhere' },
  { pattern: /\.\.\/shared\b/, why: 'a folder outside the repository' },
  { pattern: /\bissues? #?\d+\b/i, why: 'an issue number: keep the why, drop the number' },
  // Up to two digits is a ticket (a colour has three or more); more digits only after a word that says so.
  { pattern: /(?<![\w&#/])#\d{1,2}(?!\w)/, why: 'an issue or pull request number' },
  { pattern: /\b(?:PR|pull request|fix(?:es|ed)?|closes?|see|in)\s+#\d+\b/i, why: 'an issue or pull request number' },
  { pattern: /\bthe lead\b/i, why: 'a person outside the repository' },
  { pattern: /\bbrief\d*\.md\b/i, why: 'a task description kept elsewhere' },
];

/** Where each pattern matches in `text`, as "line: matched text (why)". */
function pointersOutside(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    for (const { pattern, why } of OUTSIDE) {
      const match = pattern.exec(line);
      if (match) found.push(`${index + 1}: "${match[0]}" (${why})`);
    }
  });
  return found;
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: path.dirname(SELF), encoding: 'utf8' }).trim();
const SKIPPED = [/(^|\/)node_modules\//, /(^|\/)package-lock\.json$/];

/** The tracked text files, by path from the root, but for this file and what npm writes. */
function trackedTextFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return listed
    .split('\0')
    .filter((file) => file !== '' && !SKIPPED.some((skip) => skip.test(file)))
    .filter((file) => path.join(ROOT, file) !== SELF && fs.existsSync(path.join(ROOT, file)));
}

describe('the repository is self-contained', () => {
  it('finds pointers outside the repository, and leaves ordinary words alone', () => {
    const pointers = [
      'as the reference designs store logs',
      "design 000's notebook record",
      'the SPECTRA notebook SDK',
      'a field of neither design',
      'see notes/ingest-limits.md',
      'style.md rule 3',
      'Issue 12: the same goals',
      'fixed in #12',
      'see #1234',
      '(#7)',
      'read ../shared/design.md',
      'as the lead asked',
    ];
    for (const text of pointers) expect(pointersOutside(text), text).not.toEqual([]);
    const ordinary = [
      'batch files of the earlier design',
      'color: #000; fill: #ffefeb; stroke: #123456',
      '[sdk.md](sdk.md#delivery-a-write-ahead-spool)',
      'docs/spool-format.md, an earlier pipemon',
      'release-notes/ and footnotes/x',
      'the leading zero',
    ];
    for (const text of ordinary) expect(pointersOutside(text), text).toEqual([]);
  });

  it('has no comment, doc, test name or message pointing outside it', () => {
    const files = trackedTextFiles();
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      if (text.includes('\0')) continue;
      for (const where of pointersOutside(text)) found.push(`${file}:${where}`);
    }
    expect(found, 'say what the thing is, in the comment or in docs/').toEqual([]);
  });
});
