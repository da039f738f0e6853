import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServiceClient, ControlServiceService, CreateApiTokenRequest, CreateClusterRequest, ListClustersRequest, ListTasksRequest, PutSecretRequest, type ListClustersResponse } from '@berth/proto';
import { OPERATION_ROLE } from './grpc/auth.js';
import { clientCredentials, type ClientTls } from '@berth/transport';
import { caHash, createCa } from '@berth/transport/pki';
import { makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';

/** TLS with the cluster PKI: made at first start, kept across restarts, and nothing answers without trusting it. */
describe('TLS', () => {
  let cp: ControlPlane;
  let dataDir: string;
  const start = () =>
    startControlPlane({
      listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 1000, resyncIntervalMs: 60_000, tls: true, tlsNames: ['cp.home.lan', '192.0.2.7'], authFailureLimit: 45,
      random: { next: Math.random, bytes: (n) => randomBytes(n) }, log: pino({ level: 'silent' }),
    });
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
    cp = await start();
    (globalThis as { __bootstrap?: string }).__bootstrap = cp.bootstrapToken;
  });
  afterAll(async () => {
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const list = (tls: ClientTls): Promise<ListClustersResponse | ServiceError> => {
    const client = new ControlServiceClient(`localhost:${cp.grpcPort}`, clientCredentials(tls));
    return new Promise((resolve) =>
      client.listClusters(ListClustersRequest.fromPartial({}), new Metadata(), { deadline: new Date(Date.now() + 5000) }, (err, res) => {
        client.close();
        resolve(err ?? res!);
      }),
    );
  };

  it('makes the CA and a server certificate for its names, the CA key sealed and the server key 0600', () => {
    const pki = join(dataDir, 'pki');
    const server = new X509Certificate(readFileSync(join(pki, 'server.crt')));
    expect(server.subjectAltName).toContain('DNS:cp.home.lan');
    expect(server.subjectAltName).toContain('IP Address:192.0.2.7');
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(statSync(join(pki, 'server.key')).mode & 0o777).toBe(0o600);
    const sealed = readFileSync(join(pki, 'ca.key.sealed'), 'utf8');
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(cp.pki!.caHash).toBe(caHash(readFileSync(join(pki, 'ca.crt'), 'utf8')));
  });

  it('answers a client that trusts the cluster CA (with an API token), and no other', async () => {
    const ok = await list({ caPem: cp.pki!.ca.certPem, token: cp.bootstrapToken });
    expect((ok as ListClustersResponse).clusterArns).toContain('arn:aws:ecs:local:000000000000:cluster/default');
    expect(((await list({ insecure: true })) as ServiceError).code).toBe(status.UNAVAILABLE);
    expect(((await list({ caPem: createCa('impostor').certPem })) as ServiceError).code).toBe(status.UNAVAILABLE);
    expect(((await list({})) as ServiceError).code).toBe(status.UNAVAILABLE);
  });

  it('serves the CA at /cacerts (for agents joining with a token that carries its hash)', async () => {
    const pem = await (await fetch(`http://127.0.0.1:${cp.httpPort}/cacerts`)).text();
    expect(pem).toBe(cp.pki!.ca.certPem);
  });

  it('keeps the same CA across restarts', async () => {
    const before = cp.pki!.caHash;
    const first = cp.bootstrapToken;
    await cp.close();
    cp = await start();
    expect(cp.pki!.caHash).toBe(before);
    expect(cp.bootstrapToken).toBeUndefined(); // made once, at the first start
    const again = await list({ caPem: cp.pki!.ca.certPem, token: first });
    expect((again as ListClustersResponse).clusterArns.length).toBeGreaterThan(0);
  });

  it('every control operation refuses a caller without a valid token, and a viewer on what it may not do', async () => {
    const viewer = await new Promise<string>((resolve, reject) => {
      const client = new ControlServiceClient(`localhost:${cp.grpcPort}`, clientCredentials({ caPem: cp.pki!.ca.certPem, token: (globalThis as { __bootstrap?: string }).__bootstrap }));
      client.createApiToken(CreateApiTokenRequest.fromPartial({ name: 'every-op-viewer', role: 'viewer' }), new Metadata(), (err, res) => {
        client.close();
        return err ? reject(err) : resolve(res!.token);
      });
    });
    const raw: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(ControlServiceService)) raw[name] = { ...m, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const Raw = makeGenericClientConstructor(raw as never, 'Raw');
    const ask = async (token: string | undefined, name: string): Promise<number> => {
      const client = new Raw(`localhost:${cp.grpcPort}`, clientCredentials({ caPem: cp.pki!.ca.certPem, ...(token ? { token } : {}) })) as unknown as Record<string, (...a: unknown[]) => unknown> & { close(): void };
      const def = (ControlServiceService as unknown as Record<string, { responseStream: boolean }>)[name]!;
      const code = await new Promise<number>((resolve) => {
        if (def.responseStream) {
          const stream = client[name]!(Buffer.alloc(0)) as { on(e: string, f: (x: { code: number }) => void): void };
          stream.on('error', (e) => resolve(e.code));
          stream.on('status', (st) => resolve(st.code));
        } else (client[name] as (r: Buffer, cb: (e: ServiceError | null) => void) => void)(Buffer.alloc(0), (err) => resolve(err ? err.code : status.OK));
      });
      client.close();
      return code;
    };
    const names = Object.keys(ControlServiceService);
    expect(names.length).toBeGreaterThanOrEqual(39);
    for (const name of names) {
      const op = `${name[0]!.toUpperCase()}${name.slice(1)}`;
      const code = await ask(undefined, name);
      expect(code, `${op} without a token answered ${status[code]}`).toBe(status.UNAUTHENTICATED);
      if ((OPERATION_ROLE[op] ?? 'admin') !== 'viewer') {
        const v = await ask(viewer, name);
        expect(v, `${op} as viewer answered ${status[v]}`).toBe(status.PERMISSION_DENIED);
      }
    }
  });

  it('a token limited to one cluster acts there only', async () => {
    const root = (globalThis as { __bootstrap?: string }).__bootstrap!;
    const client = (token: string) => new ControlServiceClient(`localhost:${cp.grpcPort}`, clientCredentials({ caPem: cp.pki!.ca.certPem, token }));
    const unaryCall = <Res>(c: ControlServiceClient, method: string, req: object) =>
      new Promise<Res | ServiceError>((resolve) => (c as unknown as Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!(req, new Metadata(), (err, res) => resolve(err ?? res)));
    const admin = client(root);
    await unaryCall(admin, 'createCluster', CreateClusterRequest.fromPartial({ clusterName: 'lab' }));
    const made = (await unaryCall<{ token: string }>(admin, 'createApiToken', CreateApiTokenRequest.fromPartial({ name: 'lab-ops', role: 'operator', cluster: 'lab' }))) as { token: string };
    const lab = client(made.token);
    expect(((await unaryCall(lab, 'listTasks', ListTasksRequest.fromPartial({ cluster: 'lab' }))) as { taskArns: string[] }).taskArns).toEqual([]);
    const elsewhere = (await unaryCall(lab, 'listTasks', ListTasksRequest.fromPartial({ cluster: 'default' }))) as ServiceError;
    expect(elsewhere.code).toBe(status.PERMISSION_DENIED);
    expect(elsewhere.details).toMatch(/is limited to cluster lab, not default$/);
    const secrets = (await unaryCall(lab, 'putSecret', PutSecretRequest.fromPartial({ name: 'x', value: Buffer.from('y') }))) as ServiceError;
    expect(secrets.details).toMatch(/^PutSecret is not about one cluster; token [0-9a-f]{16} \(lab-ops\) is limited to cluster lab$/);
    admin.close();
    lab.close();
  });

  it('API tokens: roles decide, denials say why, failed authentication is rate limited', async () => {
    const admin = { caPem: cp.pki!.ca.certPem, token: undefined as string | undefined };
    // The bootstrap token of this store was made at the first start (kept by the previous test's restart).
    const tokens = new Map<string, string>();
    const make = async (role: string, token: string) => {
      const client = new ControlServiceClient(`localhost:${cp.grpcPort}`, clientCredentials({ caPem: admin.caPem, token }));
      return new Promise<{ token: string } | ServiceError>((resolve) =>
        client.createApiToken(CreateApiTokenRequest.fromPartial({ name: `${role}-user`, role }), new Metadata(), (err, res) => {
          client.close();
          resolve(err ?? res!);
        }),
      );
    };
    const root = (globalThis as { __bootstrap?: string }).__bootstrap!;
    for (const role of ['viewer', 'operator']) tokens.set(role, ((await make(role, root)) as { token: string }).token);
    expect(((await list({ caPem: admin.caPem, token: tokens.get('viewer') })) as ListClustersResponse).clusterArns.length).toBeGreaterThan(0);
    const denied = (await make('admin', tokens.get('operator')!)) as ServiceError;
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/^CreateApiToken needs the admin role; token [0-9a-f]{16} \(operator-user\) is operator$/);
    const noToken = (await list({ caPem: admin.caPem })) as ServiceError;
    expect(noToken.code).toBe(status.UNAUTHENTICATED);
    expect(noToken.details).toMatch(/^an API token is needed/);
    let last: ServiceError | undefined;
    // This control plane allows 45 failures a minute per address (the default is 10); earlier tests used some.
    for (let i = 0; i < 50 && last?.code !== status.RESOURCE_EXHAUSTED; i++) last = (await list({ caPem: admin.caPem, token: `berth_${'0'.repeat(16)}_${'0'.repeat(32)}` })) as ServiceError;
    expect(last!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(last!.details).toMatch(/too many failed authentications/);
  });

});
