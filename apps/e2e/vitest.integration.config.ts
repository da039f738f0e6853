import { defineConfig } from 'vitest/config';

// End to end: processes and a real Docker engine. Under CI=true a missing
// engine fails the suite instead of skipping it.
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.test-results/integration.json' }]],
  },
});
