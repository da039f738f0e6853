import type { NodeUsage } from '@berth/store';
import type { ReportedTaskStatus } from '../services/tasks.js';

/**
 * Reports kept per task: one per status in arrival order (a task goes through
 * at most this many states; an agent flapping between states cannot grow it).
 */
export const MAX_REPORTS_PER_TASK = 8;

/** What one write to the database takes from an agent session. */
export interface HeldBatch {
  /** Status reports in arrival order per task. */
  statuses: ReportedTaskStatus[];
  /** The newest desired-state generation acknowledged. */
  ack?: number;
  /** The node's latest usage, when one is due to be written. */
  usage?: { usage: NodeUsage; at: Date };
}

/**
 * An agent session's writes that wait for the database: task status reports,
 * its latest desired-state ack and its usage. Bounded however long the
 * database is away: per task, a report replaces the held one of the same
 * status (health, restart counts and exit codes are the newest; warnings are
 * kept), and a task keeps at most MAX_REPORTS_PER_TASK; one ack (the newest)
 * and one usage (the latest; dropped, not kept, when a write fails: usage is
 * for display). Pure: the session decides when to write and when to try again.
 */
export class HeldWrites {
  private statuses = new Map<string, ReportedTaskStatus[]>();
  private ack: number | undefined;
  private usage: HeldBatch['usage'];
  private reports = 0;

  /** Tasks with reports held. */
  get tasks(): number {
    return this.statuses.size;
  }

  /** Status reports held (over all tasks). */
  get size(): number {
    return this.reports;
  }

  get empty(): boolean {
    return this.reports === 0 && this.ack === undefined && this.usage === undefined;
  }

  addStatuses(reports: readonly ReportedTaskStatus[]): void {
    for (const r of reports) this.put(r);
  }

  setAck(generation: number): void {
    this.ack = Math.max(this.ack ?? generation, generation);
  }

  setUsage(usage: NodeUsage, at: Date): void {
    this.usage = { usage, at };
  }

  /** Everything held, for one write; what is held afterwards is newer. */
  take(): HeldBatch | undefined {
    if (this.empty) return undefined;
    const batch: HeldBatch = { statuses: [...this.statuses.values()].flat() };
    if (this.ack !== undefined) batch.ack = this.ack;
    if (this.usage) batch.usage = this.usage;
    this.statuses = new Map();
    this.reports = 0;
    this.ack = undefined;
    this.usage = undefined;
    return batch;
  }

  /**
   * A batch that could not be written goes back, before what arrived since
   * (which is newer). Its usage is dropped: the next heartbeat brings newer.
   */
  restore(batch: HeldBatch): void {
    const newer = this.statuses;
    this.statuses = new Map();
    this.reports = 0;
    for (const r of batch.statuses) this.put(r);
    for (const list of newer.values()) for (const r of list) this.put(r);
    if (batch.ack !== undefined) this.setAck(batch.ack);
  }

  private put(r: ReportedTaskStatus): void {
    const list = this.statuses.get(r.taskId);
    if (!list) {
      this.statuses.set(r.taskId, [r]);
      this.reports++;
      return;
    }
    const last = list[list.length - 1]!;
    if (last.lastStatus === r.lastStatus) {
      list[list.length - 1] = withWarnings(r, last.warnings);
      return;
    }
    list.push(r);
    this.reports++;
    if (list.length > MAX_REPORTS_PER_TASK) {
      // The oldest goes; its warnings (sent once by the agent) stay with the next one.
      const dropped = list.shift()!;
      list[0] = withWarnings(list[0]!, dropped.warnings);
      this.reports--;
    }
  }
}

/** `r` with `earlier` warnings kept in front of its own (each once). */
function withWarnings(r: ReportedTaskStatus, earlier: string[] | undefined): ReportedTaskStatus {
  if (!earlier || earlier.length === 0) return r;
  const warnings = [...new Set([...earlier, ...(r.warnings ?? [])])];
  return { ...r, warnings };
}
