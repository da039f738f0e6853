// npm run package: the bundles, and single executables of the agent and the CLI for
// linux-amd64, linux-arm64 and linux-armv7, in dist/ with their SHA256SUMS.
//
// An executable is the official Node binary of its architecture (node-binaries.mjs), stripped of its
// symbol tables, with the app's bundle injected as a single-executable-application blob (postject). The blob is made
// by that same Node binary (under qemu for foreign architectures), so blob and binary always
// agree on the Node version; no code cache or snapshot, which keeps the blob portable.
//
//   node scripts/package/package.mjs [--arch amd64,arm64,armv7] [--app agent,cli]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { APPS, bundleApp, bundlePath, repoRoot, sizeMb } from './bundle.mjs';
import { strippedNodeBinary } from './node-binaries.mjs';
import { runner, TARGETS } from './targets.mjs';

/**
 * The executables: [app, file name prefix, architectures]. The control plane carries the embedded
 * store's files as assets, which Node has from 20.12: not on armv7 (Node 20.11 there), where it
 * runs from berth-control-plane.tar.gz with Node 20.
 */
export const EXECUTABLES = [
  ['agent', 'berth-agent', ['amd64', 'arm64', 'armv7']],
  ['cli', 'berth', ['amd64', 'arm64', 'armv7']],
  ['control-plane', 'berth-control-plane', ['amd64', 'arm64']],
];
export const distDir = join(repoRoot, 'dist');
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export function executablePath(name, arch) {
  return join(distDir, `${name}-linux-${arch}`);
}

/** Injects `app`'s bundle into the Node binary of `target`; returns the executable's path. */
export function buildExecutable(app, name, target) {
  const work = join(distDir, '.sea', `${name}-${target.arch}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const blob = join(work, 'sea.blob');
  const config = join(work, 'sea-config.json');
  const assets = Object.fromEntries((APPS[app].assets ?? []).map((a) => [a, join(APPS[app].dir, a)]));
  writeFileSync(config, JSON.stringify({ main: bundlePath(app), output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, ...(APPS[app].assets ? { assets } : {}) }));
  const node = strippedNodeBinary(target);
  const [cmd, ...prefix] = [...runner(target), node];
  run(cmd, [...prefix, '--experimental-sea-config', config]);
  const out = executablePath(name, target.arch);
  rmSync(out, { force: true });
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  const postject = join(repoRoot, 'node_modules', 'postject', 'dist', 'cli.js');
  run(process.execPath, [postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE]);
  rmSync(work, { recursive: true, force: true });
  return out;
}

/** Runs a step quietly (postject warns about ELF notes it does not know); its output only if it fails. */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function main() {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, app: { type: 'string' } } });
  const archs = values.arch ? values.arch.split(',') : TARGETS.map((t) => t.arch);
  const apps = values.app ? values.app.split(',') : EXECUTABLES.map(([a]) => a);
  for (const a of archs) if (!TARGETS.some((t) => t.arch === a)) throw new Error(`--arch: unknown ${a} (one of ${TARGETS.map((t) => t.arch).join(', ')})`);
  for (const a of apps) if (!EXECUTABLES.some(([x]) => x === a)) throw new Error(`--app: unknown ${a} (one of ${EXECUTABLES.map(([x]) => x).join(', ')})`);

  const made = [];
  for (const app of Object.keys(APPS)) {
    const out = await bundleApp(app);
    console.log(`bundle     ${relative(repoRoot, out).padEnd(48)} ${sizeMb(out).toFixed(2)} MB`);
    made.push(out);
  }
  for (const target of TARGETS.filter((t) => archs.includes(t.arch))) {
    for (const [app, name] of EXECUTABLES.filter(([a, , archs]) => apps.includes(a) && archs.includes(target.arch))) {
      const started = Date.now();
      const out = buildExecutable(app, name, target);
      console.log(`executable ${relative(repoRoot, out).padEnd(48)} ${sizeMb(out).toFixed(1)} MB  (Node ${target.nodeVersion}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  // Every executable in dist/ is listed (those of architectures not rebuilt this time too).
  for (const target of TARGETS) for (const [, name] of EXECUTABLES) if (existsSync(executablePath(name, target.arch))) made.push(executablePath(name, target.arch));
  // A release directory: deploy/install-agent.sh installs from it (--from), the control plane as one archive.
  for (const [src, name] of [['deploy/install-agent.sh', 'install-agent.sh'], ['deploy/systemd/berth-agent.service', 'berth-agent.service'], ['deploy/systemd/berth-control-plane.service', 'berth-control-plane.service']]) {
    copyFileSync(join(repoRoot, src), join(distDir, name));
    made.push(join(distDir, name));
  }
  const archive = join(distDir, 'berth-control-plane.tar.gz');
  run('tar', ['-czf', archive, '-C', join(distDir, 'bundles'), 'control-plane']);
  console.log(`archive    ${relative(repoRoot, archive).padEnd(48)} ${sizeMb(archive).toFixed(1)} MB  (the control plane's bundle and the embedded store's files)`);
  made.push(archive);
  const sums = made.map((p) => `${sha256(p)}  ${relative(distDir, p)}`).join('\n') + '\n';
  writeFileSync(join(distDir, 'SHA256SUMS'), sums);
  console.log(`checksums  dist/SHA256SUMS`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`package: ${err.message}`);
    process.exit(1);
  });
}
