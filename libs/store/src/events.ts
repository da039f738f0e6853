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
  const rows = events.map((e) => ({ cluster: e.cluster, kind: e.kind, subject: e.subject, message: e.message, data: q.json((e.data ?? {}) as never) }));
  await q`INSERT INTO events ${q(rows)}`;
}

export async function listEvents(q: Queryable, cluster: string, afterId: number, limit: number): Promise<EventRecord[]> {
  const rows = await q`SELECT * FROM events WHERE cluster = ${cluster} AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({ id: r.id, at: r.at, cluster: r.cluster, kind: r.kind, subject: r.subject, message: r.message, data: r.data }));
}

/** Deletes up to `limit` events older than `before`; returns how many. */
export async function pruneEvents(q: Queryable, before: Date, limit: number): Promise<number> {
  const rows = await q`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ${before} ORDER BY id LIMIT ${limit}) RETURNING id`;
  return rows.length;
}
