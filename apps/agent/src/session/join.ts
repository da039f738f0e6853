import { parseJoinToken } from '@berth/domain';
import { AgentServiceClient, GetCaRequest, JoinRequest, RenewCertificateRequest, type GetCaResponse, type JoinResponse } from '@berth/proto';
import { clientCredentials, type ClientTls } from '@berth/transport';
import { caHash, createCsr } from '@berth/transport/pki';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { NodeIdentity } from './identity.js';

/**
 * Joining a cluster with a token: the agent asks the server for its CA without
 * trusting it yet, checks it against the hash the token carries, and only then
 * (on a connection verified against that CA) sends the token and a
 * certificate request. Its key is made here and never leaves the node (kept
 * by session/identity.ts).
 */

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

