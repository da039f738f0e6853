import type { Queryable } from './database.js';

/** A secret version as stored: sealed, never plain. */
export interface SealedSecretRecord {
  name: string;
  version: number;
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  createdAt: Date;
}

export interface SecretSummary {
  name: string;
  latestVersion: number;
  versions: number;
  createdAt: Date;
  updatedAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toSealed = (r: any): SealedSecretRecord => ({ name: r.name, version: r.version, keyId: r.key_id, nonce: r.nonce, ciphertext: r.ciphertext, createdAt: r.created_at });

/** The next version number of a secret (1 for a new one); the caller inserts it (a race loses on the primary key). */
export async function nextSecretVersion(q: Queryable, name: string): Promise<number> {
  const [r] = await q`SELECT coalesce(max(version), 0)::int + 1 AS v FROM secrets WHERE name = ${name}`;
  return r!.v as number;
}

export async function insertSecretVersion(q: Queryable, s: Omit<SealedSecretRecord, 'createdAt'>): Promise<boolean> {
  const rows = await q`
    INSERT INTO secrets (name, version, key_id, nonce, ciphertext)
    VALUES (${s.name}, ${s.version}, ${s.keyId}, ${s.nonce}, ${s.ciphertext})
    ON CONFLICT (name, version) DO NOTHING RETURNING name`;
  return rows.length === 1;
}

/** One version (the latest when none is named). */
export async function getSealedSecret(q: Queryable, name: string, version?: number): Promise<SealedSecretRecord | undefined> {
  const [r] =
    version === undefined
      ? await q`SELECT * FROM secrets WHERE name = ${name} ORDER BY version DESC LIMIT 1`
      : await q`SELECT * FROM secrets WHERE name = ${name} AND version = ${version}`;
  return r ? toSealed(r) : undefined;
}

/** Names, versions and times (never values), in name order. */
export async function listSecrets(q: Queryable, o: { prefix?: string; after?: string; limit: number }): Promise<SecretSummary[]> {
  const rows = await q`
    SELECT name, max(version)::int AS latest, count(*)::int AS versions, min(created_at) AS created_at, max(created_at) AS updated_at
    FROM secrets
    WHERE true
      ${o.prefix ? q`AND starts_with(name, ${o.prefix})` : q``}
      ${o.after ? q`AND name > ${o.after}` : q``}
    GROUP BY name ORDER BY name LIMIT ${o.limit}`;
  return rows.map((r) => ({ name: r.name as string, latestVersion: r.latest as number, versions: r.versions as number, createdAt: r.created_at as Date, updatedAt: r.updated_at as Date }));
}

/** Deletes every version; returns how many there were. */
export async function deleteSecret(q: Queryable, name: string): Promise<number> {
  const rows = await q`DELETE FROM secrets WHERE name = ${name} RETURNING version`;
  return rows.length;
}

/** Versions sealed with a key other than `keyId` (to re-seal after a key rotation), a batch at a time. */
export async function secretsSealedWithOtherKeys(q: Queryable, keyId: string, limit: number): Promise<SealedSecretRecord[]> {
  const rows = await q`SELECT * FROM secrets WHERE key_id <> ${keyId} ORDER BY name, version LIMIT ${limit}`;
  return rows.map(toSealed);
}

export async function resealSecret(q: Queryable, s: Omit<SealedSecretRecord, 'createdAt'>, fromKeyId: string): Promise<boolean> {
  const rows = await q`
    UPDATE secrets SET key_id = ${s.keyId}, nonce = ${s.nonce}, ciphertext = ${s.ciphertext}
    WHERE name = ${s.name} AND version = ${s.version} AND key_id = ${fromKeyId} RETURNING name`;
  return rows.length === 1;
}

export interface RoleRecord {
  name: string;
  /** Secret names, `prefix*`, or `*`. */
  secrets: string[];
  createdAt: Date;
  updatedAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toRole = (r: any): RoleRecord => ({ name: r.name, secrets: r.secrets, createdAt: r.created_at, updatedAt: r.updated_at });

export async function putRole(q: Queryable, name: string, secrets: string[]): Promise<RoleRecord> {
  const [r] = await q`
    INSERT INTO roles (name, secrets) VALUES (${name}, ${q.array(secrets)})
    ON CONFLICT (name) DO UPDATE SET secrets = excluded.secrets, updated_at = now()
    RETURNING *`;
  return toRole(r);
}

export async function getRole(q: Queryable, name: string): Promise<RoleRecord | undefined> {
  const [r] = await q`SELECT * FROM roles WHERE name = ${name}`;
  return r ? toRole(r) : undefined;
}

export async function listRoles(q: Queryable): Promise<RoleRecord[]> {
  const rows = await q`SELECT * FROM roles ORDER BY name`;
  return rows.map(toRole);
}

export async function deleteRole(q: Queryable, name: string): Promise<boolean> {
  const rows = await q`DELETE FROM roles WHERE name = ${name} RETURNING name`;
  return rows.length === 1;
}
