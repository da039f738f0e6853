import type { Queryable } from './database.js';

export interface JoinTokenRecord {
  id: string;
  secretHash: string;
  cluster: string;
  /** null: any number of joins until it expires. */
  usesLeft: number | null;
  labels: Record<string, string>;
  expiresAt: Date;
  createdAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toToken = (r: any): JoinTokenRecord => ({ id: r.id, secretHash: r.secret_hash, cluster: r.cluster, usesLeft: r.uses_left, labels: r.labels, expiresAt: r.expires_at, createdAt: r.created_at });

export async function insertJoinToken(q: Queryable, t: Omit<JoinTokenRecord, 'createdAt'>): Promise<JoinTokenRecord> {
  const [r] = await q`
    INSERT INTO join_tokens (id, secret_hash, cluster, uses_left, labels, expires_at)
    VALUES (${t.id}, ${t.secretHash}, ${t.cluster}, ${t.usesLeft}, ${q.json(t.labels)}, ${t.expiresAt})
    RETURNING *`;
  return toToken(r);
}

export async function getJoinTokenForUpdate(q: Queryable, id: string): Promise<JoinTokenRecord | undefined> {
  const [r] = await q`SELECT * FROM join_tokens WHERE id = ${id} FOR UPDATE`;
  return r ? toToken(r) : undefined;
}

/** One use taken; a token with none left is deleted. */
export async function useJoinToken(q: Queryable, id: string): Promise<void> {
  await q`UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = ${id} AND uses_left IS NOT NULL`;
  await q`DELETE FROM join_tokens WHERE id = ${id} AND uses_left IS NOT NULL AND uses_left <= 0`;
}

export async function listJoinTokens(q: Queryable): Promise<JoinTokenRecord[]> {
  const rows = await q`SELECT * FROM join_tokens ORDER BY created_at`;
  return rows.map(toToken);
}

export async function deleteJoinToken(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM join_tokens WHERE id = ${id} RETURNING id`).length === 1;
}

export async function pruneJoinTokens(q: Queryable, now: Date): Promise<number> {
  return (await q`DELETE FROM join_tokens WHERE expires_at < ${now} RETURNING id`).length;
}

export interface NodeCertificateRecord {
  serial: string;
  nodeId: string;
  cluster: string;
  labels: Record<string, string>;
  notAfter: Date;
  revokedAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toCert = (r: any): NodeCertificateRecord => ({ serial: r.serial, nodeId: r.node_id, cluster: r.cluster, labels: r.labels, notAfter: r.not_after, revokedAt: r.revoked_at });

export async function insertNodeCertificate(q: Queryable, c: Omit<NodeCertificateRecord, 'revokedAt'>): Promise<void> {
  await q`INSERT INTO node_certificates (serial, node_id, cluster, labels, not_after) VALUES (${c.serial}, ${c.nodeId}, ${c.cluster}, ${q.json(c.labels)}, ${c.notAfter})`;
}

export async function getNodeCertificate(q: Queryable, serial: string): Promise<NodeCertificateRecord | undefined> {
  const [r] = await q`SELECT * FROM node_certificates WHERE serial = ${serial}`;
  return r ? toCert(r) : undefined;
}

/** Revokes every certificate of a node; returns how many. */
export async function revokeNodeCertificates(q: Queryable, nodeId: string, at: Date): Promise<number> {
  return (await q`UPDATE node_certificates SET revoked_at = ${at} WHERE node_id = ${nodeId} AND revoked_at IS NULL RETURNING serial`).length;
}
