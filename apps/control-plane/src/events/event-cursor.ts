/**
 * Where an event reader stands in the log, and which of the events it just read
 * are safe to hand out.
 *
 * Event ids come from one sequence, and a transaction that took id 10 may
 * commit after another that took id 11. A reader that moved past 11 at once
 * would never see 10. So the cursor hands out events only while ids are
 * contiguous; at a gap it waits until the event after the gap is older than
 * `gapWaitMs` (then the gap is an id that was rolled back or pruned, not one
 * still in flight, since events are written last in their transactions).
 * Event ids are global across clusters, so the reader reads every cluster's
 * events and filters afterwards; gaps are then only rollbacks and pruning.
 */
export interface LoggedEvent {
  id: number;
  /** How long ago the event was recorded, by the database's clock. */
  ageMs: number;
}

export const DEFAULT_GAP_WAIT_MS = 3_000;

export class EventCursor {
  constructor(
    private at: number,
    private readonly gapWaitMs = DEFAULT_GAP_WAIT_MS,
  ) {}

  /** The id of the last event handed out (or the starting point). */
  get position(): number {
    return this.at;
  }

  /**
   * Takes events with ids above the position, in id order, and returns the
   * prefix that is safe to hand out; the position moves past them. What is
   * held back is read again next time.
   */
  accept<T extends LoggedEvent>(events: readonly T[]): T[] {
    const out: T[] = [];
    for (const e of events) {
      if (e.id <= this.at) continue;
      if (e.id !== this.at + 1 && e.ageMs < this.gapWaitMs) break;
      out.push(e);
      this.at = e.id;
    }
    return out;
  }
}
