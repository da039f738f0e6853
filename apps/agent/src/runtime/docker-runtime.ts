import { Readable } from 'node:stream';
import Docker from 'dockerode';
import type {
  ContainerEvent,
  ContainerInspection,
  ContainerRuntime,
  ContainerUsage,
  CreateSpec,
  EngineInfo,
  ManagedContainer,
  PortBinding,
  PullPolicy,
  RegistryAuth,
  VolumeSpec,
} from './container-runtime.js';
import { LABEL_CONTAINER_NAME, LABEL_MANAGED, LABEL_NODE_ID, LABEL_ROLE, LABEL_TASK_ID } from './labels.js';
import { normalizeArch } from '../facts/node-facts.js';
import { pauseElf, singleFileTar } from './pause-image.js';

/** Where the engine is: DOCKER_HOST style (unix:///path, tcp://host:port) or a socket path. */
export function dockerOptions(host: string): Docker.DockerOptions {
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }
  return { socketPath: host.replace(/^unix:\/\//, '') };
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** "Exited (137) 3 seconds ago", "Up 5 seconds (healthy)": what the list says, so a pass needs no inspect. */
export function parseListStatus(status: string): { exitCode?: number; health?: ManagedContainer['health'] } {
  const exit = /^Exited \((-?\d+)\)/.exec(status);
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1];
  return {
    exitCode: exit ? Number(exit[1]) : undefined,
    health: health === 'health: starting' ? 'starting' : (health as ManagedContainer['health']),
  };
}

/** Consumes a progress stream (pull, import) and fails on an error line. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
      const failed = err ?? (out.find((o) => o.error) ? new Error(out.find((o) => o.error)!.error) : null);
      if (failed) reject(failed);
      else resolve();
    }),
  );
}

/** A thin layer over dockerode: no policy here, only the engine's verbs. */
export class DockerRuntime implements ContainerRuntime {
  /** The client, shared with what reads logs (not part of ContainerRuntime). */
  readonly docker: Docker;

  /** The node this agent is: its containers carry it, and only they (or older ones without it) are listed. */
  private nodeId = '';
  /** Containers Docker reported an `oom` event for (the last 1,000). */
  private readonly oomSeen = new Set<string>();

  constructor(readonly host: string) {
    this.docker = new Docker(dockerOptions(host));
  }

  /** Scopes the runtime to one node identity (set once the control plane has named the node). */
  scopeTo(nodeId: string): void {
    this.nodeId = nodeId;
  }

  async version(): Promise<string> {
    const v = await this.docker.version();
    return v.Version;
  }

  async info(): Promise<EngineInfo> {
    const [v, i] = await Promise.all([this.docker.version(), this.docker.info()]);
    return { version: v.Version, arch: normalizeArch(i.Architecture ?? v.Arch), rootDir: i.DockerRootDir ?? '/var/lib/docker' };
  }

  async list(): Promise<ManagedContainer[]> {
    const all = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
    return all
      .filter((c) => c.Labels[LABEL_TASK_ID] && (c.Labels[LABEL_NODE_ID] ?? this.nodeId) === this.nodeId)
      .map((c) => ({
        id: c.Id,
        taskId: c.Labels[LABEL_TASK_ID]!,
        containerName: c.Labels[LABEL_CONTAINER_NAME] ?? '',
        state: c.State,
        ...parseListStatus(c.Status ?? ''),
        ...(c.Labels[LABEL_ROLE] ? { role: c.Labels[LABEL_ROLE] } : {}),
      }));
  }

  async ensureImage(image: string, policy: PullPolicy, auth?: RegistryAuth): Promise<void> {
    if (policy !== 'always') {
      try {
        await this.docker.getImage(image).inspect();
        return;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        if (policy === 'never') throw new Error(`image ${image} is not on this node and the pull policy is never`);
      }
    }
    // The registry of the image: its first path part when it looks like a host (has a dot or a port, or is localhost).
    const first = image.split('/')[0]!;
    const serveraddress = image.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first : 'https://index.docker.io/v1/';
    await followProgress(this.docker, await this.docker.pull(image, auth ? { authconfig: { username: auth.username, password: auth.password, serveraddress } } : {}));
  }

  async ensureVolume(v: VolumeSpec): Promise<void> {
    try {
      await this.docker.getVolume(v.name).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!v.autoprovision) throw new Error(`shared volume ${v.name} does not exist on this node (create it, or set dockerVolumeConfiguration.autoprovision)`);
    await this.docker.createVolume({ Name: v.name, Driver: v.driver, DriverOpts: v.driverOpts, Labels: v.labels });
  }

  async removeTaskVolumes(taskId: string): Promise<void> {
    const { Volumes } = await this.docker.listVolumes({ filters: { label: [`${LABEL_TASK_ID}=${taskId}`] } });
    await Promise.all(
      (Volumes ?? []).map(async (v) => {
        try {
          await this.docker.getVolume(v.Name).remove();
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }),
    );
  }

  async ensurePauseImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const { arch } = await this.info();
    const [repo, tag = 'latest'] = image.split(/:(?=[^/:]+$)/);
    const tar = singleFileTar('pause', pauseElf(arch));
    await followProgress(this.docker, await this.docker.importImage(Readable.from([tar]) as unknown as string, { repo, tag }));
  }

  async usage(id: string): Promise<ContainerUsage | undefined> {
    try {
      // one-shot: the engine answers at once instead of waiting a second for a second sample.
      const s = (await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true } as unknown as { stream: false })) as unknown as {
        cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
        memory_stats?: { usage?: number; limit?: number; stats?: { inactive_file?: number } };
      };
      const mem = (s.memory_stats?.usage ?? 0) - (s.memory_stats?.stats?.inactive_file ?? 0);
      return {
        cpuTotalNs: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
        systemNs: s.cpu_stats?.system_cpu_usage ?? 0,
        onlineCpus: s.cpu_stats?.online_cpus ?? 1,
        memoryBytes: Math.max(0, mem),
        memoryLimitBytes: s.memory_stats?.limit ?? 0,
      };
    } catch (err) {
      if (statusOf(err) === 404 || statusOf(err) === 409) return undefined;
      throw err;
    }
  }

  async create(s: CreateSpec): Promise<string> {
    try {
      const c = await this.docker.createContainer({
        name: s.name,
        Image: s.image,
        Cmd: s.cmd,
        Entrypoint: s.entrypoint,
        Env: s.env,
        Labels: this.nodeId ? { ...s.labels, [LABEL_NODE_ID]: this.nodeId } : s.labels,
        ExposedPorts: s.exposedPorts,
        StopTimeout: s.stopTimeoutSec,
        HostConfig: s.hostConfig as Docker.HostConfig,
        WorkingDir: s.workingDir,
        User: s.user,
        Hostname: s.hostname,
        OpenStdin: s.openStdin,
        Tty: s.tty,
        NetworkDisabled: s.networkDisabled,
        Healthcheck: s.healthcheck,
      });
      return c.id;
    } catch (err) {
      // Same deterministic name: it is ours from an earlier attempt (e.g. the agent died after create).
      if (statusOf(err) !== 409) throw err;
      const existing = await this.docker.getContainer(s.name).inspect();
      return existing.Id;
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) !== 304) throw err; // already started
    }
  }

  async inspect(id: string): Promise<ContainerInspection | undefined> {
    try {
      let i = await this.docker.getContainer(id).inspect();
      // Killed (137) under a memory limit moments ago, and not (yet) marked OOMKilled: on cgroup v2
      // Docker can process the exit before the OOM notice. Give it a moment before saying why.
      for (let wait = 0; wait < OOM_NOTICE_WAITS && looksLikeUnrecordedOom(i, this.oomSeen); wait++) {
        await new Promise((r) => setTimeout(r, OOM_NOTICE_WAIT_MS));
        i = await this.docker.getContainer(id).inspect();
      }
      const ports: PortBinding[] = [];
      for (const [key, bindings] of Object.entries(i.NetworkSettings?.Ports ?? {})) {
        const [port, protocol] = key.split('/');
        for (const b of bindings ?? []) {
          // One binding per port is enough; Docker lists IPv4 and IPv6 separately.
          if (b.HostIp.includes(':') && ports.some((p) => p.containerPort === Number(port) && p.protocol === protocol)) continue;
          ports.push({ bindIp: b.HostIp, containerPort: Number(port), hostPort: Number(b.HostPort), protocol: protocol ?? 'tcp' });
        }
      }
      return {
        id: i.Id,
        state: i.State.Status,
        exitCode: i.State.Status === 'exited' || i.State.Status === 'dead' ? i.State.ExitCode : undefined,
        oomKilled: i.State.OOMKilled || this.oomSeen.has(i.Id),
        error: i.State.Error || undefined,
        ports,
        health: (i.State.Health?.Status as ContainerInspection['health']) || undefined,
        startedAt: validDate(i.State.StartedAt),
        finishedAt: validDate(i.State.FinishedAt),
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async stop(id: string, timeoutSec?: number): Promise<void> {
    try {
      // Without t, the engine waits the container's StopTimeout (create-spec sets it from the task's stopTimeout).
      await this.docker.getContainer(id).stop(timeoutSec === undefined ? {} : { t: timeoutSec });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 304 && code !== 404) throw err; // already stopped / gone
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 404 && code !== 409) throw err; // gone / removal already in progress
    }
  }

  private rememberOom(id: string | undefined): void {
    if (!id) return;
    this.oomSeen.add(id);
    if (this.oomSeen.size > 1000) this.oomSeen.delete(this.oomSeen.values().next().value!);
  }

  subscribe(onEvent: (e: ContainerEvent) => void, onError: (err: Error) => void): () => void {
    let stream: NodeJS.ReadableStream | undefined;
    let closed = false;
    this.docker
      .getEvents({ filters: { type: ['container'], label: [`${LABEL_MANAGED}=true`], event: ['die', 'start', 'oom', 'health_status'] } })
      .then((s) => {
        stream = s;
        if (closed) return (s as unknown as { destroy?: () => void }).destroy?.();
        let buf = '';
        s.on('data', (chunk: Buffer) => {
          // Newline-delimited JSON; a chunk may hold several events or half of one.
          buf += chunk.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              const e = JSON.parse(line);
              const action = e.Action ?? e.status;
              if (action === 'oom') this.rememberOom(e.id ?? e.Actor?.ID);
              onEvent({ id: e.id ?? e.Actor?.ID, action: e.Action ?? e.status, taskId: e.Actor?.Attributes?.[LABEL_TASK_ID] });
            } catch {
              // ignore a malformed line
            }
          }
        });
        s.on('error', (err: Error) => !closed && onError(err));
        s.on('end', () => !closed && onError(new Error('event stream ended')));
      })
      .catch((err: Error) => !closed && onError(err));
    return () => {
      closed = true;
      (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    };
  }
}

/** Docker says 0001-01-01T00:00:00Z for "never". */
function validDate(s: string | undefined): Date | undefined {
  if (!s || s.startsWith('0001-')) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** How long inspect waits, at most OOM_NOTICE_WAITS times, for Docker to record an OOM kill it has not yet. */
const OOM_NOTICE_WAIT_MS = 100;
const OOM_NOTICE_WAITS = 3;

/** Exited 137 within the last 2 s with a memory limit, and neither inspect nor an event says OOM yet. */
function looksLikeUnrecordedOom(i: Docker.ContainerInspectInfo, oomSeen: Set<string>): boolean {
  if (i.State.OOMKilled || oomSeen.has(i.Id) || i.State.Status !== 'exited' || i.State.ExitCode !== 137) return false;
  if (!(i.HostConfig?.Memory && i.HostConfig.Memory > 0)) return false;
  const finished = Date.parse(i.State.FinishedAt);
  return Number.isFinite(finished) && Date.now() - finished < 2_000;
}
