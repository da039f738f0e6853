import { createHash } from 'node:crypto';
import { CLUSTER_NAME_PATTERN, invalid, notFound, resourceId } from '@berth/domain';
import { deleteApiToken, insertApiToken, listApiTokens, type ApiRole, type ApiTokenRecord } from '@berth/store';
import type { AppContext } from './context.js';

/** API tokens: made (printed once), listed, deleted. Only a SHA-256 of the secret is kept; grpc/auth.ts checks them. */

export const ROLES: readonly ApiRole[] = ['admin', 'operator', 'viewer'];
export const TOKEN_PATTERN = /^berth_([0-9a-f]{16})_([0-9a-f]{32})$/;
export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function createApiTokenOp(ctx: AppContext, input: { name: string; role: string; ttlSeconds?: number; cluster?: string }): Promise<{ token: string; record: ApiTokenRecord }> {
  if (!ROLES.includes(input.role as ApiRole)) throw invalid(`role: must be admin, operator or viewer, got ${JSON.stringify(input.role)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(input.name ?? '')) throw invalid(`name: must be 1-64 letters, digits or _.@- (who the token is for), got ${JSON.stringify((input.name ?? '').slice(0, 80))}`);
  if (input.ttlSeconds !== undefined && input.ttlSeconds !== 0 && (input.ttlSeconds < 60 || input.ttlSeconds > 10 * 365 * 86_400)) throw invalid('ttlSeconds: must be 60 s to 10 years, or 0 for no expiry');
  const hex = (n: number) => Buffer.from(ctx.random.bytes(n)).toString('hex');
  const id = hex(8);
  const secret = hex(16);
  const cluster = input.cluster ? resourceId(input.cluster) : '*';
  if (cluster !== '*' && !CLUSTER_NAME_PATTERN.test(cluster)) throw invalid(`cluster: must be a cluster name, got ${JSON.stringify(input.cluster)}`);
  const record = await insertApiToken(ctx.db.sql, {
    id,
    secretHash: sha256(secret),
    name: input.name,
    role: input.role as ApiRole,
    cluster,
    expiresAt: input.ttlSeconds ? new Date(ctx.clock.now().getTime() + input.ttlSeconds * 1000) : null,
  });
  ctx.log.info({ tokenId: id, name: input.name, role: input.role }, 'API token created');
  return { token: `berth_${id}_${secret}`, record };
}

export async function listApiTokensOp(ctx: AppContext): Promise<ApiTokenRecord[]> {
  return listApiTokens(ctx.db.sql);
}

export async function deleteApiTokenOp(ctx: AppContext, id: string): Promise<void> {
  if (!/^[0-9a-f]{16}$/.test(id)) throw invalid(`id: must be an API token id (16 hex characters), got ${JSON.stringify((id ?? '').slice(0, 40))}`);
  if (!(await deleteApiToken(ctx.db.sql, id))) throw notFound(`API token ${id} not found`);
}

