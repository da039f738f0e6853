#!/usr/bin/env node
// `npm test`: lint, typecheck and unit tests of every project, then the
// integration and end-to-end tests (real Postgres, real Docker) one project at
// a time, then one summary line counted from every vitest report.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const projectDirs = ['apps', 'libs'].flatMap((d) => readdirSync(join(root, d)).map((p) => join(root, d, p)));
for (const dir of projectDirs) rmSync(join(dir, '.test-results'), { recursive: true, force: true });

const nx = (args) => spawnSync('npx', ['nx', 'run-many', ...args, '--outputStyle=static'], { cwd: root, stdio: 'inherit' }).status ?? 1;
const steps = [
  ['lint, typecheck, unit tests', ['-t', 'lint', 'typecheck', 'test']],
  ['integration and end-to-end tests', ['-t', 'test-integration', '--parallel=1']],
];
let failedStep = '';
for (const [name, args] of steps) {
  console.log(`\n== ${name}`);
  if (nx(args) !== 0 && !failedStep) failedStep = name;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of projectDirs) {
  const results = join(dir, '.test-results');
  if (!existsSync(results)) continue;
  for (const f of readdirSync(results)) {
    const r = JSON.parse(readFileSync(join(results, f), 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    // A test file that fails before any test runs (an import, a missing fixture) counts as one failure.
    failed += (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
console.log('');
if (failedStep) console.log(`FAILED: ${failedStep} (see above)`);
console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failedStep || failed > 0 ? 1 : passed === 0 ? 1 : 0);
