import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@berth/domain';
import { AgentServiceClient, ControlServiceClient, JoinRequest, RenewCertificateRequest, type JoinResponse } from '@berth/proto';
import { clientCredentials, type ClientTls } from '@berth/transport';
import { certInfo, createCsr } from '@berth/transport/pki';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import forge from 'node-forge';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';
import { controlCall } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

/** Joining with tokens, and the node identity mTLS gives a session. */
describe('join and node identity', () => {
  let cp: ControlPlane;
  let dataDir: string;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };
  let target: string;
  let caPem: string;
  let control: ControlServiceClient;
  const clients: AgentServiceClient[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-join-'));
    cp = await startControlPlane({
      listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 1000, resyncIntervalMs: 60_000, tls: true, clock,
      random: { next: Math.random, bytes: (n) => randomBytes(n) }, log: pino({ level: 'silent' }),
    });
    target = `localhost:${cp.grpcPort}`;
    caPem = cp.pki!.ca.certPem;
    control = new ControlServiceClient(target, clientCredentials({ caPem, token: cp.bootstrapToken }));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    control.close();
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = controlCall(() => control);
  const token = async (o: { uses?: number; ttlSeconds?: number; labels?: Record<string, string> } = {}) => (await call<{ token: string }>('createJoinToken', o)).token;
  const joinWith = (tok: string, csrPem = createCsr('pi').csrPem): Promise<JoinResponse | ServiceError> => {
    const c = new AgentServiceClient(target, clientCredentials({ caPem }));
    clients.push(c);
    return new Promise((resolve) => c.join(JoinRequest.fromPartial({ token: tok, csrPem, hostname: 'pi' }), new Metadata(), (err, res) => resolve(err ?? res!)));
  };
  const joined = async (labels?: Record<string, string>): Promise<{ id: JoinResponse; tls: ClientTls }> => {
    const { keyPem, csrPem } = createCsr('pi');
    const id = (await joinWith(await token({ labels }), csrPem)) as JoinResponse;
    return { id, tls: { caPem, keyPem, certPem: id.certPem } };
  };
  const connect = (tls: ClientTls, over: Parameters<typeof hello>[0] = {}) => {
    const c = new AgentServiceClient(target, clientCredentials(tls));
    clients.push(c);
    const a = new ScriptedAgent(c);
    a.send({ $case: 'hello', value: hello(over) });
    return a;
  };

  it('a token joins a node: its id in the certificate, the token used up', async () => {
    const tok = await token({ uses: 1 });
    expect(tok).toMatch(/^B10[0-9a-f]{64}::[0-9a-f]{16}\.[0-9a-f]{32}$/);
    const first = (await joinWith(tok)) as JoinResponse;
    expect(first.nodeId).toMatch(/^n-[0-9a-f]{16}$/);
    expect(first.caPem).toBe(caPem);
    const again = (await joinWith(tok)) as ServiceError;
    expect(again.code).toBe(status.UNAUTHENTICATED);
    expect(again.details).toBe('token: unknown, used up, or revoked');
  });

  it('refuses an expired token, a token for another CA, a wrong secret, and a request for another role', async () => {
    const tok = await token({ ttlSeconds: 60 });
    offset = 61_000;
    expect(((await joinWith(tok)) as ServiceError).details).toMatch(/^token: expired at /);
    offset = 0;
    const other = tok.replace(/^B10[0-9a-f]{4}/, 'B10ffff');
    expect(((await joinWith(other)) as ServiceError).details).toBe('token: made for another cluster CA (another control plane, or one whose PKI was made again)');
    const wrongSecret = tok.slice(0, -4) + '0000';
    expect(((await joinWith(wrongSecret)) as ServiceError).code).toBe(status.UNAUTHENTICATED);
    expect(((await joinWith('nonsense')) as ServiceError).details).toBe('token: not a join token (berth token create makes them)');
    const key = forge.pki.rsa.generateKeyPair(2048);
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = key.publicKey;
    csr.setSubject([{ name: 'commonName', value: 'x' }, { name: 'organizationName', value: 'berth:control-plane' }]);
    csr.sign(key.privateKey, forge.md.sha256.create());
    const asked = (await joinWith(await token(), forge.pki.certificationRequestToPem(csr))) as ServiceError;
    expect(asked.code).toBe(status.PERMISSION_DENIED);
    expect(asked.details).toMatch(/asks for role "berth:control-plane"/);
  });

  it('a session is the node its certificate names: no certificate, another node\'s id, or another cluster is refused', async () => {
    const noCert = connect({ caPem });
    expect((await noCert.closed()).code).toBe(status.UNAUTHENTICATED);
    const { id, tls } = await joined({ room: 'attic' });
    const impostor = connect(tls, { nodeId: 'n-0000000000000000' });
    const refused = await impostor.closed();
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toBe(`the hello names node n-0000000000000000, but the certificate is node ${id.nodeId}`);
    const wrongCluster = connect(tls, { cluster: 'elsewhere' });
    expect((await wrongCluster.closed()).code).toBe(status.PERMISSION_DENIED);
    const ok = connect(tls, { nodeId: '', cluster: '' });
    expect((await ok.next('welcome')).nodeId).toBe(id.nodeId);
    const [node] = await cp.db.sql`SELECT labels FROM nodes WHERE id = ${id.nodeId}`;
    expect(node!.labels).toMatchObject({ room: 'attic' });
    ok.end();
  });

  it('a second live session of one identity (a cloned SD card) is refused and raised; revoking ends the session for good', async () => {
    const { id, tls } = await joined();
    const first = connect(tls);
    await first.next('welcome');
    first.send({ $case: 'heartbeat', value: { cpuPercent: 1, memoryUsedMib: 1, memoryTotalMib: 2, diskUsedMib: 1, diskTotalMib: 2, load1: 0, load5: 0, load15: 0, dockerReachable: true } });
    await new Promise((r) => setTimeout(r, 100));
    const clone = connect(tls);
    const refused = await clone.closed();
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toMatch(/already has a live session/);
    const [event] = await cp.db.sql`SELECT message FROM events WHERE kind = 'node.duplicate-session' AND subject = ${id.nodeId}`;
    expect(event!.message).toMatch(/copied data directory or SD card/);

    expect((await call<{ certificatesRevoked: number }>('revokeNode', { containerInstance: id.nodeId })).certificatesRevoked).toBe(1);
    expect((await first.closed()).code).toBe(status.PERMISSION_DENIED);
    const back = connect(tls);
    const again = await back.closed();
    expect(again.code).toBe(status.PERMISSION_DENIED);
    expect(again.details).toMatch(/is revoked; join again with a new token/);
  });

  it('a node renews its certificate with the current one (same node, new key); a revoked one cannot', async () => {
    const { id, tls } = await joined();
    const renew = (creds: ClientTls, csrPem: string) => {
      const c = new AgentServiceClient(target, clientCredentials(creds));
      clients.push(c);
      return new Promise<{ certPem: string } | ServiceError>((resolve) => c.renewCertificate(RenewCertificateRequest.fromPartial({ csrPem }), new Metadata(), (err, res) => resolve(err ?? res!)));
    };
    const { keyPem, csrPem } = createCsr('pi');
    const next = (await renew(tls, csrPem)) as { certPem: string };
    const info = certInfo(next.certPem);
    expect(info.commonName).toBe(id.nodeId);
    expect(info.serial).not.toBe(certInfo(id.certPem).serial);
    // The new pair connects as the same node.
    const a = connect({ caPem, keyPem, certPem: next.certPem });
    expect((await a.next('welcome')).nodeId).toBe(id.nodeId);
    a.end();
    expect(((await renew({ caPem }, createCsr('x').csrPem)) as ServiceError).code).toBe(status.UNAUTHENTICATED);
    await call('revokeNode', { containerInstance: id.nodeId });
    expect(((await renew({ caPem, keyPem, certPem: next.certPem }, createCsr('x').csrPem)) as ServiceError).code).toBe(status.PERMISSION_DENIED);
  });
});
