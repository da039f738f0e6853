import type { Heartbeat } from '@berth/proto';
import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import si from 'systeminformation';

/** Bytes of a filesystem, total and used, as statfs(2) gives them. */
export async function diskUsage(path: string): Promise<{ total: number; used: number } | undefined> {
  try {
    const s = await statfs(path);
    return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
  } catch {
    return undefined;
  }
}

/**
 * Samples node load for heartbeats: CPU and memory from the kernel's counters
 * (systeminformation reads /proc), the disk of Docker's data root with one
 * statfs call (no `df` child process per heartbeat). The first currentLoad() is
 * slow (~0.5 s): warm() it at start.
 */
export class HeartbeatSampler {
  constructor(private readonly dataRoot = '/var/lib/docker') {}

  async warm(): Promise<void> {
    await si.currentLoad().catch(() => undefined);
  }

  async sample(dockerReachable: boolean): Promise<Heartbeat> {
    const [load, mem, disk] = await Promise.all([si.currentLoad(), si.mem(), diskUsage(this.dataRoot)]);
    const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
    const mib = (b: number) => Math.round(b / 1024 / 1024);
    return {
      cpuPercent: Math.round(load.currentLoad * 10) / 10,
      memoryUsedMib: mib(mem.active),
      memoryTotalMib: mib(mem.total),
      diskUsedMib: disk ? mib(disk.used) : 0,
      diskTotalMib: disk ? mib(disk.total) : 0,
      load1: l1,
      load5: l5,
      load15: l15,
      dockerReachable,
    };
  }
}
