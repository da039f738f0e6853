import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** A long-running Berth process whose output the test keeps for diagnostics. */
export class BerthProcess {
  readonly child: ChildProcess;
  output = '';

  /**
   * `program`: a JavaScript file run by this Node (relative to the repository), or a command
   * line to start it with (an executable, perhaps under qemu: [command, ...its arguments]).
   */
  constructor(readonly name: string, program: string | string[], args: string[], env: Record<string, string> = {}) {
    const [command, ...prefix] = typeof program === 'string' ? [process.execPath, join(repoRoot, program)] : program;
    this.child = spawn(command!, [...prefix, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.running) {
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The cluster CA of each control plane the tests started (server -> CA file), so the CLI trusts it. */
export const caFiles = new Map<string, string>();
/** The admin API token of each control plane the tests started (server -> token file, written at its first start). */
export const tokenFiles = new Map<string, string>();

/**
 * Runs the `berth` CLI once (with the server's CA when the tests know it). `program`: the
 * command line that starts the CLI (default the compiled package run by this Node).
 */
export function berth(server: string, args: string[], program: string[] = [process.execPath, join(repoRoot, 'apps/cli/dist/main.js')]): Promise<CliResult> {
  return new Promise((resolve) => {
    const ca = caFiles.get(server);
    const tokenFile = tokenFiles.get(server);
    const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined;
    const [command, ...prefix] = program;
    const p = spawn(command!, [...prefix, '--server', server, ...(ca ? ['--ca', ca] : []), ...(token ? ['--token', token] : []), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function berthJson<T>(server: string, args: string[]): Promise<T> {
  const r = await berth(server, [...args, '--output', 'json']);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
