import type { Heartbeat } from '@berth/proto';
import { loadavg } from 'node:os';
import si from 'systeminformation';
import { bestMount } from './node-facts.js';

/** Samples node load for heartbeats. The first currentLoad() is slow (~0.5 s): warm() it at start. */
export class HeartbeatSampler {
  constructor(private readonly dataRoot = '/var/lib/docker') {}

  async warm(): Promise<void> {
    await si.currentLoad().catch(() => undefined);
  }

  async sample(dockerReachable: boolean): Promise<Heartbeat> {
    const [load, mem, disks] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize().catch(() => [])]);
    const disk = bestMount(disks, this.dataRoot);
    const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
    const mib = (b: number) => Math.round(b / 1024 / 1024);
    return {
      cpuPercent: Math.round(load.currentLoad * 10) / 10,
      memoryUsedMib: mib(mem.active),
      memoryTotalMib: mib(mem.total),
      diskUsedMib: disk ? mib(disk.used) : 0,
      diskTotalMib: disk ? mib(disk.size) : 0,
      load1: l1,
      load5: l5,
      load15: l15,
      dockerReachable,
    };
  }
}
