// Each app as one CommonJS file with no node_modules at run time (esbuild).
//
// CommonJS because Node 20's single-executable applications run one CommonJS
// script; the same file is what `node FILE` runs, so the executable and the
// bundle are one program. Minified: V8 keeps every loaded module's source in
// memory (about 10 MB of resident memory on a Pi).
//
//   node scripts/package/bundle.mjs [agent|cli|control-plane ...]   (default all; apps built first)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bundleDir = join(repoRoot, 'dist', 'bundles');
const unused = join(repoRoot, 'scripts', 'package', 'unused.cjs');

/** What each app's bundle is called, and what travels beside it. */
export const APPS = {
  agent: { file: 'berth-agent.cjs', dir: bundleDir },
  cli: { file: 'berth.cjs', dir: bundleDir },
  // The embedded store (PGlite) loads its WebAssembly and data files from beside the bundle.
  'control-plane': { file: 'berth-control-plane.cjs', dir: join(bundleDir, 'control-plane'), assets: ['pglite.wasm', 'pglite.data', 'initdb.wasm'] },
};

export function bundlePath(app) {
  return join(APPS[app].dir, APPS[app].file);
}

/** Bundles one app (its compiled apps/APP/dist/main.js) and copies its assets; returns the output path. */
export async function bundleApp(app) {
  const spec = APPS[app];
  if (!spec) throw new Error(`unknown app ${app} (one of ${Object.keys(APPS).join(', ')})`);
  const entry = join(repoRoot, 'apps', app, 'dist', 'main.js');
  const outfile = bundlePath(app);
  mkdirSync(spec.dir, { recursive: true });
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20.11', // the armv7 executable's Node (the last armv7l build on npm)
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    // dockerode's optional transports the agent never uses: ssh:// hosts and BuildKit sessions.
    alias: { ssh2: unused, '@grpc/proto-loader': unused },
    // ES module dependencies (PGlite) find their files relative to import.meta.url: the bundle's own URL.
    define: { 'import.meta.url': '__berthBundleUrl' },
    banner: { js: `var __berthBundleUrl = require('node:url').pathToFileURL(__filename).href; var __berthBundleVersion = ${JSON.stringify(version)};` },
    logLevel: 'error',
  });
  if (spec.assets) {
    const pglite = dirname(createRequire(join(repoRoot, 'libs', 'store', 'package.json')).resolve('@electric-sql/pglite'));
    for (const a of spec.assets) copyFileSync(join(pglite, a), join(spec.dir, a));
  }
  return outfile;
}

export function sizeMb(path) {
  return statSync(path).size / 1e6;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apps = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(APPS);
  for (const app of apps) {
    const out = await bundleApp(app);
    console.log(`bundled ${app}: ${out} (${sizeMb(out).toFixed(2)} MB)`);
  }
}
