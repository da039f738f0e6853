import { invalid } from '@berth/domain';
import { idBeforeLastEvents, readEventLog, type EventRecord } from '@berth/store';
import { requireCluster } from '../services/clusters.js';
import type { AppContext } from '../services/context.js';
import { DEFAULT_GAP_WAIT_MS, EventCursor } from './event-cursor.js';

export interface WatchEventsInput {
  cluster?: string;
  afterId?: number;
  last?: number;
  follow?: boolean;
}

export interface WatchSettings {
  /** How often a follower looks for new events. */
  pollIntervalMs: number;
  /** Rows read per query. */
  pageSize: number;
  gapWaitMs: number;
}

export const DEFAULT_WATCH_SETTINGS: WatchSettings = { pollIntervalMs: 250, pageSize: 500, gapWaitMs: DEFAULT_GAP_WAIT_MS };

/** At most this many of the newest events on a `last` request. */
export const MAX_LAST_EVENTS = 10_000;

/**
 * Streams a cluster's events in id order to `send` (which resolves when the
 * receiver can take more), from after `afterId` or from the newest `last`.
 * Without follow it ends once it has sent what is recorded; with follow it
 * polls until `signal` aborts. Polling, not LISTEN/NOTIFY, so it behaves the
 * same on PGlite and with several control planes writing.
 */
export async function watchEvents(
  ctx: AppContext,
  input: WatchEventsInput,
  send: (e: EventRecord) => Promise<void>,
  signal: AbortSignal,
  settings: WatchSettings = DEFAULT_WATCH_SETTINGS,
): Promise<void> {
  const cluster = await requireCluster(ctx, input.cluster);
  const afterId = input.afterId ?? 0;
  const last = input.last ?? 0;
  if (!Number.isSafeInteger(afterId) || afterId < 0) throw invalid(`afterId: must be a non-negative integer, got ${input.afterId}`);
  if (last > MAX_LAST_EVENTS) throw invalid(`last: must be at most ${MAX_LAST_EVENTS}, got ${last}`);
  if (afterId > 0 && last > 0) throw invalid('last: give either afterId or last, not both');
  const start = afterId > 0 ? afterId : await idBeforeLastEvents(ctx.db.sql, cluster, last);
  // A one-shot read hands out what is there; a follower waits at gaps (see EventCursor).
  const cursor = new EventCursor(start, input.follow ? settings.gapWaitMs : 0);

  while (!signal.aborted) {
    const rows = await readEventLog(ctx.db.sql, cursor.position, settings.pageSize);
    const ready = cursor.accept(rows);
    for (const e of ready) {
      if (signal.aborted) return;
      if (e.cluster === cluster) await send(e);
    }
    const more = rows.length === settings.pageSize && ready.length > 0;
    if (more) continue;
    if (!input.follow) return;
    await sleep(settings.pollIntervalMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
