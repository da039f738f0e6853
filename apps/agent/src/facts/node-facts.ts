import type { NodeFacts } from '@berth/proto';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import si from 'systeminformation';
import { diskUsage } from './heartbeat-sampler.js';

/** How users write architectures (and Docker reports them). */
export function normalizeArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', x86_64: 'amd64', amd64: 'amd64', arm64: 'arm64', aarch64: 'arm64', arm: 'arm', armv7l: 'arm', armhf: 'arm' };
  return map[nodeArch] ?? nodeArch;
}

/** The facts read once at start; Docker's version and the capacity are added per hello. */
export type StaticFacts = Omit<NodeFacts, 'dockerVersion' | 'registeredCpu' | 'registeredMemoryMib'>;

export interface Reservation {
  /** CPU units kept for the OS. */
  cpu: number;
  /** MiB kept for the OS. */
  memoryMib: number;
}

/** Read once at start (osInfo and cpu are slow); disk of the Docker data root when it exists. */
export async function readStaticFacts(dataRoot = '/var/lib/docker'): Promise<StaticFacts> {
  const [os, cpu, mem, disk] = await Promise.all([si.osInfo(), si.cpu(), si.mem(), diskUsage(dataRoot)]);
  return {
    hostname: os.hostname || osHostname(),
    os: os.platform || 'linux',
    osVersion: [os.distro, os.release].filter(Boolean).join(' '),
    kernel: os.kernel,
    arch: normalizeArch(process.arch),
    cpuCores: cpu.cores || 1,
    cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' '),
    memoryMib: Math.floor(mem.total / 1024 / 1024),
    diskTotalMib: disk ? Math.floor(disk.total / 1024 / 1024) : 0,
    deviceModel: readDeviceModel(),
  };
}

/** Where boards name themselves (Raspberry Pis and other device-tree machines). */
const MODEL_FILES = ['/proc/device-tree/model', '/sys/firmware/devicetree/base/model'];

/** "Raspberry Pi 4 Model B Rev 1.4" on a Pi; empty where the machine does not say. */
export function readDeviceModel(files = MODEL_FILES, read: (p: string) => string = (p) => readFileSync(p, 'latin1')): string {
  for (const f of files) {
    try {
      const model = cleanModel(read(f));
      if (model) return model;
    } catch {
      // not a device-tree machine
    }
  }
  return '';
}

/** The file ends in a NUL; keep printable text only. */
export function cleanModel(raw: string): string {
  return raw.replace(/\0/g, '').replace(/[^\x20-\x7e]/g, '').trim().slice(0, 128);
}

/** Capacity offered to tasks in ECS units, after the OS reservation. */
export function registeredCapacity(f: StaticFacts, r: Reservation): { cpu: number; memoryMib: number } {
  return { cpu: Math.max(0, f.cpuCores * 1024 - r.cpu), memoryMib: Math.max(0, f.memoryMib - r.memoryMib) };
}
