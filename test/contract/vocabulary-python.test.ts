/**
 * The Python SDK's names (python/src/pipemon/vocabulary.py) are generated from the Node SDK's
 * (contract/vocabulary-python.ts): the committed file must be what the generator writes now, so that both SDKs
 * send what the receiver reads.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vocabularyPython } from '../../contract/vocabulary-python.js';
import { ATTR } from '../../contract/vocabulary.js';
import { repoPath } from '../helpers/repo.js';

const FILE = repoPath('python/src/pipemon/vocabulary.py');

describe('python/src/pipemon/vocabulary.py', () => {
  it('is what contract/vocabulary-python.ts generates (regenerate: npm run build && node dist/contract/vocabulary-python.js)', () => {
    expect(fs.readFileSync(FILE, 'utf8')).toBe(vocabularyPython());
  });

  it('spells every attribute key of the Node SDK', () => {
    const text = fs.readFileSync(FILE, 'utf8');
    for (const value of Object.values(ATTR)) expect(text).toContain(` = "${value}"`);
  });
});
