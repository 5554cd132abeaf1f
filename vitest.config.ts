import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres-server.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites that start servers and PostgreSQL instances share 2 cores; run files one at a time.
    fileParallelism: false,
    // global.gc for suites that measure live memory (csv-export-memory), not garbage not yet collected.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
