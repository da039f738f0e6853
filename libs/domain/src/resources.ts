import type { ContainerDefinition, TaskDefinitionSpec } from './task-definition.js';

/** CPU units per core, as in ECS. */
export const CPU_UNITS_PER_CORE = 1024;

/**
 * Task-level CPU as ECS writes it: 1024, "1024", "1 vCPU", "0.5 vcpu".
 * Returns units, or the rule that was broken.
 */
export function parseCpuUnits(v: unknown): number | string {
  const rule = 'must be CPU units (e.g. 512 or "512") or vCPUs (e.g. "0.5 vCPU")';
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : rule;
  if (typeof v !== 'string') return rule;
  const s = v.trim();
  if (/^[0-9]+$/.test(s)) return Number(s) > 0 ? Number(s) : rule;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*vcpus?$/i.exec(s);
  if (m) {
    const units = Math.round(Number(m[1]) * CPU_UNITS_PER_CORE);
    return units > 0 ? units : rule;
  }
  return rule;
}

/**
 * Task-level memory as ECS writes it: 512, "512", "1 GB", "1GB", "0.5 GiB", "512 MiB".
 * Returns MiB, or the rule that was broken.
 */
export function parseMemoryMib(v: unknown): number | string {
  const rule = 'must be MiB (e.g. 512 or "512") or a size like "1 GB"';
  if (typeof v === 'number') return Number.isInteger(v) && v >= 6 ? v : rule;
  if (typeof v !== 'string') return rule;
  const s = v.trim();
  if (/^[0-9]+$/.test(s)) return Number(s) >= 6 ? Number(s) : rule;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(gb|gib|mb|mib)$/i.exec(s);
  if (!m) return rule;
  const n = Number(m[1]);
  const mib = Math.round(m[2]!.toLowerCase().startsWith('g') ? n * 1024 : n);
  return mib >= 6 ? mib : rule;
}

/** What a container reserves on its node: memory hard limit, else the soft reservation. */
export function containerMemoryMib(c: ContainerDefinition): number {
  return c.memory ?? c.memoryReservation ?? 0;
}

export interface TaskResources {
  cpu: number;
  memoryMib: number;
}

/** What a task reserves on its node: the task-level values, else the sum over its containers (ECS on EC2). */
export function taskResources(spec: TaskDefinitionSpec): TaskResources {
  const cpu = spec.cpu !== undefined ? Number(spec.cpu) : spec.containerDefinitions.reduce((a, c) => a + (c.cpu ?? 0), 0);
  const memoryMib =
    spec.memory !== undefined ? Number(spec.memory) : spec.containerDefinitions.reduce((a, c) => a + containerMemoryMib(c), 0);
  return { cpu, memoryMib };
}
