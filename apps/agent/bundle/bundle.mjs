// The agent as one JavaScript file with no node_modules at run time:
// apps/agent/dist-bundle/berth-agent.mjs (from the compiled apps/agent/dist).
// Minified: V8 keeps every loaded module's source in memory, and on a Pi the
// difference is about 10 MB of resident memory.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const unused = join(here, 'unused.cjs');
const outfile = join(here, '..', 'dist-bundle', 'berth-agent.mjs');

await build({
  entryPoints: [join(here, '..', 'dist', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'linked',
  alias: { ssh2: unused, '@grpc/proto-loader': unused },
  // CommonJS dependencies call require(); give the ES module bundle one.
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`bundled ${outfile} (${Math.round(statSync(outfile).size / 1024)} KiB)`);
