import type { Queryable } from './database.js';

export type ApiRole = 'admin' | 'operator' | 'viewer';

export interface ApiTokenRecord {
  id: string;
  secretHash: string;
  name: string;
  role: ApiRole;
  /** The cluster the token may act on; '*' for every cluster. */
  cluster: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toToken = (r: any): ApiTokenRecord => ({ id: r.id, secretHash: r.secret_hash, name: r.name, role: r.role, cluster: r.cluster, createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at });

export async function insertApiToken(q: Queryable, t: Omit<ApiTokenRecord, 'createdAt' | 'lastUsedAt'>): Promise<ApiTokenRecord> {
  const [r] = await q`INSERT INTO api_tokens (id, secret_hash, name, role, cluster, expires_at) VALUES (${t.id}, ${t.secretHash}, ${t.name}, ${t.role}, ${t.cluster}, ${t.expiresAt}) RETURNING *`;
  return toToken(r);
}

export async function getApiToken(q: Queryable, id: string): Promise<ApiTokenRecord | undefined> {
  const [r] = await q`SELECT * FROM api_tokens WHERE id = ${id}`;
  return r ? toToken(r) : undefined;
}

export async function listApiTokens(q: Queryable): Promise<ApiTokenRecord[]> {
  return (await q`SELECT * FROM api_tokens ORDER BY created_at`).map(toToken);
}

export async function deleteApiToken(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM api_tokens WHERE id = ${id} RETURNING id`).length === 1;
}

export async function countApiTokens(q: Queryable): Promise<number> {
  const [r] = await q`SELECT count(*)::int AS n FROM api_tokens`;
  return r!.n as number;
}

export async function touchApiToken(q: Queryable, id: string, at: Date): Promise<void> {
  await q`UPDATE api_tokens SET last_used_at = ${at} WHERE id = ${id}`;
}
