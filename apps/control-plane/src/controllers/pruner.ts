import { pruneEvents, pruneStoppedTasks } from '@berth/store';
import type { AppContext } from '../services/context.js';

/** ECS shows stopped tasks for about an hour. */
export const DEFAULT_TASK_RETENTION_MS = 60 * 60_000;
export const DEFAULT_EVENT_RETENTION_MS = 24 * 60 * 60_000;
export const PRUNE_INTERVAL_MS = 60_000;
/** Rows deleted per statement, so one pass never holds long locks. */
const PRUNE_BATCH = 5_000;

export interface RetentionSettings {
  taskRetentionMs: number;
  eventRetentionMs: number;
}

/** Deletes stopped tasks and events past their retention, in bounded batches. */
export class Pruner {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly settings: RetentionSettings,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.prune().catch((err) => this.ctx.log.error({ err }, 'pruning failed; retrying later')), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<{ tasks: number; events: number }> {
    const now = this.ctx.clock.now().getTime();
    let tasks = 0;
    let events = 0;
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH; tasks += n) n = await pruneStoppedTasks(this.ctx.db.sql, new Date(now - this.settings.taskRetentionMs), PRUNE_BATCH);
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH; events += n) n = await pruneEvents(this.ctx.db.sql, new Date(now - this.settings.eventRetentionMs), PRUNE_BATCH);
    if (tasks + events > 0) this.ctx.log.info({ tasks, events }, 'pruned stopped tasks and old events');
    return { tasks, events };
  }
}
