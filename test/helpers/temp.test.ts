import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './temp.js';

describe('tempDir', () => {
  it('makes a new, empty directory under the temp folder, named with the prefix, another each call', () => {
    const [a, b] = [tempDir('pipemon-temp-test-'), tempDir('pipemon-temp-test-')];
    try {
      expect(a).not.toBe(b);
      expect(path.dirname(a)).toBe(os.tmpdir());
      expect(path.basename(a)).toMatch(/^pipemon-temp-test-.+/);
      expect(fs.readdirSync(a)).toEqual([]);
    } finally {
      fs.rmSync(a, { recursive: true, force: true });
      fs.rmSync(b, { recursive: true, force: true });
    }
  });
});
