/**
 * Minimal placement for the foundation: the first node (in a stable order)
 * with enough free CPU, memory and the static host ports. The scheduler issue
 * replaces this with feasibility stages, rankers and placement strategies;
 * the shapes (snapshot in, plan out, reasons when nothing fits) stay.
 */
export interface NodeView {
  id: string;
  /** Only ACTIVE, connected nodes take new tasks. */
  placeable: boolean;
  registeredCpu: number;
  registeredMemory: number;
  usedCpu: number;
  usedMemory: number;
  /** Host ports in use, as "port/protocol". */
  usedPorts: ReadonlySet<string>;
}

export interface TaskDemand {
  cpu: number;
  memoryMib: number;
  /** Static host ports, as "port/protocol". Dynamic ports never conflict. */
  hostPorts: readonly string[];
}

export interface PlacementRequest {
  count: number;
  demand: TaskDemand;
}

export interface Placement {
  nodeId: string;
}

/** ECS failure reasons: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, AGENT (no connected node). */
export interface PlacementFailure {
  reason: string;
  detail: string;
}

export interface Plan {
  placements: Placement[];
  failures: PlacementFailure[];
}

type Lack = 'RESOURCE:CPU' | 'RESOURCE:MEMORY' | 'RESOURCE:PORTS';

function lackOn(n: NodeView, cpu: number, mem: number, ports: Set<string>, d: TaskDemand): { reason: Lack; detail: string } | undefined {
  const freeMem = n.registeredMemory - mem;
  if (freeMem < d.memoryMib) return { reason: 'RESOURCE:MEMORY', detail: `node ${n.id} lacks ${d.memoryMib - freeMem} MiB memory` };
  const freeCpu = n.registeredCpu - cpu;
  if (freeCpu < d.cpu) return { reason: 'RESOURCE:CPU', detail: `node ${n.id} lacks ${d.cpu - freeCpu} CPU units` };
  const taken = d.hostPorts.find((p) => ports.has(p));
  if (taken) return { reason: 'RESOURCE:PORTS', detail: `node ${n.id} is already using port ${taken}` };
  return undefined;
}

/** Places `count` tasks of one demand, accounting for each placement before the next. Pure. */
export function firstFit(nodes: readonly NodeView[], req: PlacementRequest): Plan {
  const state = nodes
    .filter((n) => n.placeable)
    .map((n) => ({ node: n, cpu: n.usedCpu, mem: n.usedMemory, ports: new Set(n.usedPorts) }));
  const plan: Plan = { placements: [], failures: [] };
  for (let i = 0; i < req.count; i++) {
    if (state.length === 0) {
      plan.failures.push({ reason: 'AGENT', detail: 'no ACTIVE node with a connected agent in the cluster' });
      continue;
    }
    const fit = state.find((s) => !lackOn(s.node, s.cpu, s.mem, s.ports, req.demand));
    if (!fit) {
      const first = lackOn(state[0]!.node, state[0]!.cpu, state[0]!.mem, state[0]!.ports, req.demand)!;
      plan.failures.push({ reason: first.reason, detail: `no node met all requirements; the first, ${first.detail}` });
      continue;
    }
    fit.cpu += req.demand.cpu;
    fit.mem += req.demand.memoryMib;
    for (const p of req.demand.hostPorts) fit.ports.add(p);
    plan.placements.push({ nodeId: fit.node.id });
  }
  return plan;
}
