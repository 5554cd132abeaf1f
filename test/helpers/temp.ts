/** Scratch directories for tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new empty directory under the system's temp folder, named `<prefix>` and a random part; the caller removes it if it must. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
