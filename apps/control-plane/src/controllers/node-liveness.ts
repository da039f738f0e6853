import { appendEvents, bumpGenerations, clusterContact, databaseUnavailableReason, findLostNodes, stopTasksOfNode, type LostNode } from '@berth/store';
import { BACKOFF_MAX_MS } from '@berth/transport';
import { status } from '@grpc/grpc-js';
import type { AppContext } from '../services/context.js';
import type { SessionRegistry } from '../sessions/session-registry.js';

/** Heartbeats a session may miss before its node counts as disconnected. */
export const MISSED_HEARTBEATS = 2;
export const LIVENESS_CHECK_INTERVAL_MS = 1_000;
/** How long a check waits for the disconnects it caused to be recorded before it goes on. */
export const DISCONNECT_WAIT_MS = 2_000;
/**
 * More than this share of a cluster's nodes out of contact at once (and at
 * least MASS_LOSS_MIN_NODES of them): nobody is judged lost, as Kubernetes
 * stops evicting when most of a zone looks unhealthy. The control plane's own
 * network is the likelier fault, and replacing most of a cluster onto the few
 * nodes left would only overload them.
 */
export const MASS_LOSS_SHARE = 0.5;
export const MASS_LOSS_MIN_NODES = 2;
/**
 * A node whose agent went away this recently counts as out of contact even
 * with nothing on it; one gone longer and never deregistered counts as neither.
 */
export const MASS_LOSS_RECENT_MS = 10 * 60_000;
/**
 * A connected agent silent for this many heartbeat intervals counts as out of
 * contact too: partitioned agents are marked disconnected over one heartbeat
 * interval (their heartbeats were spread over it), and the first of them reach
 * their grace before the last is marked.
 */
export const SUSPECT_AFTER_INTERVALS = 1.2;

export interface LivenessSettings {
  heartbeatIntervalMs: number;
  missedHeartbeats?: number;
  checkIntervalMs?: number;
  /** How long after this controller starts grace may begin (default BACKOFF_MAX_MS, the agents' longest reconnect wait). */
  startupAllowanceMs?: number;
}

/**
 * Node liveness, from the clock in the context:
 * connected -> disconnected (no heartbeat for MISSED_HEARTBEATS intervals: the
 * stream is closed, the agent reconnects if it can) -> lost (disconnected for
 * longer than the cluster's grace, default 10 s: its tasks become STOPPED with
 * NodeLost). A disconnected node's tasks are left alone until then. When a lost
 * node comes back, its desired set no longer has those tasks, so the agent
 * removes their containers: nothing runs twice.
 */
export class NodeLivenessController {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /**
   * Agents that lost the control plane back off up to BACKOFF_MAX_MS between
   * attempts: after a start of the control plane, a node's grace counts only
   * from when its agent could have tried again.
   */
  private graceFrom: Date;
  /** Why the last tick failed (the database away), while ticks fail. */
  private failing: string | undefined;
  /** Clusters whose node losses are held back now (one event when it starts, one when it ends). */
  private readonly held = new Set<string>();
  /**
   * When a hold ended, per cluster: the agents still away get the same allowance
   * as after a control-plane start before their grace counts, so the first half
   * reconnecting does not get the other half judged at once.
   */
  private readonly resumed = new Map<string, Date>();
  private readonly allowanceMs: number;

  constructor(
    private readonly ctx: AppContext,
    private readonly sessions: SessionRegistry,
    private readonly settings: LivenessSettings,
  ) {
    this.allowanceMs = settings.startupAllowanceMs ?? BACKOFF_MAX_MS;
    this.graceFrom = new Date(ctx.clock.now().getTime() + this.allowanceMs);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.settings.checkIntervalMs ?? LIVENESS_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One check; safe to call from tests with an injected clock. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = this.ctx.clock.now();
      const limit = (this.settings.missedHeartbeats ?? MISSED_HEARTBEATS) * this.settings.heartbeatIntervalMs;
      const closing = this.sessions
        .all()
        .filter((s) => s.registered && now.getTime() - s.lastHeartbeatAt > limit)
        .map((s) => s.fail(status.UNAVAILABLE, `no heartbeat for ${Math.round((now.getTime() - s.lastHeartbeatAt) / 1000)} s`, new Date(s.lastHeartbeatAt)));
      // Their disconnects recorded, so they are judged in this check; a slow write never holds the check up
      // for long (those are judged in a later one).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closing), new Promise((r) => (timer = setTimeout(r, DISCONNECT_WAIT_MS)))]);
      clearTimeout(timer);
      const lost = await findLostNodes(this.ctx.db.sql, now, this.graceFrom);
      if (this.failing !== undefined) {
        // The database was away: agents could not reconnect (a hello needs it) and backed off meanwhile.
        // As after a start, every node gets the reconnect allowance before its grace counts.
        this.graceFrom = new Date(Math.max(this.graceFrom.getTime(), now.getTime() + this.allowanceMs));
        this.ctx.log.info({ graceFrom: this.graceFrom }, 'liveness checks work again; nodes get the reconnect allowance before any is judged');
        this.failing = undefined;
        return;
      }
      const judged = await this.holdBackMassLoss(lost, now);
      const changed = new Set<string>();
      for (const node of judged) {
        const reason = `Node ${node.id} lost: no contact with its agent for more than ${node.graceSeconds} s`;
        const stopped = await this.ctx.db.sql.begin(async (tx) => {
          const ids = await stopTasksOfNode(tx, node.id, 'NodeLost', reason, now);
          await bumpGenerations(tx, [node.id]);
          await appendEvents(tx, [
            { cluster: node.cluster, kind: 'node.lost', subject: node.id, message: `${reason}; ${ids.length} task(s) marked STOPPED`, data: { tasks: ids } },
            ...ids.map((id) => ({ cluster: node.cluster, kind: 'task.status', subject: id, message: `task ${id} -> STOPPED (NodeLost)` })),
          ]);
          return ids as string[];
        });
        this.ctx.log.warn({ nodeId: node.id, tasks: stopped.length }, 'node lost; its tasks are marked STOPPED');
        changed.add(node.cluster);
      }
      // Services replace what ran there: told once per tick, however many nodes were lost.
      for (const cluster of changed) this.ctx.servicesChanged?.(cluster);
    } catch (err) {
      const unavailable = databaseUnavailableReason(err);
      if (!unavailable) this.ctx.log.error({ err }, 'liveness check failed; retrying on the next tick');
      else if (this.failing === undefined) this.ctx.log.warn({ reason: unavailable }, 'liveness checks wait for the database; no node is judged meanwhile');
      if (unavailable) this.failing = unavailable;
    } finally {
      this.ticking = false;
    }
  }

  /**
   * The nodes that may be judged lost now: none of a cluster where more than
   * MASS_LOSS_SHARE of the nodes are out of contact at once. An event says when
   * holding back starts (and why) and when it ends.
   */
  private async holdBackMassLoss(lost: LostNode[], now: Date): Promise<LostNode[]> {
    const clusters = [...new Set([...lost.map((n) => n.cluster), ...this.held])];
    const held = new Set<string>();
    const suspectAfter = this.settings.heartbeatIntervalMs * SUSPECT_AFTER_INTERVALS;
    const silent = new Map<string, number>();
    for (const s of this.sessions.all()) {
      if (s.registered && s.clusterName && now.getTime() - s.lastHeartbeatAt > suspectAfter) silent.set(s.clusterName, (silent.get(s.clusterName) ?? 0) + 1);
    }
    for (const contact of await clusterContact(this.ctx.db.sql, clusters, new Date(now.getTime() - MASS_LOSS_RECENT_MS))) {
      const quiet = Math.min(silent.get(contact.cluster) ?? 0, contact.inContact);
      const c = { ...contact, inContact: contact.inContact - quiet, outOfContact: contact.outOfContact + quiet };
      const total = c.inContact + c.outOfContact;
      const mass = c.outOfContact >= MASS_LOSS_MIN_NODES && c.outOfContact > total * MASS_LOSS_SHARE;
      if (mass) held.add(c.cluster);
      if (mass && !this.held.has(c.cluster)) {
        const message =
          `node loss held back: ${c.outOfContact} of ${total} nodes are out of contact at once (more than ${MASS_LOSS_SHARE * 100}%), ` +
          `which looks like the control plane's own network rather than the nodes; their tasks are not replaced until at most half are out of contact ` +
          `(a node that is really gone: berth node deregister ID --force)`;
        await appendEvents(this.ctx.db.sql, [{ cluster: c.cluster, kind: 'cluster.node-loss-held', subject: c.cluster, message, data: { ...c } }]);
        this.ctx.log.warn({ cluster: c.cluster, outOfContact: c.outOfContact, total }, 'node loss held back: most of the cluster is out of contact at once');
        this.held.add(c.cluster);
      }
    }
    for (const cluster of [...this.held]) {
      if (held.has(cluster)) continue;
      this.held.delete(cluster);
      this.resumed.set(cluster, now);
      const message = `node loss judged again: at most half of the nodes are out of contact; those still away are lost if they stay away ${Math.round(this.allowanceMs / 1000)} s more than the grace`;
      await appendEvents(this.ctx.db.sql, [{ cluster, kind: 'cluster.node-loss-resumed', subject: cluster, message }]);
      this.ctx.log.info({ cluster }, 'node loss judged again');
    }
    const waiting = (n: LostNode) => {
      const from = this.resumed.get(n.cluster);
      return from !== undefined && now.getTime() < from.getTime() + this.allowanceMs + n.graceSeconds * 1000;
    };
    for (const [cluster, from] of this.resumed) if (now.getTime() - from.getTime() > this.allowanceMs + 86_400_000) this.resumed.delete(cluster);
    return lost.filter((n) => !held.has(n.cluster) && !waiting(n));
  }
}
