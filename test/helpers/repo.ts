/**
 * Paths in the repository for tests, computed here once so that a test reads the same file wherever
 * its own file lives (tests mirror the source tree, at any depth under test/).
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository's root directory, with a trailing separator. */
export const REPO = path.join(import.meta.dirname, '..', '..', path.sep);

/** The absolute path of a repository path such as 'docker-compose.yml' or 'deploy/prometheus.yml'. */
export const repoPath = (...relative: string[]): string => path.join(REPO, ...relative);

export const readRepoFile = (relative: string): string => fs.readFileSync(repoPath(relative), 'utf8');

/** The absolute path of a file under test/fixtures/. */
export const fixturePath = (...relative: string[]): string => repoPath('test', 'fixtures', ...relative);
