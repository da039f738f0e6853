import { defineConfig } from 'vitest/config';

// Tests against a real Postgres and a real Docker engine. Under CI=true they
// fail, never skip, when either is missing.
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts', 'test/**/*.itest.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.test-results/integration.json' }]],
  },
});
