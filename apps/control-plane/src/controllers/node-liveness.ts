import { appendEvents, bumpGenerations, findLostNodes, stopTasksOfNode } from '@berth/store';
import { BACKOFF_MAX_MS } from '@berth/transport';
import { status } from '@grpc/grpc-js';
import type { AppContext } from '../services/context.js';
import type { SessionRegistry } from '../sessions/session-registry.js';

/** Heartbeats a session may miss before its node counts as disconnected. */
export const MISSED_HEARTBEATS = 3;
export const LIVENESS_CHECK_INTERVAL_MS = 1_000;

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
 * longer than the cluster's grace, default 30 s: its tasks become STOPPED with
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
  private readonly graceFrom: Date;

  constructor(
    private readonly ctx: AppContext,
    private readonly sessions: SessionRegistry,
    private readonly settings: LivenessSettings,
  ) {
    this.graceFrom = new Date(ctx.clock.now().getTime() + (settings.startupAllowanceMs ?? BACKOFF_MAX_MS));
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
      await Promise.all(
        this.sessions
          .all()
          .filter((s) => s.registered && now.getTime() - s.lastHeartbeatAt > limit)
          .map((s) => s.fail(status.UNAVAILABLE, `no heartbeat for ${Math.round((now.getTime() - s.lastHeartbeatAt) / 1000)} s`)),
      );
      for (const node of await findLostNodes(this.ctx.db.sql, now, this.graceFrom)) {
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
        // Services replace what ran there.
        this.ctx.servicesChanged?.(node.cluster);
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'liveness check failed; retrying on the next tick');
    } finally {
      this.ticking = false;
    }
  }
}
