import { createHash, timingSafeEqual } from 'node:crypto';
import { denied, formatJoinToken, invalid, newNodeId, notFound, parseJoinToken, resourceId, unauthenticated } from '@berth/domain';
import {
  appendEvents,
  deleteJoinToken,
  getJoinTokenForUpdate,
  getNode,
  getNodeCertificate,
  insertJoinToken,
  insertNodeCertificate,
  listJoinTokens,
  revokeNodeCertificates,
  useJoinToken,
  type JoinTokenRecord,
} from '@berth/store';
import { certInfo, PkiError, signNodeCsr } from '@berth/transport/pki';
import type { ClusterPki } from '../pki/cluster-pki.js';
import { requireCluster } from './clusters.js';
import type { AppContext } from './context.js';

/**
 * Joining a node: an operator makes a join token (the CA's hash, an id and a
 * secret of which only a hash is kept); the agent checks the CA against the
 * hash, then trades the token and a certificate request for its identity: a
 * node id and a certificate (CN = node id, O = berth:agent, OU = cluster). The
 * agent's key never leaves its node. Revoking a node refuses its certificates.
 */

export const DEFAULT_TOKEN_TTL_S = 3600;
export const MAX_TOKEN_TTL_S = 30 * 86_400;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function requirePki(ctx: AppContext): ClusterPki {
  if (!ctx.pki) throw invalid('join tokens need TLS: this control plane runs with --insecure (give agents --insecure instead)');
  return ctx.pki;
}

export async function createJoinTokenOp(
  ctx: AppContext,
  input: { cluster?: string; ttlSeconds?: number; uses?: number; labels?: Record<string, string> },
): Promise<{ token: string; record: JoinTokenRecord }> {
  const pki = requirePki(ctx);
  const cluster = await requireCluster(ctx, input.cluster);
  const ttl = input.ttlSeconds || DEFAULT_TOKEN_TTL_S;
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > MAX_TOKEN_TTL_S) throw invalid(`ttlSeconds: must be 60-${MAX_TOKEN_TTL_S} (30 days), got ${input.ttlSeconds}`);
  for (const [k, v] of Object.entries(input.labels ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/.test(k) || v.length > 256) throw invalid(`labels.${k}: a label key is letters, digits and ._-/ (up to 128), its value up to 256 characters`);
  }
  const hex = (n: number) => Buffer.from(ctx.random.bytes(n)).toString('hex');
  const id = hex(8);
  const secret = hex(16);
  const record = await insertJoinToken(ctx.db.sql, {
    id,
    secretHash: sha256(secret),
    cluster,
    usesLeft: input.uses ? input.uses : null,
    labels: input.labels ?? {},
    expiresAt: new Date(ctx.clock.now().getTime() + ttl * 1000),
  });
  await appendEvents(ctx.db.sql, [{ cluster, kind: 'token.created', subject: id, message: `join token ${id} created (${input.uses ? `${input.uses} use(s)` : 'any number of uses'}, expires ${record.expiresAt.toISOString()})` }]);
  return { token: formatJoinToken({ caHash: pki.caHash, id, secret }), record };
}

export async function listJoinTokensOp(ctx: AppContext): Promise<JoinTokenRecord[]> {
  return (await listJoinTokens(ctx.db.sql)).filter((t) => t.expiresAt > ctx.clock.now());
}

export async function deleteJoinTokenOp(ctx: AppContext, id: string): Promise<void> {
  if (!/^[0-9a-f]{16}$/.test(id)) throw invalid(`id: must be a join token id (16 hex characters), got ${JSON.stringify(id.slice(0, 40))}`);
  if (!(await deleteJoinToken(ctx.db.sql, id))) throw notFound(`join token ${id} not found`);
}

/** A token and a certificate request -> the node's identity. */
export async function joinOp(ctx: AppContext, input: { token: string; csrPem: string; hostname: string }): Promise<{ nodeId: string; cluster: string; certPem: string; caPem: string }> {
  const pki = requirePki(ctx);
  const t = parseJoinToken(input.token ?? '');
  if (!t) throw unauthenticated('token: not a join token (berth token create makes them)');
  if (t.caHash !== pki.caHash) throw unauthenticated('token: made for another cluster CA (another control plane, or one whose PKI was made again)');
  if ((input.csrPem ?? '').length > 16 * 1024) throw invalid('csrPem: too large');
  const now = ctx.clock.now();
  return ctx.db.sql.begin(async (tx) => {
    const record = await getJoinTokenForUpdate(tx, t.id);
    const ok = record && timingSafeEqual(Buffer.from(record.secretHash, 'hex'), Buffer.from(sha256(t.secret), 'hex'));
    if (!record || !ok) throw unauthenticated('token: unknown, used up, or revoked');
    if (record.expiresAt <= now) throw unauthenticated(`token: expired at ${record.expiresAt.toISOString()}`);
    const nodeId = newNodeId(ctx.random);
    let certPem: string;
    try {
      certPem = signNodeCsr(pki.ca, input.csrPem ?? '', { nodeId, cluster: record.cluster, now, days: ctx.nodeCertDays });
    } catch (err) {
      if (err instanceof PkiError) throw denied(err.message);
      throw err;
    }
    const info = certInfo(certPem);
    await insertNodeCertificate(tx, { serial: normalizeSerial(info.serial), nodeId, cluster: record.cluster, labels: record.labels, notAfter: info.notAfter });
    await useJoinToken(tx, record.id);
    await appendEvents(tx, [{ cluster: record.cluster, kind: 'node.joined', subject: nodeId, message: `node ${nodeId} (${(input.hostname ?? '').slice(0, 64)}) joined with token ${record.id}; certificate valid until ${info.notAfter.toISOString()}` }]);
    ctx.log.info({ nodeId, cluster: record.cluster, token: record.id }, 'node joined');
    return { nodeId, cluster: record.cluster, certPem, caPem: pki.ca.certPem };
  });
}

/**
 * A new certificate for a node that presents its current one (mTLS): same
 * node id, cluster and labels, a new key (the CSR's). A revoked or unknown
 * certificate cannot renew.
 */
export async function renewCertificateOp(ctx: AppContext, peerSerial: string | undefined, csrPem: string): Promise<{ certPem: string }> {
  const pki = requirePki(ctx);
  if (!peerSerial) throw unauthenticated('renewing needs the node certificate (mTLS)');
  const current = await getNodeCertificate(ctx.db.sql, normalizeSerial(peerSerial));
  if (!current || current.revokedAt) throw denied(`the certificate is ${current ? 'revoked' : 'unknown'}; join again with a new token`);
  let certPem: string;
  try {
    certPem = signNodeCsr(pki.ca, csrPem ?? '', { nodeId: current.nodeId, cluster: current.cluster, now: ctx.clock.now(), days: ctx.nodeCertDays });
  } catch (err) {
    if (err instanceof PkiError) throw denied(err.message);
    throw err;
  }
  const info = certInfo(certPem);
  await insertNodeCertificate(ctx.db.sql, { serial: normalizeSerial(info.serial), nodeId: current.nodeId, cluster: current.cluster, labels: current.labels, notAfter: info.notAfter });
  await appendEvents(ctx.db.sql, [{ cluster: current.cluster, kind: 'node.certificate-renewed', subject: current.nodeId, message: `node ${current.nodeId} renewed its certificate; valid until ${info.notAfter.toISOString()}` }]);
  return { certPem };
}

/** Certificate serials as Node prints them (upper case, no leading zeros) and as issued: one form. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}

export async function revokeNodeOp(ctx: AppContext, input: { cluster?: string; containerInstance: string }): Promise<number> {
  const cluster = await requireCluster(ctx, input.cluster);
  const id = resourceId(input.containerInstance ?? '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalid(`containerInstance: must be a node id or ARN, got ${JSON.stringify(id.slice(0, 80))}`);
  const node = await getNode(ctx.db.sql, id);
  if (!node || node.cluster !== cluster) throw notFound(`node ${id} not found in cluster ${cluster}`);
  const n = await revokeNodeCertificates(ctx.db.sql, id, ctx.clock.now());
  await appendEvents(ctx.db.sql, [{ cluster, kind: 'node.revoked', subject: id, message: `node ${id} revoked: ${n} certificate(s) refused from now on; its session ends` }]);
  ctx.endSession?.(id, 'the node was revoked');
  return n;
}
