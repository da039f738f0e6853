import { deregistrationDelaySeconds, proxySnapshotFor, stopHeldUntil, targetGroupByArn, type NodeProxySnapshot } from '@berth/domain';
import { bumpGenerations, deleteDrainedTargets, nextProxyVersion, proxyAcks, servicesWithLoadBalancers, type TaskRecord } from '@berth/store';
import type { AppContext, TrafficHooks } from '../services/context.js';
import { drainedEverywhere, readTrafficState, targetHealthOf, type TrafficState } from '../services/traffic-state.js';
import type { SessionRegistry } from '../sessions/session-registry.js';

/** Pacing, in one place. */
export const TRAFFIC_RESYNC_MS = 1_000;
/** Changes within this window are one sync. */
export const TRAFFIC_DEBOUNCE_MS = 10;

export interface TrafficControllerSettings {
  resyncMs?: number;
}

/**
 * Keeps every ingress node's proxy converged and every stopping task's targets drained before its
 * containers get SIGTERM. Level-triggered, as the other controllers: a change (an ELBv2 write, a task
 * status, a health report) or the periodic resync runs one sync, which re-reads the whole ELBv2 state,
 * builds each connected node's snapshot (pure: proxySnapshotFor) and sends it when it differs from the
 * last one sent, under a new version the agent acks. It also keeps, in memory, what the hot paths ask:
 * which stopping tasks are held running (their targets still draining) and each task's target health
 * (the service controller counts a task healthy once its targets are).
 */
export class TrafficController implements TrafficHooks {
  private readonly sent = new Map<string, { key: string; version: number }>();
  /** Task groups of services with load balancers -> the longest deregistration delay (ms). */
  private lbGroups = new Map<string, number>();
  private drained = new Set<string>();
  private held = new Map<string, string>();
  private taskHealth = new Map<string, 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'>();
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private lastState: TrafficState | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly sessions: SessionRegistry,
    private readonly settings: TrafficControllerSettings = {},
  ) {}

  start(): void {
    this.kick();
    this.resync = setInterval(() => this.kick(), this.settings.resyncMs ?? TRAFFIC_RESYNC_MS);
    this.resync.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resync);
    clearTimeout(this.timer);
  }

  /** Something traffic depends on changed: one sync soon. */
  kick(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, TRAFFIC_DEBOUNCE_MS);
    this.timer.unref();
  }

  /** A task status arrived: traffic cares only when some service has load balancers. */
  taskStatusChanged(): void {
    if (this.lbGroups.size > 0) this.kick();
  }

  /** A node's session (re)started: it gets its snapshot again. */
  sessionStarted(nodeId: string): void {
    this.sent.delete(nodeId);
    this.kick();
  }

  /** Resolves after the next sync has run (tests). */
  synced(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  /**
   * Whether a stopping task is still held running: a service's task with load balancers, RUNNING,
   * asked to stop less than its groups' deregistration delay ago and not yet drained on every proxy.
   */
  stopHeld(t: Pick<TaskRecord, 'id' | 'cluster' | 'group' | 'desiredStatus' | 'lastStatus' | 'stoppingAt'>): boolean {
    if (t.desiredStatus !== 'STOPPED' || t.lastStatus !== 'RUNNING' || !t.stoppingAt) return false;
    const delay = this.lbGroups.get(`${t.cluster}\u0000${t.group}`);
    if (delay === undefined) return false;
    if (this.ctx.clock.now().getTime() >= t.stoppingAt.getTime() + delay) return false;
    return !this.drained.has(t.id);
  }

  /** A task's target health across its target groups (undefined: the task has no targets). */
  targetHealth(taskId: string): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | undefined {
    return this.taskHealth.get(taskId);
  }

  state(): TrafficState | undefined {
    return this.lastState;
  }

  private async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.sync();
      } while (this.again && !this.stopped);
    } catch (err) {
      this.ctx.log.warn({ err }, 'traffic sync failed; trying again on the next change or resync');
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async sync(): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    await deleteDrainedTargets(ctx.db.sql, now);
    const state = await readTrafficState(ctx);
    this.lastState = state;

    // The hot-path caches.
    const groups = new Map<string, number>();
    for (const s of await servicesWithLoadBalancers(ctx.db.sql)) {
      const delays = s.loadBalancers.map((lb) => targetGroupByArn(state.targetGroups, lb.targetGroupArn)).filter((g) => g !== undefined).map((g) => deregistrationDelaySeconds(g) * 1000);
      if (delays.length > 0) groups.set(`${s.cluster}\u0000service:${s.name}`, Math.max(...delays));
    }
    this.lbGroups = groups;
    const drained = new Set<string>();
    const health = new Map<string, 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'>();
    const byTask = new Map<string, typeof state.targets>();
    for (const t of state.targets) if (t.taskId) byTask.set(t.taskId, [...(byTask.get(t.taskId) ?? []), t]);
    for (const [taskId, targets] of byTask) {
      if (stopHeldUntil(taskId, targets, (t) => drainedEverywhere(state, t)) === undefined && targets.some((t) => t.draining)) drained.add(taskId);
      const views = targets.filter((t) => !t.draining).map((t) => targetHealthOf(state, t));
      if (views.length === 0) continue;
      const states = views.map((v) => v.state);
      const now = states.includes('unhealthy') ? 'UNHEALTHY' : states.every((s) => s === 'healthy' || s === 'unused') ? 'HEALTHY' : 'UNKNOWN';
      // No proxy says anything about it right now (its proxy's agent reconnecting, a report in flight):
      // a task keeps the health it had. Taking it for not healthy would let a rolling update stop
      // every old task at once.
      const unreported = views.every((v) => v.reason === 'Elb.RegistrationInProgress');
      const before = this.taskHealth.get(taskId);
      health.set(taskId, now === 'UNKNOWN' && unreported && before !== undefined ? before : now);
    }
    this.drained = drained;
    const healthChanged = [...health].some(([id, h]) => this.taskHealth.get(id) !== h);
    this.taskHealth = health;

    // Stops no longer held go to their nodes now.
    const rows = await ctx.db.sql`SELECT id, cluster, task_group, desired_status, last_status, stopping_at, node_id FROM tasks WHERE desired_status = 'STOPPED' AND last_status = 'RUNNING'`;
    const heldNow = new Map<string, string>();
    for (const r of rows) {
      const t = { id: r.id as string, cluster: r.cluster as string, group: r.task_group as string, desiredStatus: 'STOPPED', lastStatus: 'RUNNING', stoppingAt: r.stopping_at as Date | null };
      if (this.stopHeld(t) && r.node_id) heldNow.set(t.id, r.node_id as string);
    }
    const released = [...this.held].filter(([id]) => !heldNow.has(id)).map(([, node]) => node);
    this.held = heldNow;
    if (released.length > 0) {
      // A new generation: the agent applies only a desired state newer than the one it has.
      const nodes = [...new Set(released)];
      await bumpGenerations(ctx.db.sql, nodes);
      ctx.nodesChanged(nodes);
    }
    if (healthChanged) {
      for (const k of groups.keys()) {
        const [cluster, group] = k.split('\u0000') as [string, string];
        ctx.servicesChanged?.(cluster, [group.replace(/^service:/, '')]);
      }
    }

    // Snapshots.
    const acks = await proxyAcks(ctx.db.sql);
    for (const session of this.sessions.all()) {
      const nodeId = session.nodeId;
      const node = nodeId ? state.nodes.get(nodeId) : undefined;
      if (!nodeId || !node) continue;
      const snap: NodeProxySnapshot = proxySnapshotFor(node, state);
      const key = JSON.stringify(snap);
      const last = this.sent.get(nodeId);
      if (last?.key === key) continue;
      // A node that never served a load balancer is not sent an empty snapshot.
      if (!last && snap.frontends.length === 0 && (acks.get(nodeId)?.version ?? 0) === 0) {
        this.sent.set(nodeId, { key, version: 0 });
        continue;
      }
      const version = await nextProxyVersion(ctx.db.sql);
      this.sent.set(nodeId, { key, version });
      session.sendProxySnapshot({ version, ...snap });
      ctx.log.debug({ nodeId, version, frontends: snap.frontends.length, backends: snap.backends.length }, 'proxy snapshot sent');
    }
  }
}
