import { execFileSync, execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_IMAGE, waitFor } from '@berth/testing';

/** A bridge of its own: a second engine must not touch docker0 (with --bridge=none it deletes it). */
const BRIDGE = 'br-berthe2e';
const BRIDGE_CIDR = '172.31.251.1/24';

/**
 * A Docker engine of the test's own (own socket, data root and bridge, live
 * restore on), so a test can stop and restart the engine under a running agent
 * without disturbing the machine's engine or other tests.
 */
export class PrivateDockerd {
  readonly socket: string;
  readonly host: string;
  private child: ChildProcess | undefined;
  log = '';

  constructor(readonly dir: string) {
    this.socket = join(dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    try {
      execFileSync('ip', ['link', 'show', BRIDGE], { stdio: 'pipe' });
    } catch {
      execFileSync('ip', ['link', 'add', 'name', BRIDGE, 'type', 'bridge']);
      execFileSync('ip', ['addr', 'add', BRIDGE_CIDR, 'dev', BRIDGE]);
      execFileSync('ip', ['link', 'set', BRIDGE, 'up']);
    }
    this.child = spawn('dockerd', [
      '--data-root', join(this.dir, 'root'),
      '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'dockerd.pid'),
      '-H', this.host,
      `--bridge=${BRIDGE}`,
      '--iptables=false',
      '--ip-masq=false',
      '--live-restore',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-100_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    await waitFor('the private engine to answer', () => {
      try {
        execFileSync('docker', ['-H', this.host, 'version'], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    }, 60_000);
  }

  /** Copies the test image from the machine's engine. */
  loadTestImage(): void {
    execSync(`docker save ${TEST_IMAGE} | docker -H ${this.host} load -q`, { stdio: 'pipe' });
  }

  /** SIGTERM; with live restore its containers keep running. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Removes every container, stops the engine and its containerd, and the files as far as it can. */
  async destroy(): Promise<void> {
    try {
      const ids = execFileSync('docker', ['-H', this.host, 'ps', '-aq'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      if (ids.length > 0) execFileSync('docker', ['-H', this.host, 'rm', '-f', '-v', ...ids], { stdio: 'pipe' });
    } catch {
      // engine already gone
    }
    await this.stop();
    try {
      const pid = Number(readFileSync(join(this.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8'));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    } catch {
      // no containerd left
    }
    try {
      execSync(`grep ' ${this.dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l`, { stdio: 'pipe' });
    } catch {
      // nothing mounted
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
