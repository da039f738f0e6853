import type { NodeSnapshot, ScheduleRequest } from './schedule.js';

/**
 * Test builders: a node and a request with sensible defaults, overridden per
 * test (aNode({ attributes: { zone: 'attic' } })). Exported for the control
 * plane's tests and benchmarks too.
 */
let seq = 0;

export function aNode(over: Partial<Omit<NodeSnapshot, 'attributes' | 'taskGroups' | 'usedPorts'>> & { attributes?: Record<string, string>; taskGroups?: Record<string, number>; usedPorts?: string[] } = {}): NodeSnapshot {
  seq++;
  const { attributes, taskGroups, usedPorts, ...rest } = over;
  return {
    id: `n-${String(seq).padStart(4, '0')}`,
    status: 'ACTIVE',
    connected: true,
    registeredCpu: 2048,
    registeredMemory: 4096,
    usedCpu: 0,
    usedMemory: 0,
    agentVersion: '0.1.0',
    ...rest,
    attributes: new Map(Object.entries({ 'ecs.cpu-architecture': 'x86_64', 'berth.arch': 'amd64', ...(attributes ?? {}) })),
    taskGroups: new Map(Object.entries(taskGroups ?? {})),
    usedPorts: new Set(usedPorts ?? []),
  };
}

export function aRequest(over: Partial<ScheduleRequest> & { cpu?: number; memoryMib?: number; hostPorts?: string[] } = {}): ScheduleRequest {
  const { cpu, memoryMib, hostPorts, ...rest } = over;
  return { count: 1, group: 'family:web', demand: { cpu: cpu ?? 0, memoryMib: memoryMib ?? 128, hostPorts: hostPorts ?? [] }, ...rest };
}

/** A seeded [0, 1) generator (mulberry32), so random placement is repeatable in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
