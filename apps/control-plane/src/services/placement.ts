import { invalid } from '@berth/domain';
import { compilePlacement, PlacementInputError, scheduleDaemon, Scheduler, verifyPlacements, type NodeSnapshot, type PlacementConstraint, type PlacementStrategy, type ScheduleRequest } from '@berth/scheduler';
import { clusterNodes, lockNodes, nodeAllocations, nodeTaskGroups, type NodeRecord, type Queryable, type TaskPlacement } from '@berth/store';
import type { AppContext } from './context.js';
import { nodeAttributes } from './nodes.js';

/**
 * Placement as Nomad does it: schedule on a snapshot read without locks, then
 * apply the plan in the caller's transaction after re-checking each node it
 * uses against fresh state (the node rows locked, in id order). A placement
 * that no longer holds (another scheduler took the room) is rejected, and the
 * rejected tasks are scheduled again on a fresh snapshot; so concurrent
 * schedulers never overcommit a node, and never wait on each other to decide.
 */

/** Rounds of schedule -> verify before the rest is left unplaced. */
export const PLACEMENT_ROUNDS = 3;

/** A request's constraints and strategy, checked with the field that is wrong (400, never half-written). */
export function checkPlacement(p: TaskPlacement): { constraints: PlacementConstraint[]; strategy: PlacementStrategy[] } {
  const constraints = (p.constraints ?? []) as PlacementConstraint[];
  const strategy = (p.strategy ?? []) as PlacementStrategy[];
  try {
    compilePlacement(constraints, strategy);
  } catch (err) {
    if (err instanceof PlacementInputError) throw invalid(err.message);
    throw err;
  }
  return { constraints, strategy };
}

/** One node as the scheduler sees it. */
export function nodeSnapshot(n: NodeRecord, alloc: { cpu: number; memory: number; ports: string[] } | undefined, groups: Map<string, number> | undefined): NodeSnapshot {
  return {
    id: n.id,
    status: n.status,
    connected: n.agentConnected,
    attributes: new Map(nodeAttributes(n).map((a) => [a.name, a.value])),
    registeredCpu: n.registeredCpu,
    registeredMemory: n.registeredMemory,
    usedCpu: alloc?.cpu ?? 0,
    usedMemory: alloc?.memory ?? 0,
    usedPorts: new Set(alloc?.ports ?? []),
    taskGroups: groups ?? new Map(),
    agentVersion: n.agentVersion,
  };
}

/** The whole cluster, read without locks. */
export async function readClusterSnapshot(q: Queryable, cluster: string): Promise<NodeSnapshot[]> {
  const nodes = await clusterNodes(q, cluster);
  const [alloc, groups] = await Promise.all([nodeAllocations(q, nodes.map((n) => n.id)), nodeTaskGroups(q, cluster)]);
  return nodes.map((n) => nodeSnapshot(n, alloc.get(n.id), groups.get(n.id)));
}

/** How old a cached snapshot may be before the next placement reads the cluster again. */
export const SNAPSHOT_MAX_AGE_MS = 1_000;

interface CachedSnapshot {
  at: number;
  nodes: Map<string, MutableSnapshot>;
  /** The node list as the scheduler takes it (the same objects). */
  list: MutableSnapshot[];
}
type MutableSnapshot = NodeSnapshot & { usedCpu: number; usedMemory: number; usedPorts: Set<string>; taskGroups: Map<string, number> };

/**
 * Snapshots per store and cluster, reused for up to SNAPSHOT_MAX_AGE_MS and
 * kept current with what this process commits. Staleness is safe: the plan
 * applier re-checks every placement on fresh state, and a rejection drops the
 * cached snapshot.
 */
const snapshots = new WeakMap<object, Map<string, CachedSnapshot>>();
/** Reads in flight, so callers that find the snapshot old at the same time share one read. */
const reading = new WeakMap<object, Map<string, Promise<CachedSnapshot>>>();

async function snapshotFor(ctx: AppContext, cluster: string, fresh: boolean): Promise<CachedSnapshot> {
  let perDb = snapshots.get(ctx.db);
  if (!perDb) snapshots.set(ctx.db, (perDb = new Map()));
  let inFlight = reading.get(ctx.db);
  if (!inFlight) reading.set(ctx.db, (inFlight = new Map()));
  const cached = perDb.get(cluster);
  if (cached && !fresh && Date.now() - cached.at < SNAPSHOT_MAX_AGE_MS) return cached;
  const pending = inFlight.get(cluster);
  if (pending) return pending;
  const read = (async () => {
    const at = Date.now();
    const nodes = await readClusterSnapshot(ctx.db.sql, cluster);
    const list = nodes.map((n) => ({ ...n, usedPorts: new Set(n.usedPorts), taskGroups: new Map(n.taskGroups) }));
    const next: CachedSnapshot = { at, nodes: new Map(list.map((n) => [n.id, n])), list };
    perDb.set(cluster, next);
    return next;
  })().finally(() => inFlight.delete(cluster));
  inFlight.set(cluster, read);
  return read;
}

/**
 * Schedulers per snapshot and request shape: RunTasks of one shape within a
 * snapshot's second continue one Scheduler (its per-node set-up paid once)
 * instead of each scheduling over every node. Dropped when a plan of theirs is
 * rejected (their view would then count placements that did not happen).
 */
const schedulers = new WeakMap<CachedSnapshot, Map<string, Scheduler>>();

function schedulerFor(ctx: AppContext, snap: CachedSnapshot, req: ScheduleRequest): { scheduler: Scheduler; forget: () => void } {
  let perShape = schedulers.get(snap);
  if (!perShape) schedulers.set(snap, (perShape = new Map()));
  const key = JSON.stringify([req.group, req.demand, req.constraints ?? [], req.strategy ?? []]);
  let scheduler = perShape.get(key);
  if (!scheduler) {
    const { count: _count, ...shape } = req;
    scheduler = new Scheduler(snap.list, shape, () => ctx.random.next());
    perShape.set(key, scheduler);
  }
  return { scheduler, forget: () => perShape.delete(key) };
}

function account(snap: CachedSnapshot, req: ScheduleRequest, nodeIds: string[]): void {
  for (const id of nodeIds) {
    const n = snap.nodes.get(id);
    if (!n) continue;
    n.usedCpu += req.demand.cpu;
    n.usedMemory += req.demand.memoryMib;
    for (const p of req.demand.hostPorts) n.usedPorts.add(p);
    n.taskGroups.set(req.group, (n.taskGroups.get(req.group) ?? 0) + 1);
  }
}

/**
 * The plan applier: in one transaction, locks the plan's nodes (in id order, so
 * appliers never deadlock), re-checks every placement on their fresh state and
 * commits the ones that still hold. Returns the accepted node ids and what
 * `commit` wrote.
 */
async function applyPlan<T>(
  ctx: AppContext,
  cluster: string,
  req: ScheduleRequest,
  placements: readonly { nodeId: string }[],
  commit: (tx: Queryable, nodeIds: string[]) => Promise<T[]>,
): Promise<[string[], T[]]> {
  return ctx.db.sql.begin(async (tx): Promise<[string[], T[]]> => {
    const ids = [...new Set(placements.map((p) => p.nodeId))].sort();
    const nodes = await lockNodes(tx, ids);
    const [alloc, groups] = await Promise.all([nodeAllocations(tx, ids), nodeTaskGroups(tx, cluster, ids)]);
    const fresh = nodes.map((n) => nodeSnapshot(n, alloc.get(n.id), groups.get(n.id)));
    const ok = verifyPlacements(fresh, req, placements);
    const accepted = placements.filter((_, i) => ok[i]).map((p) => p.nodeId);
    return [accepted, accepted.length > 0 ? await commit(tx, accepted) : []];
  });
}

export interface PlaceResult<T> {
  /** What `commit` wrote for the placed tasks, in order. */
  committed: T[];
  /** How many tasks were placed. */
  placed: number;
  /** Why the rest could not be placed (the scheduler's explanation), if any are left. */
  unplacedReason?: string;
  unplacedFailureReason?: string;
}

/**
 * Decides nodes for `req.count` tasks and commits them through `commit`, which
 * runs inside one transaction with the plan verified: it receives the accepted
 * node ids and writes the tasks. Up to PLACEMENT_ROUNDS rounds.
 */
export async function placeTasks<T>(
  ctx: AppContext,
  cluster: string,
  req: ScheduleRequest,
  commit: (tx: Queryable, nodeIds: string[]) => Promise<T[]>,
): Promise<PlaceResult<T>> {
  const committed: T[] = [];
  let placed = 0;
  let remaining = req.count;
  let reason: { detail: string; reason: string } | undefined;
  let fresh = false;
  for (let round = 1; round <= PLACEMENT_ROUNDS && remaining > 0; round++) {
    // The first round may use a recent snapshot. It can be wrong both ways: the applier catches room
    // that is gone; room that appeared (a node activated) is found by reading the cluster again.
    const snap = await snapshotFor(ctx, cluster, fresh);
    const { scheduler, forget } = schedulerFor(ctx, snap, req);
    const plan = scheduler.place(remaining);
    reason = plan.failures[0];
    if (plan.placements.length === 0) {
      if (fresh) break;
      fresh = true;
      continue;
    }
    const [accepted, written] = await applyPlan(ctx, cluster, req, plan.placements, commit);
    if (accepted.length < plan.placements.length) {
      forget();
      ctx.log.debug({ cluster, planned: plan.placements.length, accepted: accepted.length, round }, 'plan partly rejected on fresh state; scheduling the rest again');
    }
    account(snap, req, accepted);
    committed.push(...written);
    placed += accepted.length;
    remaining -= accepted.length;
    if (accepted.length < plan.placements.length || plan.failures.length > 0) {
      if (fresh && accepted.length === plan.placements.length) break; // the rest does not fit anyway
      fresh = true;
    }
  }
  if (remaining === 0) return { committed, placed };
  return {
    committed,
    placed,
    unplacedReason: reason?.detail ?? 'other schedulers kept taking the room; retrying',
    unplacedFailureReason: reason?.reason ?? 'RESOURCE:CONFLICT',
  };
}

/**
 * DAEMON placement: one task on each of these nodes that can take it (on a
 * recent snapshot, then verified on fresh state in one transaction, as above).
 * Nodes that cannot are explained in `failures`.
 */
export async function placeTasksOn<T>(
  ctx: AppContext,
  cluster: string,
  req: Omit<ScheduleRequest, 'count' | 'strategy'>,
  nodeIds: readonly string[],
  commit: (tx: Queryable, nodeIds: string[]) => Promise<T[]>,
): Promise<{ committed: T[]; failures: { reason: string; detail: string }[] }> {
  if (nodeIds.length === 0) return { committed: [], failures: [] };
  const wanted = new Set(nodeIds);
  const snap = await snapshotFor(ctx, cluster, true);
  const plan = scheduleDaemon(snap.list.filter((n) => wanted.has(n.id)), req);
  if (plan.placements.length === 0) return { committed: [], failures: plan.failures };
  const full: ScheduleRequest = { ...req, count: plan.placements.length };
  const [accepted, written] = await applyPlan(ctx, cluster, full, plan.placements, commit);
  account(snap, full, accepted);
  return { committed: written, failures: plan.failures };
}
