// The official Node binary for a target, fetched once from the npm registry (npm pack) into a cache.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const CACHE = process.env.BERTH_NODE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'berth', 'node');

/**
 * The same binary without its symbol tables (about 12-14 MB less to download; nothing of what is
 * stripped is loaded at run time), made once beside it with the architecture's `strip`.
 */
export function strippedNodeBinary(target) {
  const bin = nodeBinary(target);
  const out = `${bin}-stripped`;
  if (existsSync(out)) return out;
  const r = spawnSync(target.strip, ['-o', `${out}.tmp`, bin], { encoding: 'utf8' });
  if (r.error?.code === 'ENOENT') throw new Error(`${target.strip} is needed to strip the ${target.arch} Node binary: apt-get install -y ${target.binutils}`);
  if (r.status !== 0) throw new Error(`${target.strip} ${bin} failed: ${r.stderr}`);
  renameSync(`${out}.tmp`, out);
  return out;
}

/** Path to bin/node of `target` (see targets.mjs), downloading it on first use. */
export function nodeBinary(target) {
  const dir = join(CACHE, `${target.npmPackage}-${target.nodeVersion}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  process.stderr.write(`fetching ${target.npmPackage}@${target.nodeVersion} from the npm registry...\n`);
  execFileSync('npm', ['pack', `${target.npmPackage}@${target.nodeVersion}`, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${target.npmPackage}@${target.nodeVersion} produced no tarball`);
  execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, '--strip-components=1', 'package/bin/node']);
  rmSync(join(tmp, tgz));
  chmodSync(join(tmp, 'bin', 'node'), 0o755);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return bin;
}
