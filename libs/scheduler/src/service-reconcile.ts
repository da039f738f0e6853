/**
 * The service reconciler: one service's tasks as they are -> what to start and
 * what to stop now, with ECS's rolling-update arithmetic. Pure and
 * level-triggered: it is called again after every change and decides from
 * scratch, so a plan only needs to be safe, not complete.
 *
 * Bounds (REPLICA), from the desired count D:
 * - at most floor(D * maximumPercent / 100) tasks not STOPPED (RUNNING,
 *   PENDING, and tasks asked to stop that have not stopped yet);
 * - at least ceil(D * minimumHealthyPercent / 100) healthy tasks: a healthy
 *   task is stopped only when that many healthy tasks remain without it.
 * So 4 tasks at 50/100 go down to 2 healthy and never above 4; at 100/150
 * never below 4 healthy and up to 6 not STOPPED.
 *
 * A task is healthy when RUNNING and not asked to stop, and, if its essential
 * containers have health checks, HEALTHY. An UNHEALTHY task past the health
 * check grace period is stopped (it does not count as healthy, so that never
 * lowers the healthy count). Tasks of older deployments and tasks on DRAINING
 * nodes are replaced: new ones start within the maximum, the old stop as the
 * minimum allows.
 *
 * DAEMON: one task on every eligible node (ACTIVE, matching the constraints).
 * Tasks on other nodes stop; an old deployment's task on a node is stopped as
 * the minimum allows (over the eligible node count, ECS's default 0) and the
 * new one starts once the node has no task left.
 */

export type SchedulingStrategy = 'REPLICA' | 'DAEMON';

export interface ServiceTaskView {
  id: string;
  deploymentId: string;
  nodeId: string | null;
  /** Asked to stop (desired STOPPED) and not STOPPED yet. */
  stopping: boolean;
  /** PROVISIONING, PENDING, ACTIVATING, RUNNING, ... (never STOPPED: those are not passed). */
  lastStatus: string;
  /** ECS task health: HEALTHY, UNHEALTHY or UNKNOWN. */
  health: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  /** Whether an essential container has a health check (then health decides). */
  healthChecked: boolean;
  startedAtMs: number | null;
  createdAtMs: number;
}

export interface ServiceView {
  strategy: SchedulingStrategy;
  /** REPLICA: tasks wanted. DAEMON: ignored (one per eligible node). */
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  healthCheckGracePeriodMs: number;
  /** The deployment new tasks belong to. */
  primaryDeploymentId: string;
  /** No new tasks now (launches are backed off after failures). */
  launchBlocked: boolean;
  /**
   * The primary deployment failed and is not rolled back: the service keeps
   * what runs (old tasks are not replaced, unhealthy ones not stopped) and
   * starts nothing until it is updated.
   */
  frozen?: boolean;
  tasks: readonly ServiceTaskView[];
  /** Nodes whose tasks are to move (DRAINING). */
  drainingNodes: ReadonlySet<string>;
  /** DAEMON: the nodes a task belongs on. */
  eligibleNodes?: readonly string[];
  nowMs: number;
}

export type StopCause = 'unhealthy' | 'replaced' | 'draining' | 'scale-down' | 'ineligible-node' | 'duplicate';

export interface ServicePlan {
  /** REPLICA: new tasks of the primary deployment to place. */
  start: number;
  /** DAEMON: nodes to start a primary task on. */
  startOn: string[];
  stop: { taskId: string; cause: StopCause }[];
  bounds: { minHealthy: number; maxTotal: number };
  counts: { total: number; healthy: number; primaryHealthy: number; primaryActive: number };
  /** Old tasks wait because the minimum does not allow stopping them (and no new task can be added). */
  blockedByMinimum: boolean;
  /** Everything is as wanted: only healthy primary tasks, as many as wanted, nothing stopping. */
  steady: boolean;
}

export function isHealthyTask(t: ServiceTaskView): boolean {
  return !t.stopping && t.lastStatus === 'RUNNING' && (!t.healthChecked || t.health === 'HEALTHY');
}

function unhealthyPastGrace(t: ServiceTaskView, v: ServiceView): boolean {
  if (t.stopping || t.lastStatus !== 'RUNNING' || !t.healthChecked || t.health !== 'UNHEALTHY') return false;
  return v.nowMs - (t.startedAtMs ?? t.createdAtMs) >= v.healthCheckGracePeriodMs;
}

/**
 * ECS's rounding: the minimum up, the maximum down. When rounding leaves no
 * room to replace a task at all (1 task at 100/150, or at 50/100), the
 * percentage that allows movement still means one task: one above the count
 * if maximumPercent is over 100, else one below if minimumHealthyPercent is
 * under 100. Only 100/100 can never move.
 */
export function deploymentBounds(count: number, minimumHealthyPercent: number, maximumPercent: number): { minHealthy: number; maxTotal: number } {
  let minHealthy = Math.ceil((count * minimumHealthyPercent) / 100);
  let maxTotal = Math.floor((count * maximumPercent) / 100);
  if (count > 0 && minHealthy >= count && maxTotal <= count) {
    if (maximumPercent > 100) maxTotal = count + 1;
    else if (minimumHealthyPercent < 100) minHealthy = count - 1;
  }
  return { minHealthy, maxTotal };
}

/** ECS's circuit breaker threshold: half the desired count, at least 3, at most 200. */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount / 2)));
}

/** Launch backoff after repeated task failures: the first replacement at once, then 1, 2, 4 ... s, at most 60 s. */
export const LAUNCH_BACKOFF_MAX_MS = 60_000;
export function launchDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(LAUNCH_BACKOFF_MAX_MS, 1000 * 2 ** (consecutiveFailures - 2));
}

/**
 * Whether a rolling update with these settings can make progress at all: with
 * the minimum and the maximum both equal to the desired count, no task may stop
 * and none may start (ECS would hang; Berth refuses it).
 */
export function rollingDeadlock(count: number, minimumHealthyPercent: number, maximumPercent: number): boolean {
  if (count === 0) return false;
  const b = deploymentBounds(count, minimumHealthyPercent, maximumPercent);
  return b.minHealthy >= count && b.maxTotal <= count;
}

/** Order to give tasks up in: the ones that are not healthy, then not running yet, then the newest. */
function surrenderOrder(a: ServiceTaskView, b: ServiceTaskView): number {
  const rank = (t: ServiceTaskView) => (isHealthyTask(t) ? 2 : t.lastStatus === 'RUNNING' ? 1 : 0);
  return rank(a) - rank(b) || b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : 1);
}

export function reconcileService(v: ServiceView): ServicePlan {
  return v.strategy === 'DAEMON' ? reconcileDaemon(v) : reconcileReplica(v);
}

function reconcileReplica(v: ServiceView): ServicePlan {
  const D = Math.max(0, v.desiredCount);
  const bounds = deploymentBounds(D, v.minimumHealthyPercent, v.maximumPercent);
  const stop: ServicePlan['stop'] = [];
  const total = v.tasks.length;
  let healthy = v.tasks.filter(isHealthyTask).length;

  let active = v.tasks.filter((t) => !t.stopping);
  if (!v.frozen) for (const t of active) if (unhealthyPastGrace(t, v)) stop.push({ taskId: t.id, cause: 'unhealthy' });
  active = active.filter((t) => !stop.some((s) => s.taskId === t.id));

  const onDrainingNode = (t: ServiceTaskView) => t.nodeId !== null && v.drainingNodes.has(t.nodeId);
  let keep = active.filter((t) => t.deploymentId === v.primaryDeploymentId && !onDrainingNode(t));
  const replace = active.filter((t) => t.deploymentId !== v.primaryDeploymentId || onDrainingNode(t));

  // Scale down: the primary's extra tasks, least useful first. Healthy ones beyond D only.
  if (keep.length > D) {
    const sorted = [...keep].sort(surrenderOrder);
    const excess = sorted.slice(0, keep.length - D);
    for (const t of excess) {
      stop.push({ taskId: t.id, cause: 'scale-down' });
      if (isHealthyTask(t)) healthy--;
    }
    keep = sorted.slice(keep.length - D);
  }

  // Old tasks go as the minimum allows: ones that are not healthy at once, healthy ones while enough stay.
  let blockedByMinimum = false;
  for (const t of v.frozen ? [] : [...replace].sort(surrenderOrder)) {
    const cause: StopCause = onDrainingNode(t) && t.deploymentId === v.primaryDeploymentId ? 'draining' : 'replaced';
    if (!isHealthyTask(t)) {
      stop.push({ taskId: t.id, cause });
    } else if (healthy - 1 >= bounds.minHealthy) {
      stop.push({ taskId: t.id, cause });
      healthy--;
    } else {
      blockedByMinimum = true;
    }
  }

  // New tasks: as many as the primary lacks, within the maximum (stopping tasks still count).
  const need = Math.max(0, D - keep.length);
  const room = Math.max(0, bounds.maxTotal - total);
  const start = v.launchBlocked || v.frozen ? 0 : Math.min(need, room);
  if (start > 0 || need === 0) blockedByMinimum = false;

  const primaryHealthy = keep.filter(isHealthyTask).length;
  const steady = stop.length === 0 && start === 0 && total === D && primaryHealthy === D && replace.length === 0;
  return { start, startOn: [], stop, bounds, counts: { total, healthy: v.tasks.filter(isHealthyTask).length, primaryHealthy, primaryActive: keep.length }, blockedByMinimum, steady };
}

function reconcileDaemon(v: ServiceView): ServicePlan {
  const eligible = new Set(v.eligibleNodes ?? []);
  const bounds = deploymentBounds(eligible.size, v.minimumHealthyPercent, v.maximumPercent);
  const stop: ServicePlan['stop'] = [];
  const stopped = new Set<string>();
  const doStop = (t: ServiceTaskView, cause: StopCause) => {
    stop.push({ taskId: t.id, cause });
    stopped.add(t.id);
  };
  let healthy = v.tasks.filter(isHealthyTask).length;
  const byNode = new Map<string, ServiceTaskView[]>();
  for (const t of v.tasks) {
    const key = t.nodeId ?? '';
    const list = byNode.get(key);
    if (list) list.push(t);
    else byNode.set(key, [t]);
  }
  for (const t of v.tasks) {
    if (t.stopping) continue;
    if (t.nodeId === null || !eligible.has(t.nodeId)) {
      doStop(t, v.drainingNodes.has(t.nodeId ?? '') ? 'draining' : 'ineligible-node');
      if (isHealthyTask(t)) healthy--;
    } else if (unhealthyPastGrace(t, v)) doStop(t, 'unhealthy');
  }
  let blockedByMinimum = false;
  const startOn: string[] = [];
  for (const nodeId of [...eligible].sort()) {
    const here = (byNode.get(nodeId) ?? []).filter((t) => !t.stopping && !stopped.has(t.id));
    const primary = here.filter((t) => t.deploymentId === v.primaryDeploymentId).sort(surrenderOrder);
    for (const t of primary.slice(0, Math.max(0, primary.length - 1))) {
      doStop(t, 'duplicate');
      if (isHealthyTask(t)) healthy--;
    }
    for (const t of here.filter((x) => x.deploymentId !== v.primaryDeploymentId)) {
      if (!isHealthyTask(t)) doStop(t, 'replaced');
      else if (healthy - 1 >= bounds.minHealthy) {
        doStop(t, 'replaced');
        healthy--;
      } else blockedByMinimum = true;
    }
    // A node gets its new task once nothing of the service is left on it (stopping tasks included).
    const anyLeft = (byNode.get(nodeId) ?? []).length > 0;
    if (!anyLeft && !v.launchBlocked) startOn.push(nodeId);
  }
  const primaryActive = v.tasks.filter((t) => !t.stopping && !stopped.has(t.id) && t.deploymentId === v.primaryDeploymentId).length;
  const primaryHealthy = v.tasks.filter((t) => !stopped.has(t.id) && t.deploymentId === v.primaryDeploymentId && isHealthyTask(t)).length;
  const steady = stop.length === 0 && startOn.length === 0 && v.tasks.length === eligible.size && primaryHealthy === eligible.size;
  return {
    start: 0,
    startOn,
    stop,
    bounds,
    counts: { total: v.tasks.length, healthy: v.tasks.filter(isHealthyTask).length, primaryHealthy, primaryActive },
    blockedByMinimum,
    steady,
  };
}
