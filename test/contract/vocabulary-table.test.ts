/**
 * docs/vocabulary.md is generated from contract/vocabulary.ts (contract/vocabulary-table.ts): the committed file must
 * be what the generator writes now, so that the table a user of any language reads never drifts from the
 * names the SDK sends and the receiver reads.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ATTR, ATTR_DOCS, EVENT, EVENT_DOCS } from '../../contract/vocabulary.js';
import { vocabularyMarkdown } from '../../contract/vocabulary-table.js';
import { repoPath } from '../helpers/repo.js';

const DOC = repoPath('docs/vocabulary.md');

describe('docs/vocabulary.md', () => {
  it('is what contract/vocabulary-table.ts generates (regenerate: npm run build && node dist/contract/vocabulary-table.js)', () => {
    expect(fs.readFileSync(DOC, 'utf8')).toBe(vocabularyMarkdown());
  });

  it('has a row for every attribute and event name, each documented with a type, a meaning and an example', () => {
    const text = fs.readFileSync(DOC, 'utf8');
    for (const key of Object.keys(ATTR) as (keyof typeof ATTR)[]) {
      const doc = ATTR_DOCS[key];
      expect(doc.type && doc.meaning && doc.example, key).toBeTruthy();
      expect(text, key).toContain(`| \`${ATTR[key]}\` | `);
    }
    for (const key of Object.keys(EVENT) as (keyof typeof EVENT)[]) {
      expect(EVENT_DOCS[key], key).toBeTruthy();
      expect(text, key).toContain(`| \`${EVENT[key]}\` | `);
    }
  });
});
