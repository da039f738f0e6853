import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJoinToken } from '@berth/domain';
import { AgentServiceClient, GetCaRequest, JoinRequest, RenewCertificateRequest, type GetCaResponse, type JoinResponse } from '@berth/proto';
import { clientCredentials, type ClientTls } from '@berth/transport';
import { caHash, createCsr } from '@berth/transport/pki';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

/**
 * Joining a cluster with a token: the agent asks the server for its CA without
 * trusting it yet, checks it against the hash the token carries, and only then
 * (on a connection verified against that CA) sends the token and a
 * certificate request. Its key is made here and never leaves the node. The
 * identity is kept in the data directory: ca.crt, node.crt, node.key (0600).
 */

export interface NodeIdentity {
  nodeId: string;
  cluster: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export class JoinError extends Error {}

const DEADLINE_MS = 15_000;

function call<Req, Res>(fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => void, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, new Metadata(), { deadline: new Date(Date.now() + DEADLINE_MS) }, (err, res) => (err ? reject(err) : resolve(res))));
}

export async function joinCluster(server: string, token: string, hostname: string): Promise<NodeIdentity> {
  const t = parseJoinToken(token);
  if (!t) throw new JoinError('--token: not a join token (berth token create prints one: B10<CA hash>::<id>.<secret>)');
  const unverified = new AgentServiceClient(server, credentials.createSsl(null, null, null, { rejectUnauthorized: false }));
  let ca: GetCaResponse;
  try {
    ca = await call(unverified.getCa.bind(unverified), GetCaRequest.fromPartial({}));
  } catch (err) {
    throw new JoinError(`cannot get the cluster CA from ${server}: ${(err as ServiceError).details ?? (err as Error).message}`);
  } finally {
    unverified.close();
  }
  if (caHash(ca.caPem) !== t.caHash) {
    throw new JoinError(`the server at ${server} does not have the CA this token was made for (another cluster, or someone in between); nothing was sent`);
  }
  const { keyPem, csrPem } = createCsr(hostname);
  const verified = new AgentServiceClient(server, clientCredentials({ caPem: ca.caPem }));
  let r: JoinResponse;
  try {
    r = await call(verified.join.bind(verified), JoinRequest.fromPartial({ token, csrPem, hostname }));
  } catch (err) {
    throw new JoinError(`join refused by ${server}: ${(err as ServiceError).details ?? (err as Error).message}`);
  } finally {
    verified.close();
  }
  return { nodeId: r.nodeId, cluster: r.cluster, caPem: r.caPem, certPem: r.certPem, keyPem };
}

/** A new key and certificate for this node, asked for with its current certificate (mTLS). */
export async function renewCertificate(server: string, current: ClientTls): Promise<{ keyPem: string; certPem: string }> {
  const { keyPem, csrPem } = createCsr('renew');
  const client = new AgentServiceClient(server, clientCredentials(current));
  try {
    const r = await call(client.renewCertificate.bind(client), RenewCertificateRequest.fromPartial({ csrPem }));
    return { keyPem, certPem: r.certPem };
  } catch (err) {
    throw new JoinError(`certificate renewal refused by ${server}: ${(err as ServiceError).details ?? (err as Error).message}`);
  } finally {
    client.close();
  }
}

export const identityFiles = (dataDir: string) => ({ ca: join(dataDir, 'ca.crt'), cert: join(dataDir, 'node.crt'), key: join(dataDir, 'node.key') });

export function saveIdentity(dataDir: string, id: Pick<NodeIdentity, 'caPem' | 'certPem' | 'keyPem'>): void {
  const f = identityFiles(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(f.ca, id.caPem, { mode: 0o644 });
  // Key and certificate replaced together, each atomically (a crash leaves the old pair or the new one).
  for (const [path, text] of [[f.key, id.keyPem], [f.cert, id.certPem]] as const) {
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
    chmodSync(`${path}.tmp`, 0o600);
    renameSync(`${path}.tmp`, path);
  }
}

/** When to renew: two thirds into the certificate's lifetime (Node's parser; no PKI code loaded). */
export function renewalDue(certPem: string): Date {
  const c = new X509Certificate(certPem);
  const from = new Date(c.validFrom).getTime();
  const to = new Date(c.validTo).getTime();
  return new Date(from + ((to - from) * 2) / 3);
}

/** The node's mTLS credentials, when it has joined. */
export function loadIdentityTls(dataDir: string, caFile?: string): ClientTls | undefined {
  const f = identityFiles(dataDir);
  if (!existsSync(f.cert) || !existsSync(f.key)) return undefined;
  const ca = caFile && existsSync(caFile) ? caFile : f.ca;
  return { caPem: readFileSync(ca, 'utf8'), certPem: readFileSync(f.cert, 'utf8'), keyPem: readFileSync(f.key, 'utf8') };
}
