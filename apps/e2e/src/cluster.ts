import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@berth/testing';
import { berth, berthJson, BerthProcess, caFiles, tokenFiles } from './processes.js';

export interface TaskJson {
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  healthStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: {
    name: string;
    runtimeId?: string;
    lastStatus?: string;
    exitCode?: number;
    reason?: string;
    healthStatus?: string;
    restartCount?: number;
    networkBindings?: { hostPort: number; containerPort: number; bindIP?: string }[];
  }[];
}

export function docker(args: string[], host?: string): string {
  return execFileSync('docker', [...(host ? ['-H', host] : []), ...args], { encoding: 'utf8' }).trim();
}

/** The parts of `docker inspect` the tests read. */
export interface InspectJson {
  Name: string;
  State: { Status: string; StartedAt: string; Health?: { Log: { ExitCode: number; End: string }[] } };
  HostConfig: { NetworkMode: string };
  Config: { Labels: Record<string, string> };
}

/** Containers of one task, by the label every Berth container carries. */
export function containersOf(taskId: string, opts: { all?: boolean; host?: string } = {}): { id: string; name: string; labels: Record<string, string>; state: string; info: InspectJson }[] {
  const ids = docker(['ps', ...(opts.all ? ['-a'] : []), '-q', '--no-trunc', '--filter', `label=berth.task-id=${taskId}`], opts.host).split('\n').filter(Boolean);
  return ids.map((id) => {
    const info = (JSON.parse(docker(['inspect', id], opts.host)) as InspectJson[])[0]!;
    return { id, name: info.Config.Labels['berth.container-name'], labels: info.Config.Labels, state: info.State.Status, info };
  });
}

/**
 * A control plane and one agent as real processes on 127.0.0.1, driven with
 * the CLI as a user would, against a real Docker engine.
 */
export class LocalCluster {
  readonly work = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  grpcPort = 0;
  httpPort = 0;
  /** The ECS endpoint (AWS JSON 1.1 + SigV4, TLS with the cluster CA). */
  ecsPort = 0;
  server = '';
  cp: BerthProcess | undefined;
  agent: BerthProcess | undefined;
  readonly tasks: string[] = [];

  constructor(
    private readonly agentArgs: string[] = [],
    private readonly dockerHost?: string,
    /** The agent to run: the compiled package, the one-file bundle, or an executable's command line. */
    private readonly agentScript: string | string[] = 'apps/agent/dist/main.js',
    /** Extra control-plane flags. */
    private readonly cpArgs: string[] = [],
  ) {}

  async start(): Promise<void> {
    this.grpcPort = await freePort();
    this.httpPort = await freePort();
    this.ecsPort = await freePort();
    this.server = `127.0.0.1:${this.grpcPort}`;
    this.startControlPlane();
    await this.ready();
    caFiles.set(this.server, this.caFile);
    tokenFiles.set(this.server, this.adminTokenFile);
    this.joinToken = await this.createToken();
    this.startAgent();
    await this.connected();
  }

  startControlPlane(): BerthProcess {
    this.cp = new BerthProcess('control-plane', 'apps/control-plane/dist/main.js', [
      '--listen', '127.0.0.1', '--grpc-port', String(this.grpcPort), '--http-port', String(this.httpPort), '--ecs-port', String(this.ecsPort), '--data-dir', join(this.work, 'cp'), '--heartbeat-interval', '1', '--bootstrap-token-file', this.adminTokenFile,
      ...this.cpArgs,
    ]);
    return this.cp;
  }

  /** Where the agent dials, when not the control plane itself (a TcpProxy a fault test controls). */
  agentServer: string | undefined;

  startAgent(extra: string[] = []): BerthProcess {
    this.agent = new BerthProcess('agent', this.agentScript, [
      '--server', this.agentServer ?? this.server, '--data-dir', this.agentDataDir, '--bind-ip', '127.0.0.1', '--log-level', 'debug', '--stats-interval', '2', '--token', this.joinToken,
      ...(this.dockerHost ? ['--docker-host', this.dockerHost] : []),
      ...this.agentArgs,
      ...extra,
    ]);
    return this.agent;
  }

  /** A join token the agents use (TLS and mTLS are on, as in production). */
  joinToken = '';

  /** A new join token, as an operator makes one. */
  async createToken(uses = 10): Promise<string> {
    const r = await berth(this.server, ['token', 'create', '--uses', String(uses), '--ttl', '1h']);
    if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}${this.diagnostics()}`);
    return r.stdout.trim();
  }

  /** Where the control plane writes its first admin API token (API auth is on, as in production). */
  get adminTokenFile(): string {
    return join(this.work, 'admin-token');
  }

  /** The admin API token. */
  adminToken(): string {
    return readFileSync(this.adminTokenFile, 'utf8').trim();
  }

  /** The cluster CA the control plane made at its first start (TLS is on, as in production). */
  get caFile(): string {
    return join(this.work, 'cp', 'pki', 'ca.crt');
  }

  get agentDataDir(): string {
    return join(this.work, 'agent');
  }

  ready(): Promise<unknown> {
    return waitFor(`control plane ready on ${this.httpPort}`, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${this.httpPort}/readyz`)).ok;
      } catch {
        return false;
      }
    }, 60_000);
  }

  connected(): Promise<unknown> {
    return waitFor('the agent to be connected', async () => {
      const r = await berth(this.server, ['node', 'ls', '--output', 'json']);
      return r.code === 0 && /"agentConnected":\s*true/.test(r.stdout);
    }, 90_000).catch((err) => {
      throw new Error(`${err.message}${this.diagnostics()}`);
    });
  }

  diagnostics(): string {
    return `\n--- control plane ---\n${this.cp?.tail(60)}\n--- agent ---\n${this.agent?.tail(80)}`;
  }

  /** Registers a task definition given as an object; returns family:revision. */
  async register(def: object): Promise<string> {
    const file = join(this.work, `td-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(def));
    const r = await berth(this.server, ['taskdef', 'register', '-f', file]);
    if (r.code !== 0) throw new Error(`register failed: ${r.stderr}`);
    return /(\S+:\d+)/.exec(r.stdout)![1]!;
  }

  async run(taskDef: string): Promise<string> {
    const ran = await berthJson<{ tasks: TaskJson[]; failures?: unknown[] }>(this.server, ['task', 'run', taskDef]);
    if ((ran.failures ?? []).length > 0) throw new Error(`run failed: ${JSON.stringify(ran.failures)}`);
    const id = ran.tasks[0]!.taskArn.split('/').pop()!;
    this.tasks.push(id);
    return id;
  }

  async describe(taskId: string): Promise<TaskJson> {
    const j = await berthJson<TaskJson>(this.server, ['task', 'describe', taskId]);
    return j;
  }

  /** Waits until the task satisfies `ok`; the error carries both processes' logs. */
  until(taskId: string, what: string, ok: (t: TaskJson) => boolean, timeoutMs = 60_000): Promise<TaskJson> {
    return waitFor(what, async () => {
      const t = await this.describe(taskId);
      return ok(t) ? t : undefined;
    }, timeoutMs).catch(async (err) => {
      throw new Error(`${err.message}\nlast: ${JSON.stringify(await this.describe(taskId).catch(() => undefined))}${this.diagnostics()}`);
    });
  }

  /** The newest events, as `berth events -o json` prints them (one JSON object per line). */
  async events(last = 500): Promise<{ kind: string; subject: string; message: string }[]> {
    const r = await berth(this.server, ['events', '--last', String(last), '--output', 'json']);
    if (r.code !== 0) throw new Error(`berth events failed: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  async stop(): Promise<void> {
    await this.agent?.stop();
    await this.cp?.stop();
    for (const id of this.tasks) {
      for (const c of containersOf(id, { all: true, host: this.dockerHost })) docker(['rm', '-f', '-v', c.id], this.dockerHost);
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}
