// bench:package — what users download, and what the agent costs as a single executable.
//
//  - the size of each executable (agent and CLI, per architecture) and of each bundle;
//  - the agent's resident memory at idle, connected to a real control plane (the bundle, with the
//    embedded store, --insecure on 127.0.0.1) with the real Docker engine and no tasks: as the amd64
//    single executable, and as the bundle run by this machine's Node (the same Node release), both
//    running at the same time (same moment, same page cache), over --rounds rounds. Each is under
//    /usr/bin/time -v (its peak, "Maximum resident set size") and sampled from /proc each second
//    after a settling time (the idle figure: median; private dirty: the pages it owns).
//
// Run by `npm run bench:package` after `npm run package`. Flags: --rounds N (default 3),
// --settle-seconds N (default 20), --idle-seconds N (default 30).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, machine } from '@berth/testing';
import { bundlePath, repoRoot } from './bundle.mjs';
import { executablePath, EXECUTABLES } from './package.mjs';
import { TARGETS } from './targets.mjs';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string' }, 'settle-seconds': { type: 'string' }, 'idle-seconds': { type: 'string' } } });
const ROUNDS = Number(flags.rounds ?? 3);
const SETTLE_S = Number(flags['settle-seconds'] ?? 20);
const IDLE_S = Number(flags['idle-seconds'] ?? 30);
const say = (s) => console.log(`bench package: ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => Math.round((bytes / 1e6) * 10) / 10;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function start(name, command, args) {
  const child = spawn(command[0], [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d) => {
    output = (output + d).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  return { name, child, exited, output: () => output };
}

async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function agentsConnected(httpPort) {
  try {
    return (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()).agents ?? 0;
  } catch {
    return -1;
  }
}

/** The process /usr/bin/time started (its only child). */
function childOf(pid) {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.split(') ')[1].split(' ')[1]) === pid) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** Memory the process owns (anonymous and written pages): RSS less the clean pages of mapped files, which the kernel can drop. */
const privateDirtyMb = (pid) => Number(/Private_Dirty:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;

/**
 * How many pages of a mapped file a process has depends on the page cache: a file just written (the
 * executable, right after packaging) is cached whole, and each page fault maps its cached neighbours
 * too. Each round starts from a cold cache, as on a node after a boot (needs root; said when not).
 */
let coldCacheNote = 'page cache dropped before each round';
function coldCache() {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch (err) {
    coldCacheNote = `page cache NOT dropped (${err.code ?? err.message}): figures depend on what is cached`;
  }
}

/**
 * Starts every variant at once (the same control plane, the same moment, the same page cache), waits
 * until all are connected and settled, samples each every second, then stops them.
 */
async function measureAgents(variants, server, httpPort, work) {
  coldCache();
  const before = await agentsConnected(httpPort);
  const runs = Object.entries(variants).map(([variant, command]) => {
    const dataDir = join(work, `agent-${variant}-${Math.random().toString(36).slice(2, 8)}`);
    const run = start(variant, ['/usr/bin/time', '-v', ...command], ['--server', server, '--insecure', '--data-dir', dataDir, '--bind-ip', '127.0.0.1', '--log-level', 'warn', '--secrets-dir', join(dataDir, 'secrets')]);
    return { variant, run, idle: [], owned: [] };
  });
  const t0 = Date.now();
  await until('the agents to connect', async () => (await agentsConnected(httpPort)) >= before + runs.length, 60_000).catch((err) => {
    throw new Error(`${err.message}\n${runs.map((r) => r.run.output()).join('\n')}`);
  });
  const connectS = (Date.now() - t0) / 1000;
  for (const r of runs) {
    r.pid = childOf(r.run.child.pid);
    if (!r.pid) throw new Error(`no agent process under /usr/bin/time (${r.run.child.pid})`);
  }
  await sleep(SETTLE_S * 1000);
  for (let i = 0; i < IDLE_S; i++) {
    for (const r of runs) {
      r.idle.push(rssMb(r.pid));
      r.owned.push(privateDirtyMb(r.pid));
    }
    await sleep(1000);
  }
  for (const r of runs) process.kill(r.pid, 'SIGTERM');
  await Promise.all(runs.map((r) => r.run.exited));
  await until('the control plane to see the agents go', async () => (await agentsConnected(httpPort)) === before, 30_000);
  return Object.fromEntries(
    runs.map((r) => [
      r.variant,
      { idle: median(r.idle), owned: median(r.owned), peak: Number(/Maximum resident set size \(kbytes\):\s+(\d+)/.exec(r.run.output())?.[1] ?? NaN) / 1024, connectS },
    ]),
  );
}

async function main() {
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed: apt-get install -y time');
  for (const [, name, archs] of EXECUTABLES) for (const arch of archs) if (!existsSync(executablePath(name, arch))) throw new Error(`${executablePath(name, arch)} is missing: run npm run package first`);
  const figures = [];
  for (const t of TARGETS) {
    figures.push([`agent_size_mb_${t.arch}`, mb(statSync(executablePath('berth-agent', t.arch)).size), 'MB']);
    figures.push([`cli_size_mb_${t.arch}`, mb(statSync(executablePath('berth', t.arch)).size), 'MB']);
  }
  for (const app of ['agent', 'cli', 'control-plane']) figures.push([`bundle_size_mb_${app}`, Math.round((statSync(bundlePath(app)).size / 1e6) * 100) / 100, 'MB']);
  figures.push(['control_plane_archive_mb', mb(statSync(join(repoRoot, 'dist', 'berth-control-plane.tar.gz')).size), 'MB']);

  const work = mkdtempSync(join(tmpdir(), 'berth-bench-package-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const cp = start('control-plane', [process.execPath, bundlePath('control-plane')], ['--insecure', '--listen', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--data-dir', join(work, 'cp'), '--log-level', 'warn']);
  try {
    await until('the control plane', async () => (await agentsConnected(httpPort)) >= 0, 60_000).catch((err) => {
      throw new Error(`${err.message}\n${cp.output()}`);
    });
    const variants = {
      executable: [executablePath('berth-agent', 'amd64')],
      bundle: [process.execPath, bundlePath('agent')],
    };
    const results = { executable: [], bundle: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      const measured = await measureAgents(variants, `127.0.0.1:${grpcPort}`, httpPort, work);
      for (const [variant, r] of Object.entries(measured)) {
        say(`round ${round} ${variant}: idle RSS ${r.idle.toFixed(1)} MB (median of ${IDLE_S} samples after ${SETTLE_S} s), of it private dirty ${r.owned.toFixed(1)} MB, peak ${r.peak.toFixed(1)} MB`);
        results[variant].push(r);
      }
    }
    for (const variant of ['executable', 'bundle']) {
      const rs = results[variant];
      figures.push([`agent_rss_mb_${variant}`, Math.round(median(rs.map((r) => r.idle)) * 10) / 10, 'MB']);
      figures.push([`agent_private_dirty_mb_${variant}`, Math.round(median(rs.map((r) => r.owned)) * 10) / 10, 'MB']);
      figures.push([`agent_peak_rss_mb_${variant}`, Math.round(median(rs.map((r) => r.peak)) * 10) / 10, 'MB']);
    }
    const ratio = median(results.executable.map((r) => r.idle)) / median(results.bundle.map((r) => r.idle));
    figures.push(['agent_rss_ratio_executable_to_bundle', Math.round(ratio * 100) / 100, 'x']);
  } finally {
    cp.child.kill('SIGTERM');
    await cp.exited;
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`bench package: machine ${machine()}`);
  console.log(`bench package: ${coldCacheNote}`);
  console.log(`bench package: ${ROUNDS} rounds per variant; the executable is the official Node ${TARGETS[0].nodeVersion} binary, stripped, with the bundle injected, the bundle runs on ${process.execPath} (${process.version})`);
  for (const [metric, value, unit] of figures) console.log(`bench package ${metric} ${value} ${unit}`);
}

main().catch((err) => {
  console.error(`bench package: ${err.message}`);
  process.exit(1);
});
