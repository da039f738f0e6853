import { randomBytes } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DEFAULT_ARN_CONTEXT, systemClock, type Clock } from '@berth/domain';
import { ECS_METADATA } from '@berth/ecs-model';
import { ControlServiceClient, CreateApiTokenRequest, DeleteApiTokenRequest, type AgentServiceClient } from '@berth/proto';
import { SignatureV4 } from '@smithy/signature-v4';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ControlPlane, ControlPlaneOptions } from '../server.js';
import { createApiTokenOp } from '../services/api-tokens.js';
import type { AppContext } from '../services/context.js';
import { startOnBackend, type BackendEnv } from './backends.js';

/**
 * The ECS endpoint under test: a control plane with auth on and the ECS port
 * open (plain HTTP on 127.0.0.1), AWS access keys, a raw signed-request
 * function (SigV4 by @smithy/signature-v4, the signer the AWS SDKs use, so the
 * requests can be bent: another path, region, date, tampered after signing)
 * and an ECSClient from @aws-sdk/client-ecs.
 */

export const ECS_TARGET_PREFIX = ECS_METADATA.targetPrefix;
export const JSON_11 = 'application/x-amz-json-1.1';

export interface AwsKey {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: Record<string, unknown> | undefined;
  /** `__type` of an error body. */
  type?: string;
  message?: string;
}

export interface RawOptions {
  /** The access key that signs (default: the admin key); null: no signature at all. */
  key?: AwsKey | null;
  method?: string;
  /** The request path (default `/`). */
  path?: string;
  /** The credential scope's region (default `local`) and service (default `ecs`). */
  region?: string;
  service?: string;
  /** The signing time (default now). */
  signingDate?: Date;
  /** The whole X-Amz-Target header (default: the prefix and the operation); null: none. */
  target?: string | null;
  contentType?: string;
  /** Send `x-amz-content-sha256` (signed), as S3 clients do; the ECS SDK does not. */
  checksum?: boolean;
  /** Send the body without Content-Length (chunked). */
  chunked?: boolean;
  /** Bends the request after signing. */
  tamper?: (r: { headers: Record<string, string>; body: Buffer; path: string }) => void;
}

export interface EcsTestPlane {
  cp: ControlPlane;
  /** The agent service (a ScriptedAgent registers a node with it). */
  agents: AgentServiceClient;
  /** An application context on the same store (ARN context local / 000000000000, the plane's keyring). */
  ctx: AppContext;
  port: number;
  endpoint: string;
  /** An admin access key. */
  admin: AwsKey;
  /** A new access key (through the application service, as `berth apitoken create --aws` does). */
  makeKey(role: 'admin' | 'operator' | 'viewer', o?: { cluster?: string; ttlSeconds?: number; clock?: Clock; name?: string }): Promise<AwsKey>;
  /** Deletes an access key through the gRPC API (DeleteApiToken with the bootstrap token), as `berth apitoken rm` does. */
  deleteKey(id: string): Promise<void>;
  /** One signed ECS request: `call('ListClusters', {})`. A Buffer or string body is sent as is; undefined sends no body. */
  call(operation: string, body?: unknown, o?: RawOptions): Promise<RawResponse>;
  /** An SDK client on the endpoint. */
  client(key?: AwsKey, o?: { maxAttempts?: number }): ECSClient;
  close(): Promise<void>;
}

export async function startEcsControlPlane(env: BackendEnv, log: Logger, options: Partial<ControlPlaneOptions> = {}): Promise<EcsTestPlane> {
  const { cp, control: unauthenticated, agents } = await startOnBackend(env, log, {
    auth: true,
    ecsPort: 0,
    // The tests fail authentication on purpose far more than 10 times a minute, and page through lists quickly.
    authFailureLimit: 1_000_000,
    ecsRateLimit: 1_000_000,
    ...options,
  });
  const random = { next: Math.random, bytes: (n: number) => randomBytes(n) };
  const ctx: AppContext = { db: cp.db, arn: DEFAULT_ARN_CONTEXT, clock: systemClock, random, log, keyring: cp.keyring, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
  const port = cp.ecsPort!;
  const endpoint = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  unauthenticated.close();
  const control = new ControlServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
  const clients: ECSClient[] = [];

  const makeKey: EcsTestPlane['makeKey'] = async (role, o = {}) => {
    const c = o.clock ? { ...ctx, clock: o.clock } : ctx;
    const r = await createApiTokenOp(c, { name: o.name ?? `test-${role}`, role, aws: true, cluster: o.cluster, ttlSeconds: o.ttlSeconds });
    return { accessKeyId: r.accessKeyId!, secretAccessKey: r.secretAccessKey! };
  };
  const admin = await makeKey('admin', { name: 'test-admin' });

  const deleteKey = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${cp.bootstrapToken}`);
      control.deleteApiToken(DeleteApiTokenRequest.fromPartial({ id }), md, (err: ServiceError | null) => (err ? reject(err) : resolve()));
    });

  const call: EcsTestPlane['call'] = async (operation, body, o = {}) => {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const target = o.target === undefined ? `${ECS_TARGET_PREFIX}.${operation}` : o.target;
    const path = o.path ?? '/';
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'content-type': o.contentType ?? JSON_11 };
    if (target !== null) headers['x-amz-target'] = target;
    let signed = { headers, body: payload, path };
    const key = o.key === undefined ? admin : o.key;
    if (key) {
      const signer = new SignatureV4({ service: o.service ?? 'ecs', region: o.region ?? 'local', credentials: key, sha256: Sha256, applyChecksum: o.checksum ?? false });
      const [p, q] = path.split(/\?(.*)/s, 2) as [string, string?];
      const query = Object.fromEntries(new URLSearchParams(q ?? ''));
      const r = await signer.sign(
        { method: o.method ?? 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: p, query, headers: { ...headers }, body: payload },
        { signingDate: o.signingDate },
      );
      signed = { headers: r.headers as Record<string, string>, body: payload, path };
    }
    o.tamper?.(signed);
    return send(port, agent, o.method ?? 'POST', signed.path, signed.headers, signed.body, o.chunked ?? false);
  };

  return {
    cp,
    agents,
    ctx,
    port,
    endpoint,
    admin,
    makeKey,
    deleteKey,
    call,
    client(key = admin, o = {}) {
      const c = new ECSClient({ endpoint, region: 'local', credentials: key, maxAttempts: o.maxAttempts ?? 3 });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      agent.destroy();
      control.close();
      agents.close();
      await cp.close();
    },
  };
}

/** Makes an access key through the gRPC API, as the CLI does (the bootstrap admin token). */
export function createKeyOverGrpc(cp: ControlPlane, role: string, name: string): Promise<AwsKey> {
  const control = new ControlServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${cp.bootstrapToken}`);
  return new Promise((resolve, reject) =>
    control.createApiToken(CreateApiTokenRequest.fromPartial({ name, role, aws: true }), md, (err, res) => {
      control.close();
      if (err) reject(err);
      else resolve({ accessKeyId: res.accessKeyId, secretAccessKey: res.secretAccessKey });
    }),
  );
}

function send(port: number, agent: Agent, method: string, path: string, headers: Record<string, string>, body: Buffer, chunked: boolean): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const h: Record<string, string | number> = { ...headers };
    if (!chunked) h['content-length'] = body.length;
    else h['transfer-encoding'] = 'chunked';
    const req = request({ host: '127.0.0.1', port, method, path, headers: h, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = undefined;
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          body: parsed,
          type: typeof parsed?.__type === 'string' ? parsed.__type : undefined,
          message: typeof parsed?.message === 'string' ? parsed.message : undefined,
        });
      });
    });
    // The server may answer (413) and close before a big body is all written: the answer counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}
