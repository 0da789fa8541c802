import { defineConfig } from 'vitest/config';

// Files that count every container faultline made (of any run) while they run: they must have the
// Docker engine to themselves, so they run after the others, one at a time.
const ALONE = ['test/integration/campaign.test.ts', 'test/integration/prove-backup.test.ts'];

export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', 'junit', 'json'] : ['default'],
    outputFile: { junit: 'test-results/junit.xml', json: 'test-results/vitest.json' },
    env: { TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? 'true' },
    projects: [
      {
        extends: true,
        // Unit files share the first group's two workers with the integration files.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ALONE,
          // Real containers on a 2-core machine: two files at a time (most of a drill is waiting on
          // the database, the manager or a fault's timer), generous time limits.
          maxWorkers: 2,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-alone',
          include: ALONE,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
