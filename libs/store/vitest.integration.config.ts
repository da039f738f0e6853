import { defineConfig } from 'vitest/config';

// Tests against a real Postgres and a real Docker engine. Under CI=true they
// fail, never skip, when either is missing.
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts', 'test/**/*.itest.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // postgres.js reads array types on each new connection without catching a failure; a database cut at that
    // moment is an unhandled rejection (harmless: the connection retries; the control plane's main.ts lets it
    // pass, see isTypeFetchCutOff in @berth/store). Any other unhandled error still fails the run.
    onUnhandledError: (e) => !(typeof (e as { query?: unknown }).query === 'string' && String((e as { query?: unknown }).query).includes('pg_catalog.pg_type') && /^(CONNECTION_|ECONN|EPIPE|ETIMEDOUT)/.test(String((e as { code?: unknown }).code))),
    reporters: ['default', ['json', { outputFile: '.test-results/integration.json' }]],
  },
});
