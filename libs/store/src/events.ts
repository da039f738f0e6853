import type { Queryable } from './database.js';

export interface EventRecord {
  id: number;
  at: Date;
  cluster: string;
  kind: string;
  subject: string;
  message: string;
  data: Record<string, unknown>;
}

export interface NewEvent {
  cluster: string;
  /** e.g. task.status, node.connected, node.disconnected */
  kind: string;
  /** The id of the task or node it is about. */
  subject: string;
  message: string;
  data?: Record<string, unknown>;
}

export async function appendEvents(q: Queryable, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  // Five arrays rather than five parameters per event: a batch of status reports writes hundreds at once.
  await q`
    INSERT INTO events (cluster, kind, subject, message, data)
    SELECT * FROM unnest(
      ${events.map((e) => e.cluster)}::text[], ${events.map((e) => e.kind)}::text[], ${events.map((e) => e.subject)}::text[],
      ${events.map((e) => e.message)}::text[], ${events.map((e) => JSON.stringify(e.data ?? {}))}::text[]::jsonb[])`;
}

export async function listEvents(q: Queryable, cluster: string, afterId: number, limit: number): Promise<EventRecord[]> {
  const rows = await q`SELECT * FROM events WHERE cluster = ${cluster} AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({ id: Number(r.id), at: r.at, cluster: r.cluster, kind: r.kind, subject: r.subject, message: r.message, data: r.data }));
}

export interface LogEventRecord extends EventRecord {
  /** Milliseconds since it was written, by the database's clock. */
  ageMs: number;
}

/** Events of every cluster after an id, in id order, each with its age (for readers that follow the log). */
export async function readEventLog(q: Queryable, afterId: number, limit: number): Promise<LogEventRecord[]> {
  const rows = await q`
    SELECT *, (extract(epoch FROM clock_timestamp() - at) * 1000)::float8 AS age_ms
    FROM events WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({ id: Number(r.id), at: r.at, cluster: r.cluster, kind: r.kind, subject: r.subject, message: r.message, data: r.data, ageMs: Number(r.age_ms) }));
}

/** The id after which the newest `last` events of the cluster follow (0 when there are fewer). */
export async function idBeforeLastEvents(q: Queryable, cluster: string, last: number): Promise<number> {
  if (last <= 0) return 0;
  const [r] = await q`SELECT id FROM events WHERE cluster = ${cluster} ORDER BY id DESC OFFSET ${last} LIMIT 1`;
  return r ? Number(r.id) : 0;
}

/** Deletes up to `limit` events older than `before`; returns how many. */
export async function pruneEvents(q: Queryable, before: Date, limit: number): Promise<number> {
  const rows = await q`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ${before} ORDER BY id LIMIT ${limit}) RETURNING id`;
  return rows.length;
}
