import type { ContainerStats, ContainerStatsBatch } from '@berth/proto';
import type { Logger } from 'pino';
import type { ContainerRuntime, ContainerUsage, ManagedContainer } from '../runtime/container-runtime.js';

/** How many usage reads run at once (each is one engine request). */
export const STATS_CONCURRENCY = 4;

/** CPU % of one container between two samples, as `docker stats` computes it (100 = one core). */
export function cpuPercent(prev: ContainerUsage | undefined, cur: ContainerUsage): number {
  if (!prev) return 0;
  const cpu = cur.cpuTotalNs - prev.cpuTotalNs;
  const system = cur.systemNs - prev.systemNs;
  if (cpu <= 0 || system <= 0) return 0;
  return Math.round((cpu / system) * cur.onlineCpus * 1000) / 10;
}

/**
 * Per-container CPU and memory, sampled on its own timer (never on the
 * heartbeat path), several containers at once, one-shot reads (the engine's
 * streaming stats take about a second each). CPU % comes from this sampler's
 * own previous reading. Sent as one compact batch per round.
 */
export class ContainerStatsSampler {
  private readonly prev = new Map<string, ContainerUsage>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly containers: () => ManagedContainer[],
    private readonly send: (batch: ContainerStatsBatch) => boolean,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.sampleOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sampleOnce(): Promise<ContainerStatsBatch | undefined> {
    if (this.sampling) return undefined;
    this.sampling = true;
    try {
      const running = this.containers().filter((c) => c.state === 'running' && !c.role);
      const out: ContainerStats[] = [];
      let next = 0;
      const worker = async () => {
        while (next < running.length) {
          const c = running[next++]!;
          try {
            const u = await this.runtime.usage(c.id);
            if (!u) continue;
            out.push({ taskId: c.taskId, containerName: c.containerName, cpuPercent: cpuPercent(this.prev.get(c.id), u), memoryBytes: u.memoryBytes, memoryLimitBytes: u.memoryLimitBytes });
            this.prev.set(c.id, u);
          } catch (err) {
            this.log.debug({ container: c.id, err: (err as Error).message }, 'usage sample failed');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(STATS_CONCURRENCY, running.length) }, worker));
      const live = new Set(running.map((c) => c.id));
      for (const id of [...this.prev.keys()]) if (!live.has(id)) this.prev.delete(id);
      if (out.length === 0) return undefined;
      const batch: ContainerStatsBatch = { at: new Date(), containers: out };
      this.send(batch);
      return batch;
    } finally {
      this.sampling = false;
    }
  }
}
