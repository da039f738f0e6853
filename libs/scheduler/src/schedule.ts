import { evaluateClusterQuery, parseClusterQuery, QueryParseError, type QueryExpr } from './cluster-query.js';
import { MinHeap } from './min-heap.js';

/**
 * schedule(snapshot, request) -> plan, in stages as Nomad's scheduler: per node
 * the static checks once (status, memberOf without task:group), then for each
 * task the dynamic ones (resources, ports, distinctInstance, memberOf on
 * task:group), cheap first; the feasible nodes are ranked by the strategy list
 * (each strategy a tie-breaker for the ones before it; node order last) and the
 * best one is taken, accounted for, and the next task placed. Pure: randomness
 * is passed in.
 */

/** What one task needs of a node. */
export interface TaskDemand {
  cpu: number;
  memoryMib: number;
  /** Static host ports, as "port/protocol". Dynamic ports never conflict. */
  hostPorts: readonly string[];
}

/** ECS failure reasons: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, ATTRIBUTE, AGENT; and a detail a user can act on. */
export interface PlacementFailure {
  reason: string;
  detail: string;
}

/** One node as the scheduler sees it: read-only. */
export interface NodeSnapshot {
  id: string;
  /** ACTIVE nodes take tasks; DRAINING and INACTIVE do not. */
  status: string;
  connected: boolean;
  /** ECS's (ecs.cpu-architecture, ...), Berth's (berth.arch, ...), labels and operator attributes. */
  attributes: ReadonlyMap<string, string>;
  registeredCpu: number;
  registeredMemory: number;
  usedCpu: number;
  usedMemory: number;
  /** Host ports in use, as "port/protocol". */
  usedPorts: ReadonlySet<string>;
  /** Tasks not STOPPED on the node, by group (family:web, service:api, ...). */
  taskGroups: ReadonlyMap<string, number>;
  agentVersion: string;
}

export interface PlacementConstraint {
  type: 'distinctInstance' | 'memberOf';
  expression?: string;
}

export interface PlacementStrategy {
  type: 'binpack' | 'spread' | 'random';
  /** binpack: cpu or memory; spread: instanceId or attribute:NAME (ECS's host is instanceId). */
  field?: string;
}

export interface ScheduleRequest {
  count: number;
  demand: TaskDemand;
  /** The tasks' group: spread and distinctInstance count the group's tasks. */
  group: string;
  constraints?: readonly PlacementConstraint[];
  strategy?: readonly PlacementStrategy[];
}

export interface SchedulePlan {
  placements: { nodeId: string }[];
  failures: PlacementFailure[];
}

/** A request that cannot be scheduled as written: the field and why. */
export class PlacementInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

type Compiled = {
  memberOf: { expr: QueryExpr; text: string; usesGroup: boolean }[];
  distinct: boolean;
  strategy: ({ type: 'binpack'; field: 'cpu' | 'memory' } | { type: 'spread'; field: string } | { type: 'random' })[];
};

const MAX_CONSTRAINTS = 10;
const MAX_STRATEGIES = 5;

function usesTaskGroup(e: QueryExpr): boolean {
  switch (e.kind) {
    case 'and':
    case 'or':
      return usesTaskGroup(e.left) || usesTaskGroup(e.right);
    case 'not':
      return usesTaskGroup(e.expr);
    default:
      return e.subject.kind === 'taskGroup';
  }
}

/** Validates and compiles constraints and strategies, with ECS's limits; throws PlacementInputError. */
export function compilePlacement(constraints: readonly PlacementConstraint[] = [], strategy: readonly PlacementStrategy[] = []): Compiled {
  if (constraints.length > MAX_CONSTRAINTS) throw new PlacementInputError('placementConstraints', `at most ${MAX_CONSTRAINTS}`);
  if (strategy.length > MAX_STRATEGIES) throw new PlacementInputError('placementStrategy', `at most ${MAX_STRATEGIES}`);
  const out: Compiled = { memberOf: [], distinct: false, strategy: [] };
  constraints.forEach((c, i) => {
    const at = `placementConstraints[${i}]`;
    if (c.type === 'distinctInstance') {
      if (c.expression) throw new PlacementInputError(`${at}.expression`, 'distinctInstance takes no expression');
      out.distinct = true;
    } else if (c.type === 'memberOf') {
      if (!c.expression) throw new PlacementInputError(`${at}.expression`, 'memberOf needs an expression in the cluster query language');
      try {
        const expr = parseClusterQuery(c.expression);
        out.memberOf.push({ expr, text: c.expression.trim(), usesGroup: usesTaskGroup(expr) });
      } catch (err) {
        if (err instanceof QueryParseError) throw new PlacementInputError(`${at}.expression`, `${err.reason} at character ${err.position + 1} (${JSON.stringify(c.expression)})`);
        throw err;
      }
    } else {
      throw new PlacementInputError(`${at}.type`, `must be distinctInstance or memberOf, got ${JSON.stringify(c.type)}`);
    }
  });
  strategy.forEach((s, i) => {
    const at = `placementStrategy[${i}]`;
    if (s.type === 'binpack') {
      const f = (s.field ?? '').toLowerCase();
      if (f !== 'cpu' && f !== 'memory') throw new PlacementInputError(`${at}.field`, `binpack takes cpu or memory, got ${JSON.stringify(s.field ?? '')}`);
      out.strategy.push({ type: 'binpack', field: f });
    } else if (s.type === 'spread') {
      const f = s.field ?? '';
      if (f !== 'instanceId' && f !== 'host' && !/^attribute:[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/.test(f)) {
        throw new PlacementInputError(`${at}.field`, `spread takes instanceId or attribute:NAME, got ${JSON.stringify(f)}`);
      }
      out.strategy.push({ type: 'spread', field: f === 'host' ? 'instanceId' : f });
    } else if (s.type === 'random') {
      if (s.field) throw new PlacementInputError(`${at}.field`, 'random takes no field');
      out.strategy.push({ type: 'random' });
    } else {
      throw new PlacementInputError(`${at}.type`, `must be binpack, spread or random, got ${JSON.stringify(s.type)}`);
    }
  });
  return out;
}

/** Why a node cannot take the next task, most fundamental first. */
type Misfit =
  | { kind: 'status'; detail: string }
  | { kind: 'attribute'; detail: string }
  | { kind: 'distinct'; detail: string }
  | { kind: 'ports'; detail: string }
  | { kind: 'memory'; lack: number; detail: string }
  | { kind: 'cpu'; lack: number; detail: string };

interface Live {
  node: NodeSnapshot;
  index: number;
  cpu: number;
  mem: number;
  ports: Set<string>;
  groupCount: number;
  /** Groups on the node, with this plan's placements (for task:group). */
  groups: Set<string>;
  staticMisfit?: Misfit;
  /** Bumped when a task is placed on it (invalidates its heap entries). */
  version: number;
}

/** A node's working state for one request. */
function liveOf(node: NodeSnapshot, index: number, group: string): Live {
  return {
    node,
    index,
    cpu: node.usedCpu,
    mem: node.usedMemory,
    ports: new Set(node.usedPorts),
    groupCount: node.taskGroups.get(group) ?? 0,
    groups: new Set(node.taskGroups.keys()),
    version: 0,
  };
}

function queryContext(l: Live) {
  return {
    instanceId: l.node.id,
    attributes: l.node.attributes,
    taskGroups: l.groups,
    agentConnected: l.node.connected,
    agentVersion: l.node.agentVersion,
    runningTasksCount: [...l.node.taskGroups.values()].reduce((a, b) => a + b, 0),
  };
}

function staticMisfit(l: Live, c: Compiled): Misfit | undefined {
  if (l.node.status !== 'ACTIVE') return { kind: 'status', detail: `node ${l.node.id} is ${l.node.status}` };
  if (!l.node.connected) return { kind: 'status', detail: `node ${l.node.id} has no connected agent` };
  for (const m of c.memberOf) {
    if (!m.usesGroup && !evaluateClusterQuery(m.expr, queryContext(l))) return { kind: 'attribute', detail: `node ${l.node.id} does not match ${m.text}` };
  }
  return undefined;
}

function dynamicMisfit(l: Live, c: Compiled, d: TaskDemand, group: string): Misfit | undefined {
  if (c.distinct && l.groupCount > 0) return { kind: 'distinct', detail: `node ${l.node.id} already runs a task of ${group} (distinctInstance)` };
  for (const m of c.memberOf) {
    if (m.usesGroup && !evaluateClusterQuery(m.expr, queryContext(l))) return { kind: 'attribute', detail: `node ${l.node.id} does not match ${m.text}` };
  }
  const taken = d.hostPorts.find((p) => l.ports.has(p));
  if (taken) return { kind: 'ports', detail: `node ${l.node.id} is already using port ${taken}` };
  const freeMem = l.node.registeredMemory - l.mem;
  if (freeMem < d.memoryMib) return { kind: 'memory', lack: d.memoryMib - freeMem, detail: `node ${l.node.id} lacks ${d.memoryMib - freeMem} MiB memory` };
  const freeCpu = l.node.registeredCpu - l.cpu;
  if (freeCpu < d.cpu) return { kind: 'cpu', lack: d.cpu - freeCpu, detail: `node ${l.node.id} lacks ${d.cpu - freeCpu} CPU units` };
  return undefined;
}

const REASON: Record<Misfit['kind'], string> = {
  status: 'AGENT',
  attribute: 'ATTRIBUTE',
  distinct: 'ATTRIBUTE',
  ports: 'RESOURCE:PORTS',
  memory: 'RESOURCE:MEMORY',
  cpu: 'RESOURCE:CPU',
};
const WORDS: Record<Misfit['kind'], string> = {
  status: 'not ACTIVE or not connected',
  attribute: 'not matching the constraints',
  distinct: 'already running one of the group',
  ports: 'using a needed port',
  memory: 'short of memory',
  cpu: 'short of CPU',
};
/** How close a misfit is to fitting: resources are the closest, then ports, distinctInstance, attributes, status. */
const CLOSENESS: Record<Misfit['kind'], number> = { memory: 0, cpu: 0, ports: 1, distinct: 2, attribute: 3, status: 4 };

/** The reason a user can act on, with counts per reason (ECS's wording where ECS has one). */
export function explain(misfits: Misfit[]): PlacementFailure {
  if (misfits.length === 0) return { reason: 'AGENT', detail: 'no node in the cluster' };
  const counts = new Map<Misfit['kind'], number>();
  for (const m of misfits) counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
  const closest = [...misfits].sort((a, b) => CLOSENESS[a.kind] - CLOSENESS[b.kind] || ('lack' in a && 'lack' in b ? a.lack - b.lack : 0))[0]!;
  const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${WORDS[k]}`).join(', ');
  return { reason: REASON[closest.kind], detail: `no node met all requirements (${summary}); the closest, ${closest.detail}` };
}

/** Places `count` tasks, each accounted for before the next. `random` returns [0, 1). Pure. */
export function schedule(nodes: readonly NodeSnapshot[], req: ScheduleRequest, random: () => number = Math.random, options: { scan?: boolean } = {}): SchedulePlan {
  return new Scheduler(nodes, req, random, options).place(req.count);
}

/** What a Scheduler places: a request without its count. */
export type RequestShape = Omit<ScheduleRequest, 'count'>;

/**
 * schedule() that can be asked again: `place(n)` places n more tasks of the
 * same shape, continuing from what it placed before (nodes fill up, spread
 * counts grow). A caller that keeps one per snapshot and request shape pays the
 * per-node set-up once instead of per call; its view only ever fills up, so it
 * never places on room that is gone, and room that appears is seen by a new
 * one (on a new snapshot).
 */
export class Scheduler {
  private readonly c: Compiled;
  private readonly live: Live[];
  private readonly spreadCounts: (Map<string, number> | undefined)[];
  private readonly picker: Picker;
  private failure: PlacementFailure | undefined;

  constructor(
    nodes: readonly NodeSnapshot[],
    private readonly req: RequestShape,
    random: () => number = Math.random,
    options: { scan?: boolean } = {},
  ) {
    const c = (this.c = compilePlacement(req.constraints, req.strategy));
    this.live = nodes.map((node, index) => liveOf(node, index, req.group));
    for (const l of this.live) l.staticMisfit = staticMisfit(l, c);
    const eligible = this.live.filter((l) => !l.staticMisfit);
    // Spread counts: the group's tasks per value of each spread field, over every node (ECS counts where tasks are).
    this.spreadCounts = c.strategy.map((s) => {
      if (s.type !== 'spread') return undefined;
      const m = new Map<string, number>();
      for (const l of this.live) {
        const v = spreadValue(l, s.field);
        m.set(v, (m.get(v) ?? 0) + l.groupCount);
      }
      return m;
    });
    const env: PickEnv = { c, req: { ...req, count: 0 }, random, spreadCounts: this.spreadCounts };
    // options.scan: every node every time (the reference the fast path is tested and measured against).
    this.picker = indexable(c) && !options.scan ? new IndexedPicker(eligible, env) : new ScanPicker(eligible, env);
  }

  place(count: number): SchedulePlan {
    const { c, req } = this;
    const plan: SchedulePlan = { placements: [], failures: [] };
    for (let i = 0; i < count; i++) {
      // Nodes only fill up: once nothing fits, nothing will.
      const chosen = this.failure ? undefined : this.picker.pick();
      if (!chosen) {
        this.failure ??= explain(this.live.map((l) => l.staticMisfit ?? dynamicMisfit(l, c, req.demand, req.group)!).filter(Boolean));
        plan.failures.push(this.failure);
        continue;
      }
      chosen.cpu += req.demand.cpu;
      chosen.mem += req.demand.memoryMib;
      for (const p of req.demand.hostPorts) chosen.ports.add(p);
      chosen.groupCount++;
      chosen.groups.add(req.group);
      c.strategy.forEach((s, j) => {
        if (s.type === 'spread') {
          const v = spreadValue(chosen, s.field);
          this.spreadCounts[j]!.set(v, (this.spreadCounts[j]!.get(v) ?? 0) + 1);
        }
      });
      this.picker.placed(chosen);
      plan.placements.push({ nodeId: chosen.node.id });
    }
    return plan;
  }
}

/**
 * DAEMON placement: exactly one task of the group on every node that satisfies
 * the constraints (status, memberOf). Nodes that already run one are left
 * alone; a matching node without the room gets a failure naming it. Strategies
 * do not apply (every matching node gets one). `count` is ignored. Pure.
 */
export function scheduleDaemon(nodes: readonly NodeSnapshot[], req: Omit<ScheduleRequest, 'count' | 'strategy'>): SchedulePlan {
  const c = compilePlacement(req.constraints, []);
  const plan: SchedulePlan = { placements: [], failures: [] };
  nodes.forEach((node, index) => {
    const l = liveOf(node, index, req.group);
    if (l.groupCount > 0 || staticMisfit(l, c)) return;
    const misfit = dynamicMisfit(l, c, req.demand, req.group);
    if (misfit) plan.failures.push({ reason: REASON[misfit.kind], detail: misfit.detail });
    else plan.placements.push({ nodeId: node.id });
  });
  return plan;
}

/**
 * DAEMON eligibility: the nodes a daemon task belongs on, ACTIVE and matching
 * the constraints that do not look at task:group. A node whose agent is away
 * stays eligible (its task is left alone; placing a new one waits for it).
 */
export function daemonEligibleNodes(nodes: readonly NodeSnapshot[], constraints: readonly PlacementConstraint[] = []): string[] {
  const c = compilePlacement(constraints, []);
  return nodes.filter((node, index) => !staticMisfit({ ...liveOf(node, index, ''), node: { ...node, connected: true } }, c)).map((n) => n.id);
}

/**
 * The plan applier's check: placements made on an older snapshot, verified in
 * order against fresh state of their nodes (status, constraints, resources,
 * ports, distinctInstance), each accepted one accounted for before the next.
 * Returns, per placement, whether it still holds. Pure.
 */
export function verifyPlacements(fresh: readonly NodeSnapshot[], req: ScheduleRequest, placements: readonly { nodeId: string }[]): boolean[] {
  const c = compilePlacement(req.constraints, []);
  const byId = new Map<string, Live>();
  fresh.forEach((node, index) => byId.set(node.id, liveOf(node, index, req.group)));
  return placements.map((p) => {
    const l = byId.get(p.nodeId);
    if (!l || staticMisfit(l, c) || dynamicMisfit(l, c, req.demand, req.group)) return false;
    l.cpu += req.demand.cpu;
    l.mem += req.demand.memoryMib;
    for (const port of req.demand.hostPorts) l.ports.add(port);
    l.groupCount++;
    l.groups.add(req.group);
    return true;
  });
}

interface PickEnv {
  c: Compiled;
  req: ScheduleRequest;
  random: () => number;
  spreadCounts: (Map<string, number> | undefined)[];
}

interface Picker {
  /** The best node that can take the next task, or none. */
  pick(): Live | undefined;
  /** A task was placed on this node (its state is already updated). */
  placed(l: Live): void;
}

/** The strategy keys of a node for the next task, lexicographic, smaller is better. */
function strategyKey(l: Live, s: Compiled['strategy'][number], j: number, env: PickEnv): number {
  const d = env.req.demand;
  if (s.type === 'binpack') return s.field === 'memory' ? l.node.registeredMemory - l.mem - d.memoryMib : l.node.registeredCpu - l.cpu - d.cpu;
  if (s.type === 'spread') return s.field === 'instanceId' ? l.groupCount : (env.spreadCounts[j]!.get(spreadValue(l, s.field)) ?? 0);
  return env.random();
}

/** Every feasible node, every task: O(nodes) per placement. Any strategy list. */
class ScanPicker implements Picker {
  private readonly keys: Float64Array;
  private readonly best: Float64Array;

  constructor(
    private readonly eligible: Live[],
    private readonly env: PickEnv,
  ) {
    this.keys = new Float64Array(env.c.strategy.length);
    this.best = new Float64Array(env.c.strategy.length);
  }

  pick(): Live | undefined {
    const { c, req } = this.env;
    let chosen: Live | undefined;
    for (const l of this.eligible) {
      if (dynamicMisfit(l, c, req.demand, req.group)) continue;
      c.strategy.forEach((s, j) => (this.keys[j] = strategyKey(l, s, j, this.env)));
      if (!chosen || lexLess(this.keys, this.best)) {
        chosen = l;
        this.best.set(this.keys);
      }
    }
    return chosen;
  }

  placed(): void {}
}

/**
 * The fast path: at most one spread on an attribute, and only first. Nodes are
 * grouped by that attribute's value (few values); inside a group a heap orders
 * them by the other strategies, whose keys change only for the node a task
 * went to. A pick looks at the groups with the fewest tasks of the request's
 * group, takes each one's best feasible node (dropping stale entries, and nodes
 * that no longer fit: within a request they never fit again) and compares those.
 */
function indexable(c: Compiled): boolean {
  return c.strategy.every((s, i) => s.type !== 'spread' || s.field === 'instanceId' || i === 0);
}

interface Entry {
  l: Live;
  version: number;
  keys: number[];
}

class IndexedPicker implements Picker {
  private readonly groups = new Map<string, MinHeap<Entry>>();
  private readonly outer: boolean;
  private readonly inner: { s: Compiled['strategy'][number]; j: number }[];

  constructor(
    eligible: Live[],
    private readonly env: PickEnv,
  ) {
    const first = env.c.strategy[0];
    this.outer = first?.type === 'spread' && first.field !== 'instanceId';
    this.inner = env.c.strategy.map((s, j) => ({ s, j })).slice(this.outer ? 1 : 0);
    for (const l of eligible) this.push(l);
  }

  private heapOf(l: Live): MinHeap<Entry> {
    const key = this.outer ? spreadValue(l, (this.env.c.strategy[0] as { field: string }).field) : '';
    let h = this.groups.get(key);
    if (!h) {
      h = new MinHeap<Entry>((a, b) => entryLess(a, b));
      this.groups.set(key, h);
    }
    return h;
  }

  private push(l: Live): void {
    const keys = this.inner.map(({ s, j }) => strategyKey(l, s, j, this.env));
    keys.push(l.index);
    this.heapOf(l).push({ l, version: l.version, keys });
  }

  /** The group's best node that can take the next task, dropping what cannot. */
  private top(h: MinHeap<Entry>): Entry | undefined {
    const { c, req } = this.env;
    for (let e = h.peek(); e; e = h.peek()) {
      if (e.version !== e.l.version || dynamicMisfit(e.l, c, req.demand, req.group)) {
        h.pop();
        continue;
      }
      return e;
    }
    return undefined;
  }

  pick(): Live | undefined {
    const counts = this.outer ? this.env.spreadCounts[0]! : undefined;
    const order = [...this.groups.entries()].map(([value, h]) => ({ count: counts?.get(value) ?? 0, h })).sort((a, b) => a.count - b.count);
    for (let i = 0; i < order.length; ) {
      let best: Entry | undefined;
      let k = i;
      for (; k < order.length && order[k]!.count === order[i]!.count; k++) {
        const e = this.top(order[k]!.h);
        if (e && (!best || entryLess(e, best))) best = e;
      }
      if (best) return best.l;
      i = k;
    }
    return undefined;
  }

  placed(l: Live): void {
    l.version++;
    this.push(l);
  }
}

function entryLess(a: Entry, b: Entry): boolean {
  for (let i = 0; i < a.keys.length; i++) {
    if (a.keys[i]! < b.keys[i]!) return true;
    if (a.keys[i]! > b.keys[i]!) return false;
  }
  return false;
}

function spreadValue(l: Live, field: string): string {
  if (field === 'instanceId') return l.node.id;
  return l.node.attributes.get(field.slice('attribute:'.length)) ?? '';
}

function lexLess(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return true;
    if (a[i]! > b[i]!) return false;
  }
  return false;
}

