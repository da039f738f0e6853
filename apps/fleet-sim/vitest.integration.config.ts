import { defineConfig } from 'vitest/config';

// The simulated fleet against a control plane started as a process (its embedded store).
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.test-results/integration.json' }]],
  },
});
