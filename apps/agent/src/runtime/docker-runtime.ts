import Docker from 'dockerode';
import type { ContainerEvent, ContainerInspection, ContainerRuntime, CreateSpec, ManagedContainer, PortBinding } from './container-runtime.js';
import { LABEL_CONTAINER_NAME, LABEL_MANAGED, LABEL_TASK_ID } from './labels.js';

/** Where the engine is: DOCKER_HOST style (unix:///path, tcp://host:port) or a socket path. */
export function dockerOptions(host: string): Docker.DockerOptions {
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }
  return { socketPath: host.replace(/^unix:\/\//, '') };
}

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** A thin layer over dockerode: no policy here, only the engine's verbs. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(readonly host: string) {
    this.docker = new Docker(dockerOptions(host));
  }

  async version(): Promise<string> {
    const v = await this.docker.version();
    return v.Version;
  }

  async list(): Promise<ManagedContainer[]> {
    const all = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
    return all
      .filter((c) => c.Labels[LABEL_TASK_ID])
      .map((c) => ({ id: c.Id, taskId: c.Labels[LABEL_TASK_ID]!, containerName: c.Labels[LABEL_CONTAINER_NAME] ?? '', state: c.State }));
  }

  async ensureImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const failed = err ?? (out.find((o) => o.error) ? new Error(out.find((o) => o.error)!.error) : null);
        if (failed) reject(failed);
        else resolve();
      }),
    );
  }

  async create(s: CreateSpec): Promise<string> {
    try {
      const c = await this.docker.createContainer({
        name: s.name,
        Image: s.image,
        Cmd: s.cmd,
        Entrypoint: s.entrypoint,
        Env: s.env,
        Labels: s.labels,
        ExposedPorts: s.exposedPorts,
        StopTimeout: s.stopTimeoutSec,
        HostConfig: s.hostConfig,
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
      const i = await this.docker.getContainer(id).inspect();
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
        oomKilled: i.State.OOMKilled,
        error: i.State.Error || undefined,
        ports,
      };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: timeoutSec });
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

  subscribe(onEvent: (e: ContainerEvent) => void, onError: (err: Error) => void): () => void {
    let stream: NodeJS.ReadableStream | undefined;
    let closed = false;
    this.docker
      .getEvents({ filters: { type: ['container'], label: [`${LABEL_MANAGED}=true`], event: ['die', 'start', 'oom'] } })
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
