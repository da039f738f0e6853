import { newDeploymentId, taskHealthStatus, type TaskDefinitionSpec } from '@berth/domain';
import {
  circuitBreakerThreshold,
  daemonEligibleNodes,
  launchDelayMs,
  reconcileService,
  type ServicePlan,
  type ServiceTaskView,
  type StopCause,
} from '@berth/scheduler';
import {
  activeTasksOfGroup,
  appendEvents,
  bumpGenerations,
  clusterNodes,
  getService,
  getServiceForUpdate,
  getTaskDefinition,
  insertDeployment,
  insertTasks,
  liveServices,
  pruneInactiveDeployments,
  serviceDeployments,
  serviceFailures,
  serviceGroup,
  UNHEALTHY_STOP_REASON,
  updateDeployment,
  updateService,
  updateTasks,
  type DeploymentRecord,
  type NewEvent,
  type Queryable,
  type ServiceRecord,
  type TaskRecord,
} from '@berth/store';
import type { AppContext } from '../services/context.js';
import { nodeSnapshot, placeTasks, placeTasksOn } from '../services/placement.js';
import { newTaskRow, placedEvent, taskTemplate } from '../services/tasks.js';

/** Pacing and limits, in one place. */
export const SERVICE_RESYNC_MS = 10_000;
export const SYNC_RETRY_BASE_MS = 500;
export const SYNC_RETRY_MAX_MS = 30_000;
/** A service whose tasks could not all be placed is tried again this often (and whenever nodes change). */
export const UNPLACED_RETRY_MS = 5_000;
/** The same service notice (unable to place, drain waiting, backoff) is written again at most this often. */
export const NOTICE_REPEAT_MS = 5 * 60_000;
/** Services synced at once. */
export const SYNC_WORKERS = 2;
/** Failures are forgotten (the launch backoff starts over) once the service has been steady this long after the last one. */
export const FAILURE_MEMORY_MS = 60_000;
/** INACTIVE deployments kept per service (history, and what a rollback can return to). */
export const DEPLOYMENT_HISTORY = 5;
/** Without a placement strategy, a service's tasks are spread over nodes (as ECS spreads over zones). */
export const DEFAULT_SERVICE_STRATEGY = [{ type: 'spread', field: 'instanceId' }];

export interface ServiceControllerSettings {
  resyncMs?: number;
}

const STOP_REASON: Record<StopCause, (deploymentId: string) => string> = {
  unhealthy: () => UNHEALTHY_STOP_REASON,
  replaced: (d) => `Scaling activity initiated by (deployment ${d})`,
  'scale-down': (d) => `Scaling activity initiated by (deployment ${d})`,
  draining: () => 'Task moved off a DRAINING node',
  'ineligible-node': () => "Node no longer matches the service's placement constraints",
  duplicate: () => 'Duplicate daemon task on the node',
};

/** A plan made on state that changed before it was applied: thrown inside the applier's transaction to undo it. */
class StaleSync extends Error {}

const key = (cluster: string, name: string) => `${cluster}\u0000${name}`;
const split = (k: string) => k.split('\u0000') as [string, string];
const taskList = (ids: string[]) => ids.map((id) => `(task ${id})`).join(' ');

/**
 * Keeps every service converged, as a Kubernetes controller: handlers only
 * enqueue (service created or updated, one of its tasks changed, a node came,
 * went or changed), and `sync` re-reads the service, its deployments, tasks and
 * nodes and acts on the difference (level-triggered). A failed sync is retried
 * with backoff; every service is looked at again every SERVICE_RESYNC_MS.
 * One sync per service at a time; every write re-checks the service's task
 * count under its row lock, so a plan made on state that moved is dropped and
 * made again, and a restart mid-change never places twice.
 */
export class ServiceController {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly later = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly attempts = new Map<string, number>();
  private readonly notices = new Map<string, { message: string; at: number }>();
  private workers = 0;
  private stopped = false;
  private resync: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly settings: ServiceControllerSettings = {},
  ) {}

  start(): void {
    const all = () =>
      void liveServices(this.ctx.db.sql)
        .then((list) => list.forEach((s) => this.enqueue(s.cluster, s.name)))
        .catch((err) => this.ctx.log.error({ err }, 'service resync failed; trying again on the next one'));
    all();
    this.resync = setInterval(all, this.settings.resyncMs ?? SERVICE_RESYNC_MS);
    this.resync.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resync);
    for (const l of this.later.values()) clearTimeout(l.timer);
    this.later.clear();
  }

  enqueue(cluster: string, name: string): void {
    if (this.stopped) return;
    const k = key(cluster, name);
    if (this.inFlight.has(k)) this.dirty.add(k);
    else if (!this.queued.has(k)) {
      this.queued.add(k);
      this.queue.push(k);
    }
    this.pump();
  }

  /** Every live service of the cluster. */
  enqueueCluster(cluster: string): void {
    void liveServices(this.ctx.db.sql, cluster)
      .then((list) => list.forEach((s) => this.enqueue(s.cluster, s.name)))
      .catch((err) => this.ctx.log.error({ err, cluster }, 'could not list services to sync'));
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueueAfter(cluster: string, name: string, requested: number): void {
    if (this.stopped) return;
    // Longer waits are the periodic resync's (and setTimeout takes nothing above 2^31 ms).
    const ms = Math.min(requested, this.settings.resyncMs ?? SERVICE_RESYNC_MS);
    const k = key(cluster, name);
    const due = Date.now() + ms;
    const existing = this.later.get(k);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.later.delete(k);
      this.enqueue(cluster, name);
    }, ms);
    timer.unref();
    this.later.set(k, { due, timer });
  }

  private pump(): void {
    while (this.workers < SYNC_WORKERS && this.queue.length > 0) {
      this.workers++;
      void this.work();
    }
  }

  private async work(): Promise<void> {
    try {
      for (let k = this.queue.shift(); k !== undefined; k = this.queue.shift()) {
        this.queued.delete(k);
        this.inFlight.add(k);
        const [cluster, name] = split(k);
        try {
          const again = await this.sync(cluster, name);
          this.attempts.delete(k);
          if (again !== undefined) this.enqueueAfter(cluster, name, again);
        } catch (err) {
          const n = (this.attempts.get(k) ?? 0) + 1;
          this.attempts.set(k, n);
          const wait = Math.min(SYNC_RETRY_MAX_MS, SYNC_RETRY_BASE_MS * 2 ** (n - 1));
          this.ctx.log.error({ err, cluster, service: name, attempt: n, retryMs: wait }, 'service sync failed; retrying');
          this.enqueueAfter(cluster, name, wait);
        } finally {
          this.inFlight.delete(k);
          if (this.dirty.delete(k)) this.enqueue(cluster, name);
        }
      }
    } finally {
      this.workers--;
      if (this.workers === 0 && this.queue.length === 0 && this.inFlight.size === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** Writes a service notice unless the same one was written recently. */
  private notice(events: NewEvent[], svc: ServiceRecord, kind: string, message: string): void {
    const k = `${key(svc.cluster, svc.name)}\u0000${kind}`;
    const last = this.notices.get(k);
    const now = Date.now();
    if (last && last.message === message && now - last.at < NOTICE_REPEAT_MS) return;
    this.notices.set(k, { message, at: now });
    events.push({ cluster: svc.cluster, kind, subject: serviceGroup(svc.name), message });
  }

  private forgetNotices(svc: ServiceRecord): void {
    const prefix = key(svc.cluster, svc.name) + '\u0000';
    for (const k of this.notices.keys()) if (k.startsWith(prefix)) this.notices.delete(k);
  }

  /**
   * Converges one service. Returns when to look again (ms), if something is
   * waiting on time rather than on an event (launch backoff, a grace period, a
   * task with no room yet).
   */
  async sync(cluster: string, name: string): Promise<number | undefined> {
    const { ctx } = this;
    const sql = ctx.db.sql;
    const now = ctx.clock.now();
    const svc = await getService(sql, cluster, name);
    if (!svc || svc.status === 'INACTIVE') return undefined;
    const deployments = await serviceDeployments(sql, cluster, [name]);
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    if (!primary) {
      ctx.log.error({ cluster, service: name }, 'service has no PRIMARY deployment; nothing to converge to');
      return undefined;
    }
    const group = serviceGroup(name);
    const [tasks, nodes, sinceDeployment, sinceSteady] = await Promise.all([
      activeTasksOfGroup(sql, cluster, group),
      clusterNodes(sql, cluster),
      serviceFailures(sql, cluster, name, primary.createdAt),
      serviceFailures(sql, cluster, name, svc.failuresSince),
    ]);
    const events: NewEvent[] = [];
    const spec = svc.spec;
    const daemon = spec.schedulingStrategy === 'DAEMON';
    // A service being deleted belongs on no node. A node whose agent is away keeps the task it has, but
    // does not count (a lost node would otherwise keep the service from ever being steady).
    const withTask = new Set(tasks.filter((t) => t.desiredStatus === 'RUNNING').map((t) => t.nodeId));
    const connected = new Set(nodes.filter((n) => n.agentConnected).map((n) => n.id));
    const eligible = !daemon
      ? undefined
      : svc.status === 'DRAINING'
        ? []
        : daemonEligibleNodes(nodes.map((n) => nodeSnapshot(n, undefined, undefined)), spec.placementConstraints as never).filter((id) => connected.has(id) || withTask.has(id));
    const desired = svc.status === 'DRAINING' ? 0 : daemon ? eligible!.length : svc.desiredCount;

    // Circuit breaker: the primary deployment's failed tasks against ECS's threshold.
    const primaryFailures = sinceDeployment.find((f) => f.deploymentId === primary.id)?.count ?? 0;
    const breaker = spec.deploymentConfiguration.deploymentCircuitBreaker;
    if (breaker.enable && primary.rolloutState === 'IN_PROGRESS' && svc.status === 'ACTIVE' && primaryFailures >= circuitBreakerThreshold(desired)) {
      await this.tripBreaker(svc, primary, primaryFailures);
      return 0;
    }

    // Launch backoff after repeated failures.
    const streak = sinceSteady.reduce((a, f) => a + f.count, 0);
    const lastFailure = Math.max(0, ...sinceSteady.map((f) => f.lastAt.getTime()));
    const delay = launchDelayMs(streak);
    const backoffUntil = streak > 0 ? lastFailure + delay : 0;
    const backedOff = backoffUntil > now.getTime();
    // FAILED and not rolled back: keep what runs, start nothing until the service is updated.
    const frozen = primary.rolloutState === 'FAILED';

    const draining = new Set(nodes.filter((n) => n.status === 'DRAINING').map((n) => n.id));
    // Load-balanced tasks are healthy once their targets are too (as ECS counts them).
    const balanced = (spec.loadBalancers?.length ?? 0) > 0;
    const views: ServiceTaskView[] = tasks.map((t) => withTargetHealth(taskView(t), ctx.traffic?.targetHealth(t.id), balanced));
    const plan = reconcileService({
      strategy: spec.schedulingStrategy,
      desiredCount: desired,
      minimumHealthyPercent: spec.deploymentConfiguration.minimumHealthyPercent,
      maximumPercent: spec.deploymentConfiguration.maximumPercent,
      healthCheckGracePeriodMs: spec.healthCheckGracePeriodSeconds * 1000,
      primaryDeploymentId: primary.id,
      launchBlocked: backedOff,
      frozen,
      tasks: views,
      drainingNodes: draining,
      eligibleNodes: eligible,
      nowMs: now.getTime(),
    });
    const waits: number[] = [];
    if (backedOff && (plan.counts.primaryActive < desired || daemon)) {
      waits.push(backoffUntil - now.getTime());
      this.notice(
        events,
        svc,
        'service.backoff',
        `(service ${name}) is unable to consistently start tasks successfully: ${streak} task(s) failed since ${svc.failuresSince.toISOString()}; the next launch waits ${Math.round(delay / 1000)} s.`,
      );
    }

    if (plan.stop.length > 0 && (await this.stopTasks(svc, primary, tasks, plan)) === 'stale') return 0;

    // Starts: REPLICA through the scheduler, DAEMON onto named nodes.
    const onDraining = tasks.filter((t) => t.desiredStatus === 'RUNNING' && t.nodeId && draining.has(t.nodeId)).length;
    const wanted = daemon ? plan.startOn.length : plan.start;
    if (wanted > 0) {
      const result = await this.startTasks(svc, primary, tasks.length, plan, events);
      if (result === 'stale') return 0;
      if (result.unplaced > 0) {
        waits.push(UNPLACED_RETRY_MS);
        this.notice(events, svc, 'service.unplaced', `(service ${name}) was unable to place a task because ${result.reason}.`);
      }
      if (result.unplaced > 0 && onDraining > 0) {
        this.notice(events, svc, 'service.drain-waiting', `(service ${name}) cannot move ${onDraining} task(s) off draining node(s) yet: no other node can take them; the drain waits.`);
      }
    } else if (plan.blockedByMinimum && onDraining > 0) {
      this.notice(
        events,
        svc,
        'service.drain-waiting',
        `(service ${name}) cannot move ${onDraining} task(s) off draining node(s) yet: maximumPercent ${spec.deploymentConfiguration.maximumPercent} leaves no room for replacements and minimumHealthyPercent ${spec.deploymentConfiguration.minimumHealthyPercent} keeps them running; the drain waits.`,
      );
    }

    // Unhealthy tasks inside their grace period: look again when it ends.
    const grace = spec.healthCheckGracePeriodSeconds * 1000;
    for (const t of views) {
      if (t.health === 'UNHEALTHY' && !t.stopping && t.startedAtMs !== null) {
        const ends = t.startedAtMs + grace - now.getTime();
        if (ends > 0) waits.push(ends);
      }
    }

    const forget = streak > 0 && now.getTime() - lastFailure >= FAILURE_MEMORY_MS;
    if (forget) waits.push(SERVICE_RESYNC_MS);
    else if (streak > 0) waits.push(lastFailure + FAILURE_MEMORY_MS - now.getTime());
    await this.bookkeeping(svc, primary, deployments, tasks, plan, desired, primaryFailures, forget, events);
    return waits.length > 0 ? Math.max(50, Math.min(...waits)) : undefined;
  }

  private async stopTasks(svc: ServiceRecord, primary: DeploymentRecord, tasks: TaskRecord[], plan: ServicePlan): Promise<'stale' | void> {
    const now = this.ctx.clock.now();
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const patches = plan.stop.map((s) => {
      const t = byId.get(s.taskId)!;
      return {
        id: t.id,
        expectVersion: t.version,
        desiredStatus: 'STOPPED',
        stopCode: 'ServiceSchedulerInitiated',
        stoppedReason: STOP_REASON[s.cause](primary.id),
        stoppingAt: now,
        ...(t.nodeId ? {} : { lastStatus: 'STOPPED', stoppedAt: now }),
      };
    });
    const nodeIds = [...new Set(plan.stop.map((s) => byId.get(s.taskId)!.nodeId).filter((n): n is string => !!n))];
    const applied = await this.ctx.db.sql.begin(async (tx) => {
      // The fence: the service's tasks (locked) are as the plan saw them, so the healthy count it kept holds.
      if (!(await this.unchanged(tx, svc, tasks))) return undefined;
      const applied = await updateTasks(tx, patches);
      await bumpGenerations(tx, nodeIds);
      const ids = plan.stop.filter((s) => applied.has(s.taskId));
      await appendEvents(tx, [
        ...ids.map((s) => ({ cluster: svc.cluster, kind: 'task.stopping', subject: s.taskId, message: `task ${s.taskId} asked to stop: ${STOP_REASON[s.cause](primary.id)}` })),
        ...(ids.length > 0
          ? [{ cluster: svc.cluster, kind: 'service.stopped', subject: serviceGroup(svc.name), message: `(service ${svc.name}) has stopped ${ids.length} running tasks: ${taskList(ids.map((s) => s.taskId))}.`, data: { causes: ids } }]
          : []),
      ]);
      return applied;
    });
    if (!applied) return 'stale';
    if (applied.size < patches.length) this.ctx.log.debug({ service: svc.name }, 'some tasks changed before they could be stopped; the next sync decides again');
    this.ctx.nodesChanged(nodeIds);
  }

  /**
   * Under the service's row lock: the service has not changed since `svc` was
   * read, and its tasks that are not STOPPED are exactly `tasks`, at their
   * versions (read just before the write; the task rows are not locked, so a
   * status report never waits for, or deadlocks with, a sync).
   */
  private async unchanged(tx: Queryable, svc: ServiceRecord, tasks: readonly { id: string; version: number }[]): Promise<boolean> {
    const fresh = await getServiceForUpdate(tx, svc.cluster, svc.name);
    if (!fresh || fresh.version !== svc.version || fresh.status !== svc.status) return false;
    const rows = await tx`
      SELECT id, version FROM tasks WHERE cluster = ${svc.cluster} AND task_group = ${serviceGroup(svc.name)} AND last_status <> 'STOPPED'
      ORDER BY id`;
    if (rows.length !== tasks.length) return false;
    const known = new Map(tasks.map((t) => [t.id, t.version]));
    return rows.every((r) => known.get(r.id as string) === Number(r.version));
  }

  private async startTasks(
    svc: ServiceRecord,
    primary: DeploymentRecord,
    readCount: number,
    plan: ServicePlan,
    events: NewEvent[],
  ): Promise<'stale' | { started: number; unplaced: number; reason: string }> {
    const { ctx } = this;
    const [family, revision] = primary.taskDefinition.split(':');
    const def = await getTaskDefinition(ctx.db.sql, family!, Number(revision));
    if (!def) {
      this.notice(events, svc, 'service.unplaced', `(service ${svc.name}) cannot start tasks: task definition ${primary.taskDefinition} no longer exists.`);
      return { started: 0, unplaced: plan.start + plan.startOn.length, reason: `task definition ${primary.taskDefinition} no longer exists` };
    }
    const spec = svc.spec;
    const strategy = spec.placementStrategy.length > 0 ? spec.placementStrategy : spec.schedulingStrategy === 'DAEMON' ? [] : DEFAULT_SERVICE_STRATEGY;
    const tpl = taskTemplate(svc.cluster, def, { startedBy: primary.id, group: serviceGroup(svc.name), placement: { constraints: spec.placementConstraints, strategy } });
    let expected = readCount;
    const touched = new Set<string>();
    const commit = async (tx: Queryable, nodeIds: string[]): Promise<TaskRecord[]> => {
      // The fence: the service is as read and has as many tasks as the plan was made on (under its row lock).
      const fresh = await getServiceForUpdate(tx, svc.cluster, svc.name);
      if (!fresh || fresh.version !== svc.version || fresh.status !== svc.status) throw new StaleSync(`service ${svc.name} changed`);
      const [{ n }] = (await tx`SELECT count(*)::int AS n FROM tasks WHERE cluster = ${svc.cluster} AND task_group = ${tpl.group} AND last_status <> 'STOPPED'`) as unknown as [{ n: number }];
      // Fewer tasks than planned on (some stopped meanwhile, e.g. their node lost) is safe: this plan still
      // stays within the bounds, and the next sync places the rest. More is not (another sync placed).
      if (n > expected) throw new StaleSync(`service ${svc.name}: ${n} tasks, planned on ${expected}`);
      // The nodes chosen must still take tasks (one lost or drained since the snapshot would strand them).
      const chosen = [...new Set(nodeIds)];
      const [{ ok }] = (await tx`SELECT count(*)::int AS ok FROM nodes WHERE id = ANY(${chosen}) AND status = 'ACTIVE' AND agent_connected`) as unknown as [{ ok: number }];
      if (ok !== chosen.length) throw new StaleSync(`service ${svc.name}: a chosen node no longer takes tasks`);
      expected = n;
      const rows = await insertTasks(tx, nodeIds.map((nodeId) => newTaskRow(ctx, tpl, nodeId)));
      await bumpGenerations(tx, [...new Set(nodeIds)]);
      await appendEvents(tx, [
        ...rows.map((t) => placedEvent(t)),
        { cluster: svc.cluster, kind: 'service.started', subject: tpl.group, message: `(service ${svc.name}) has started ${rows.length} tasks: ${taskList(rows.map((t) => t.id))}.` },
      ]);
      expected += rows.length;
      for (const id of nodeIds) touched.add(id);
      return rows;
    };
    const req = { demand: tpl.demand, group: tpl.group, constraints: spec.placementConstraints as never };
    try {
      if (spec.schedulingStrategy === 'DAEMON') {
        const r = await placeTasksOn(ctx, svc.cluster, req, plan.startOn, commit);
        const unplaced = plan.startOn.length - r.committed.length;
        return { started: r.committed.length, unplaced, reason: r.failures[0]?.detail ?? 'its node could not take it yet' };
      }
      const r = await placeTasks(ctx, svc.cluster, { ...req, count: plan.start, strategy: strategy as never }, commit);
      return { started: r.placed, unplaced: plan.start - r.placed, reason: r.unplacedReason ?? '' };
    } catch (err) {
      if (err instanceof StaleSync) {
        ctx.log.debug({ service: svc.name, reason: err.message }, 'service changed under the plan; syncing again');
        return 'stale';
      }
      throw err;
    } finally {
      // Tasks committed in an earlier round are on their nodes whatever happened after.
      if (touched.size > 0) ctx.nodesChanged([...touched]);
    }
  }

  /** Deployment states, steady state, daemon counts: written only when they change. */
  private async bookkeeping(
    svc: ServiceRecord,
    primary: DeploymentRecord,
    deployments: DeploymentRecord[],
    tasks: TaskRecord[],
    plan: ServicePlan,
    desired: number,
    primaryFailures: number,
    forgetFailures: boolean,
    events: NewEvent[],
  ): Promise<void> {
    const { ctx } = this;
    const perDeployment = new Map<string, number>();
    for (const t of tasks) perDeployment.set(t.startedBy, (perDeployment.get(t.startedBy) ?? 0) + 1);
    const name = svc.name;
    await ctx.db.sql.begin(async (tx) => {
      // An update (or delete) since the sync read the service: its view is old; the next sync records.
      const fresh = await getServiceForUpdate(tx, svc.cluster, name);
      if (!fresh || fresh.version !== svc.version) {
        await appendEvents(tx, events);
        return;
      }
      if (forgetFailures && plan.steady) await updateService(tx, svc.cluster, name, { failuresSince: ctx.clock.now() });
      if (primary.failedTasks !== primaryFailures) await updateDeployment(tx, primary.id, { failedTasks: primaryFailures });
      if (svc.spec.schedulingStrategy === 'DAEMON' && svc.status === 'ACTIVE' && svc.desiredCount !== desired) {
        await updateService(tx, svc.cluster, name, { desiredCount: desired });
        await updateDeployment(tx, primary.id, { desiredCount: desired });
      }
      // Older deployments leave once their last task has stopped.
      for (const d of deployments) {
        if (d.status === 'ACTIVE' && (perDeployment.get(d.id) ?? 0) === 0) await updateDeployment(tx, d.id, { status: 'INACTIVE' });
      }
      if (plan.steady) {
        if (svc.status === 'DRAINING') {
          await updateService(tx, svc.cluster, name, { status: 'INACTIVE', steady: true });
          for (const d of deployments) await updateDeployment(tx, d.id, { status: 'INACTIVE' });
          events.push({ cluster: svc.cluster, kind: 'service.deleted', subject: serviceGroup(name), message: `(service ${name}) has stopped its last task and is deleted.` });
        } else {
          if (primary.rolloutState === 'IN_PROGRESS') {
            // A rollback keeps saying what it rolled back from (ListServiceDeployments reports ROLLBACK_SUCCESSFUL by it).
            const rolledBack = primary.rolloutStateReason.startsWith('rolling back') ? ` (${primary.rolloutStateReason.replace(/^rolling back/, 'rolled back')})` : '';
            await updateDeployment(tx, primary.id, { rolloutState: 'COMPLETED', rolloutStateReason: `ECS deployment ${primary.id} completed${rolledBack}.` });
            events.push({ cluster: svc.cluster, kind: 'service.deployment-completed', subject: serviceGroup(name), message: `(service ${name}) (deployment ${primary.id}) deployment completed.` });
          }
          if (!svc.steady) {
            await updateService(tx, svc.cluster, name, { steady: true });
            events.push({ cluster: svc.cluster, kind: 'service.steady', subject: serviceGroup(name), message: `(service ${name}) has reached a steady state.` });
          }
        }
        await pruneInactiveDeployments(tx, svc.cluster, name, DEPLOYMENT_HISTORY);
      } else if (svc.steady) {
        await updateService(tx, svc.cluster, name, { steady: false });
      }
      await appendEvents(tx, events);
    });
    if (plan.steady) this.forgetNotices(svc);
  }

  /** The primary deployment failed: mark it, and with rollback on, return to the last COMPLETED deployment. */
  private async tripBreaker(svc: ServiceRecord, primary: DeploymentRecord, failures: number): Promise<void> {
    const { ctx } = this;
    const name = svc.name;
    const subject = serviceGroup(name);
    const rollback = svc.spec.deploymentConfiguration.deploymentCircuitBreaker.rollback;
    await ctx.db.sql.begin(async (tx) => {
      const fresh = await getServiceForUpdate(tx, svc.cluster, name);
      if (!fresh || fresh.version !== svc.version) throw new Error('service changed while its circuit breaker tripped; syncing again');
      const events: NewEvent[] = [];
      await updateDeployment(tx, primary.id, { rolloutState: 'FAILED', rolloutStateReason: `ECS deployment circuit breaker: ${failures} tasks failed to start.`, failedTasks: failures });
      events.push({ cluster: svc.cluster, kind: 'service.deployment-failed', subject, message: `(service ${name}) (deployment ${primary.id}) deployment failed: tasks failed to start.`, data: { failedTasks: failures } });
      const history = await serviceDeployments(tx, svc.cluster, [name], true);
      const target = history.find((d) => d.id !== primary.id && d.rolloutState === 'COMPLETED');
      // A rollback that fails in turn is not rolled back again (as ECS).
      const isRollback = primary.rolloutStateReason.startsWith('rolling back');
      if (rollback && target && !isRollback) {
        await updateDeployment(tx, primary.id, { status: 'ACTIVE' });
        const id = newDeploymentId(ctx.random);
        await insertDeployment(tx, {
          id,
          cluster: svc.cluster,
          service: name,
          status: 'PRIMARY',
          taskDefinition: target.taskDefinition,
          desiredCount: svc.desiredCount,
          rolloutStateReason: `rolling back to deployment ${target.id} after deployment ${primary.id} failed`,
        });
        await updateService(tx, svc.cluster, name, { spec: { ...svc.spec, taskDefinition: target.taskDefinition }, steady: false, failuresSince: ctx.clock.now() });
        events.push({ cluster: svc.cluster, kind: 'service.rollback', subject, message: `(service ${name}) rolling back to deployment ${target.id} (task definition ${target.taskDefinition}).`, data: { from: primary.id, to: target.id, deployment: id } });
      } else {
        events.push({
          cluster: svc.cluster,
          kind: 'service.deployment-failed',
          subject,
          message: isRollback
            ? `(service ${name}) the rollback deployment failed too; no new tasks start until the service is updated.`
            : rollback
            ? `(service ${name}) has no completed deployment to roll back to; no new tasks start until the service is updated.`
            : `(service ${name}) rollback is off; no new tasks start until the service is updated.`,
        });
      }
      await appendEvents(tx, events);
    });
    ctx.log.warn({ cluster: svc.cluster, service: name, deployment: primary.id, failures, rollback }, 'deployment failed (circuit breaker)');
  }
}

function healthChecked(spec: TaskDefinitionSpec): boolean {
  return spec.containerDefinitions.some((d) => d.essential !== false && !!d.healthCheck && d.healthCheck.command.length > 0 && d.healthCheck.command[0] !== 'NONE');
}

function taskView(t: TaskRecord): ServiceTaskView {
  return {
    id: t.id,
    deploymentId: t.startedBy,
    nodeId: t.nodeId,
    stopping: t.desiredStatus === 'STOPPED',
    lastStatus: t.lastStatus,
    health: taskHealthStatus(t.spec.containerDefinitions, t.containers),
    healthChecked: healthChecked(t.spec),
    startedAtMs: t.startedAt?.getTime() ?? null,
    createdAtMs: t.createdAt.getTime(),
  };
}

/** A task's view with its targets' health: unhealthy if either says so, healthy once both do. */
function withTargetHealth(v: ServiceTaskView, target: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | undefined, balanced: boolean): ServiceTaskView {
  if (!balanced) return v;
  const container = v.healthChecked ? v.health : 'HEALTHY';
  const t = target ?? 'UNKNOWN';
  const health = container === 'UNHEALTHY' || t === 'UNHEALTHY' ? 'UNHEALTHY' : container === 'HEALTHY' && t === 'HEALTHY' ? 'HEALTHY' : 'UNKNOWN';
  return { ...v, health, healthChecked: true };
}
