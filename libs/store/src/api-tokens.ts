import type { Queryable } from './database.js';

export type ApiRole = 'admin' | 'operator' | 'viewer';

/** 'token': a bearer token for the gRPC API; 'aws': an access key for the ECS endpoint (SigV4). */
export type ApiCredentialKind = 'token' | 'aws';

/** An AWS secret access key as stored: sealed with the secrets keyring, never plain. */
export interface SealedAccessSecret {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

export interface ApiTokenRecord {
  id: string;
  kind: ApiCredentialKind;
  secretHash: string;
  name: string;
  role: ApiRole;
  /** The cluster the token may act on; '*' for every cluster. */
  cluster: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  /** kind 'aws' only: the secret access key, sealed (SigV4 needs it to check a signature). */
  sealed?: SealedAccessSecret;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toToken = (r: any): ApiTokenRecord => ({
  id: r.id,
  kind: r.kind ?? 'token',
  secretHash: r.secret_hash,
  name: r.name,
  role: r.role,
  cluster: r.cluster,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  ...(r.sealed_secret ? { sealed: { keyId: r.sealed_key_id, nonce: Buffer.from(r.sealed_nonce), ciphertext: Buffer.from(r.sealed_secret) } } : {}),
});

export async function insertApiToken(q: Queryable, t: Omit<ApiTokenRecord, 'createdAt' | 'lastUsedAt' | 'kind'> & { kind?: ApiCredentialKind }): Promise<ApiTokenRecord> {
  const [r] = await q`
    INSERT INTO api_tokens (id, kind, secret_hash, name, role, cluster, expires_at, sealed_key_id, sealed_nonce, sealed_secret)
    VALUES (${t.id}, ${t.kind ?? 'token'}, ${t.secretHash}, ${t.name}, ${t.role}, ${t.cluster}, ${t.expiresAt},
      ${t.sealed?.keyId ?? null}, ${t.sealed?.nonce ?? null}, ${t.sealed?.ciphertext ?? null})
    RETURNING *`;
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

/** Bearer tokens only: access keys do not open the gRPC API, so they do not count for the bootstrap token. */
export async function countApiTokens(q: Queryable): Promise<number> {
  const [r] = await q`SELECT count(*)::int AS n FROM api_tokens WHERE kind = 'token'`;
  return r!.n as number;
}

export async function touchApiToken(q: Queryable, id: string, at: Date): Promise<void> {
  await q`UPDATE api_tokens SET last_used_at = ${at} WHERE id = ${id}`;
}

/** Access keys sealed with a key other than `keyId` (re-sealed after a key rotation). */
export async function accessKeysSealedWithOtherKey(q: Queryable, keyId: string): Promise<ApiTokenRecord[]> {
  return (await q`SELECT * FROM api_tokens WHERE kind = 'aws' AND sealed_key_id <> ${keyId}`).map(toToken);
}

export async function resealAccessKey(q: Queryable, id: string, fromKeyId: string, s: SealedAccessSecret): Promise<boolean> {
  const rows = await q`
    UPDATE api_tokens SET sealed_key_id = ${s.keyId}, sealed_nonce = ${s.nonce}, sealed_secret = ${s.ciphertext}
    WHERE id = ${id} AND sealed_key_id = ${fromKeyId} RETURNING id`;
  return rows.length === 1;
}
