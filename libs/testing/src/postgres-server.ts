import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip } from './environment.js';

const PG_BIN = process.env.BERTH_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  url: string;
  /** Stops the server and removes its data (no-op for an external DATABASE_URL). */
  stop(): Promise<void>;
  /**
   * Fault injection: stops the server and keeps its data (`pg_ctl stop`; `fast`
   * by default: sessions are ended and it shuts down cleanly; `immediate`: as if
   * it crashed). Throws for an external TEST_DATABASE_URL (not ours to stop).
   */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same data directory and port (after stopServer). */
  startServer(): Promise<void>;
}

export interface TestPostgresOptions {
  /** Postgres's defaults (fsync on) instead of a test's fsync off (benchmarks). */
  durable?: boolean;
  /** A server of our own even when TEST_DATABASE_URL is set (tests that stop and start it). */
  own?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real Postgres for a test: TEST_DATABASE_URL when set, else a throwaway
 * cluster started from the machine's Postgres 15 binaries (as the postgres
 * user when running as root, since initdb refuses root).
 * Returns undefined (skip) outside CI when neither is available; throws under CI.
 * Tests run it with fsync off; `durable` keeps Postgres's defaults (benchmarks).
 */
export async function startTestPostgres(opts: TestPostgresOptions = {}): Promise<TestPostgres | undefined> {
  const external = opts.own ? undefined : process.env.TEST_DATABASE_URL;
  if (external) {
    const notOurs = async () => {
      throw new Error('TEST_DATABASE_URL is an external server: a test cannot stop or start it (ask for { own: true })');
    };
    return { url: external, stop: async () => {}, stopServer: notOurs, startServer: notOurs };
  }
  const available = existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
  const hint = opts.own ? `no binaries in ${PG_BIN} (this test starts and stops its own server)` : `no binaries in ${PG_BIN} and no TEST_DATABASE_URL`;
  if (!requireOrSkip('Postgres 15', available, hint)) return undefined;

  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const command = (cmd: string, args: string[]): [string, string[]] => {
    if (!asRoot) return [join(PG_BIN, cmd), args];
    const quoted = [join(PG_BIN, cmd), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    return ['su', ['postgres', '-s', '/bin/sh', '-c', quoted]];
  };
  const run = (cmd: string, args: string[]) => execFileSync(...command(cmd, args), { stdio: 'pipe' });
  // Stopping and starting under a test does not block its event loop (a control plane may run in it).
  const runAsync = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(...command(cmd, args), (err, _stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.at(-1)} failed: ${stderr || err.message}`)) : resolve())),
    );
  if (asRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const startArgs = ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} ${opts.durable ? '' : '-c fsync=off '}-c max_connections=200`, 'start'];
  run('pg_ctl', startArgs);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stopServer: (mode = 'fast') => runAsync('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']),
    startServer: () => runAsync('pg_ctl', startArgs),
    stop: async () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}

/** Runs `cmd` until it exits; resolves with its output. */
export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
