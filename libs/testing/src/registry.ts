import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip } from './environment.js';
import { waitFor } from './wait.js';

/** Debian's docker-registry (the Distribution registry), for image pull tests on 127.0.0.1. */
export function registryAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function requireRegistry(): boolean {
  return requireOrSkip('docker-registry', registryAvailable(), 'apt-get install docker-registry');
}

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 (the engine pulls from 127.0.0.0/8 without TLS). */
  host: string;
  /** Everything the registry logged (one line per request). */
  log(): string;
  stop(): Promise<void>;
}

async function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A throwaway registry with its storage in a temporary directory; with `auth`, it asks for that user (htpasswd, bcrypt). */
export async function startTestRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freeLocalPort();
  const config = join(dir, 'config.yml');
  const authLines: string[] = [];
  if (opts.auth) {
    const bcrypt = createRequire(import.meta.url)('bcryptjs') as { hashSync(password: string, rounds: number): string };
    writeFileSync(join(dir, 'htpasswd'), `${opts.auth.username}:${bcrypt.hashSync(opts.auth.password, 8)}\n`);
    authLines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: 127.0.0.1:${port}`, ...authLines, ''].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const host = `127.0.0.1:${port}`;
  await waitFor('the registry to answer', async () => {
    try {
      const r = await fetch(`http://${host}/v2/`);
      return r.ok || r.status === 401;
    } catch {
      return false;
    }
  }, 30_000);
  return {
    host,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
