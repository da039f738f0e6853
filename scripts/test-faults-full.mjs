// npm run test:faults:full — the fault-injection suite at full length (BERTH_FAULTS_FULL=1):
// every test file named *faults* in the projects that hold them, one after another.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const projects = ['apps/control-plane', 'apps/fleet-sim', 'apps/e2e'];
const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=agent,cli,control-plane,fleet-sim,testing'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
let failed = 0;
for (const dir of projects) {
  console.log(`\n== ${dir}: fault scenarios at full length ==`);
  const r = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.integration.config.ts', 'faults', '--passWithNoTests', ...process.argv.slice(2)], {
    cwd: join(root, dir),
    stdio: 'inherit',
    env: { ...process.env, BERTH_FAULTS_FULL: '1' },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
