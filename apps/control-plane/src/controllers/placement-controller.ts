import type { ScheduleRequest } from '@berth/scheduler';
import { appendEvents, assignTasks, bumpGenerations, clustersWithUnplacedTasks, setPlacementReason, unplacedTasks, updateTask, type TaskRecord } from '@berth/store';
import type { AppContext } from '../services/context.js';
import { placeTasks } from '../services/placement.js';
import { placedEvent } from '../services/tasks.js';

/** Pacing, in one place. */
export const PLACEMENT_RESYNC_MS = 2_000;
/** ECS stops a task that stays PROVISIONING this long (capacity providers: 30 minutes). */
export const PROVISIONING_TIMEOUT_MS = 30 * 60_000;
/** Tasks looked at per cluster per pass (oldest first). */
export const PLACEMENT_PASS_LIMIT = 1_000;

export interface PlacementSettings {
  resyncMs?: number;
  provisioningTimeoutMs?: number;
}

/**
 * Places PROVISIONING tasks when capacity appears (a node joins, is activated,
 * or a task stops), level-triggered: every pass re-reads what waits and
 * schedules it on a fresh snapshot; `trigger()` asks for a pass soon, and a
 * timer makes one every couple of seconds anyway. A task keeps its reason up
 * to date (an event when it changes) and is stopped after the timeout.
 */
export class PlacementController {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly settings: PlacementSettings = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => this.trigger(), this.settings.resyncMs ?? PLACEMENT_RESYNC_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } catch (err) {
        this.ctx.log.error({ err }, 'placement pass failed; retrying on the next one');
      } finally {
        this.running = false;
      }
    })();
  }

  /** One pass over every cluster with waiting tasks; resolves when done (tests call it directly). */
  async pass(): Promise<void> {
    for (const cluster of await clustersWithUnplacedTasks(this.ctx.db.sql)) await this.syncCluster(cluster);
  }

  private async syncCluster(cluster: string): Promise<void> {
    const now = this.ctx.clock.now();
    const waiting = await unplacedTasks(this.ctx.db.sql, cluster, PLACEMENT_PASS_LIMIT);
    const timeout = this.settings.provisioningTimeoutMs ?? PROVISIONING_TIMEOUT_MS;
    const isExpired = (t: TaskRecord) => now.getTime() - t.createdAt.getTime() > timeout;
    const expired = waiting.filter(isExpired);
    if (expired.length > 0) await this.expire(cluster, expired, timeout);
    // Tasks that ask for the same thing are scheduled together, in arrival order.
    const groups = new Map<string, TaskRecord[]>();
    for (const t of waiting) {
      if (isExpired(t)) continue;
      const key = JSON.stringify([t.group, t.cpu, t.memory, t.hostPorts, t.placement]);
      const list = groups.get(key);
      if (list) list.push(t);
      else groups.set(key, [t]);
    }
    const touched = new Set<string>();
    for (const tasks of groups.values()) {
      const first = tasks[0]!;
      const req: ScheduleRequest = {
        count: tasks.length,
        demand: { cpu: first.cpu, memoryMib: first.memory, hostPorts: first.hostPorts },
        group: first.group,
        constraints: (first.placement.constraints ?? []) as ScheduleRequest['constraints'],
        strategy: (first.placement.strategy ?? []) as ScheduleRequest['strategy'],
      };
      let next = 0;
      const result = await placeTasks(this.ctx, cluster, req, async (tx, nodeIds) => {
        const pairs = nodeIds.map((nodeId) => ({ id: tasks[next++]!.id, nodeId }));
        const moved = await assignTasks(tx, pairs);
        const done = pairs.filter((p) => moved.has(p.id));
        await bumpGenerations(tx, [...new Set(done.map((p) => p.nodeId))]);
        const byId = new Map(tasks.map((t) => [t.id, t]));
        await appendEvents(tx, done.map((p) => placedEvent({ ...byId.get(p.id)!, nodeId: p.nodeId })));
        return done;
      });
      for (const p of result.committed) touched.add(p.nodeId);
      if (result.committed.length > 0) this.ctx.log.info({ cluster, placed: result.committed.length }, 'provisioning tasks placed');
      const left = tasks.slice(next).map((t) => t.id);
      if (left.length > 0 && result.unplacedReason) {
        const reason = result.unplacedReason;
        await this.ctx.db.sql.begin(async (tx) => {
          const changed = await setPlacementReason(tx, left, reason);
          await appendEvents(tx, changed.map((id) => ({ cluster, kind: 'task.provisioning', subject: id, message: `task ${id} waits for a node: ${reason}`, data: { reason: result.unplacedFailureReason } })));
        });
      }
    }
    if (touched.size > 0) this.ctx.nodesChanged([...touched]);
  }

  private async expire(cluster: string, tasks: TaskRecord[], timeoutMs: number): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.db.sql.begin(async (tx) => {
      for (const t of tasks) {
        const reason = `no node could take the task within ${Math.round(timeoutMs / 60_000)} min: ${t.placementReason || 'no capacity'}`;
        await updateTask(tx, t.id, { desiredStatus: 'STOPPED', lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart', stoppedReason: reason, stoppingAt: now, stoppedAt: now });
      }
      await appendEvents(tx, tasks.map((t) => ({ cluster, kind: 'task.status', subject: t.id, message: `task ${t.id} PROVISIONING -> STOPPED (TaskFailedToStart): no node within the time allowed` })));
    });
  }
}
