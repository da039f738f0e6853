import { defineConfig } from 'vitest/config';

// Tests that run the AWS CLI against answers this library encodes. Under CI=true they fail, never skip, when
// the CLI is missing.
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts'],
    testTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.test-results/integration.json' }]],
  },
});
