#!/usr/bin/env node
// `node scripts/gen-ecs-api-doc.mjs`: regenerates docs/ecs-api.md. The doc is written by the "every
// operation" test of apps/control-plane/src/ecs-api.itest.ts from what the ECS endpoint answers (every
// run of that test writes it); this builds the control plane and runs only that test. Then review
// `git diff docs/ecs-api.md`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';

const root = join(import.meta.dirname, '..');
const run = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run('npx', ['nx', 'run-many', '-t', 'build', '--projects=control-plane', '--outputStyle=static'], root);
run('npx', ['vitest', 'run', '--config', 'vitest.integration.config.ts', 'src/ecs-api.itest.ts', '-t', 'answers every operation of the ECS model'], join(root, 'apps', 'control-plane'));
process.stdout.write('docs/ecs-api.md written\n');
