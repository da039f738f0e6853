import { createHash } from 'node:crypto';
import { CLUSTER_NAME_PATTERN, invalid, notFound, resourceId } from '@berth/domain';
import { accessKeysSealedWithOtherKey, deleteApiToken, insertApiToken, listApiTokens, resealAccessKey, type ApiRole, type ApiTokenRecord } from '@berth/store';
import type { AppContext } from './context.js';

/**
 * API credentials: made (printed once), listed, deleted. Two kinds:
 * - bearer tokens for the gRPC API: only a SHA-256 of the secret is kept; grpc/auth.ts checks them;
 * - AWS access keys for the ECS endpoint: SigV4 needs the secret itself to check a signature, so it
 *   is sealed with the secrets keyring (as secrets are); ecs-api/access-keys.ts checks them.
 */

export const ROLES: readonly ApiRole[] = ['admin', 'operator', 'viewer'];
export const TOKEN_PATTERN = /^berth_([0-9a-f]{16})_([0-9a-f]{32})$/;
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Access key ids: `BKIA` and 16 upper-case hex digits (20 characters, as AWS's). */
export const ACCESS_KEY_PATTERN = /^BKIA[0-9A-F]{16}$/;

/** What a sealed access key's ciphertext is bound to: a row copied under another id does not open. */
export const accessKeyAad = (id: string) => `aws-access-key:${id}`;

export async function createApiTokenOp(
  ctx: AppContext,
  input: { name: string; role: string; ttlSeconds?: number; cluster?: string; aws?: boolean },
): Promise<{ token: string; record: ApiTokenRecord; accessKeyId?: string; secretAccessKey?: string }> {
  if (!ROLES.includes(input.role as ApiRole)) throw invalid(`role: must be admin, operator or viewer, got ${JSON.stringify(input.role)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(input.name ?? '')) throw invalid(`name: must be 1-64 letters, digits or _.@- (who the token is for), got ${JSON.stringify((input.name ?? '').slice(0, 80))}`);
  if (input.ttlSeconds !== undefined && input.ttlSeconds !== 0 && (input.ttlSeconds < 60 || input.ttlSeconds > 10 * 365 * 86_400)) throw invalid('ttlSeconds: must be 60 s to 10 years, or 0 for no expiry');
  const hex = (n: number) => Buffer.from(ctx.random.bytes(n)).toString('hex');
  const cluster = input.cluster ? resourceId(input.cluster) : '*';
  if (cluster !== '*' && !CLUSTER_NAME_PATTERN.test(cluster)) throw invalid(`cluster: must be a cluster name, got ${JSON.stringify(input.cluster)}`);
  const expiresAt = input.ttlSeconds ? new Date(ctx.clock.now().getTime() + input.ttlSeconds * 1000) : null;
  if (input.aws) {
    if (!ctx.keyring) throw invalid('aws: access keys are sealed with the secrets keyring, and this control plane has none');
    const accessKeyId = `BKIA${hex(8).toUpperCase()}`;
    const secretAccessKey = Buffer.from(ctx.random.bytes(30)).toString('base64');
    const sealed = ctx.keyring.seal(Buffer.from(secretAccessKey), accessKeyAad(accessKeyId));
    const record = await insertApiToken(ctx.db.sql, { id: accessKeyId, kind: 'aws', secretHash: sha256(secretAccessKey), name: input.name, role: input.role as ApiRole, cluster, expiresAt, sealed });
    ctx.log.info({ accessKeyId, name: input.name, role: input.role }, 'AWS access key created');
    return { token: '', record, accessKeyId, secretAccessKey };
  }
  const id = hex(8);
  const secret = hex(16);
  const record = await insertApiToken(ctx.db.sql, {
    id,
    secretHash: sha256(secret),
    name: input.name,
    role: input.role as ApiRole,
    cluster,
    expiresAt,
  });
  ctx.log.info({ tokenId: id, name: input.name, role: input.role }, 'API token created');
  return { token: `berth_${id}_${secret}`, record };
}

export async function listApiTokensOp(ctx: AppContext): Promise<ApiTokenRecord[]> {
  return listApiTokens(ctx.db.sql);
}

export async function deleteApiTokenOp(ctx: AppContext, id: string): Promise<void> {
  if (!/^[0-9a-f]{16}$/.test(id) && !ACCESS_KEY_PATTERN.test(id)) {
    throw invalid(`id: must be an API token id (16 hex characters) or an access key id (BKIA...), got ${JSON.stringify((id ?? '').slice(0, 40))}`);
  }
  if (!(await deleteApiToken(ctx.db.sql, id))) throw notFound(`API token ${id} not found`);
  ctx.credentialsChanged?.(id);
}

/** After a key rotation: access keys sealed with an older key are sealed again with the first one. */
export async function resealAccessKeys(ctx: AppContext): Promise<number> {
  if (!ctx.keyring) return 0;
  let n = 0;
  for (const r of await accessKeysSealedWithOtherKey(ctx.db.sql, ctx.keyring.primaryId)) {
    const plain = ctx.keyring.open(r.sealed!, accessKeyAad(r.id));
    if (await resealAccessKey(ctx.db.sql, r.id, r.sealed!.keyId, ctx.keyring.seal(plain, accessKeyAad(r.id)))) n++;
  }
  return n;
}

