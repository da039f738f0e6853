import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ECS_METADATA, isOperation, OPERATIONS, toWire, validateInput, type EcsOperationName } from '@berth/ecs-model';
import { formatFieldError } from '@berth/domain';
import type { AppContext } from '../services/context.js';
import { EcsAccessKeys } from './access-keys.js';
import { EcsError, ecsError, toEcsError } from './ecs-errors.js';
import { ELBV2_SIGNING_NAME, Elbv2Error, errorXml, serveElbv2 } from '../elbv2-api/elbv2-adapter.js';
import { ECS_HANDLERS } from './ecs-operations.js';
import type { EcsHandler, Json } from './ecs-call.js';
import { verifySigV4 } from './sigv4.js';

/**
 * The ECS endpoint: Amazon ECS's own API (AWS JSON 1.1, SigV4) on its own
 * port, so the AWS CLI, the SDKs and tools built on them drive Berth with one
 * endpoint setting. `POST /` (any path) with `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Operation>`; each operation is checked
 * against the ECS model, converted, and handed to the same application
 * services the gRPC API uses (ops/). Responses carry `x-amzn-RequestId` and
 * `Date`; timestamps are epoch seconds.
 */

export const DEFAULT_ECS_PORT = 7402;
/** Largest request body read (ECS's own limit is about 1 MB); more is refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
const TARGET_PREFIX = `${ECS_METADATA.targetPrefix}.`;
const JSON_11 = 'application/x-amz-json-1.1';

export interface EcsApiOptions {
  listen: string;
  port: number;
  /** TLS with the cluster's server certificate (when the PKI is on). */
  tls?: { certPem: string; keyPem: string };
  /** Check signatures and roles (default: on). Off only with --insecure and auth off: every caller is admin. */
  auth: boolean;
  /** Calls per second per access key. */
  rateLimitPerKey?: number;
  /** Failed authentications an address may make in a minute. */
  authFailureLimit?: number;
}

export interface EcsApi {
  port: number;
  keys: EcsAccessKeys;
  close(): Promise<void>;
}

export async function startEcsApi(ctx: AppContext, o: EcsApiOptions): Promise<EcsApi> {
  const keys = new EcsAccessKeys(ctx, o.rateLimitPerKey, o.authFailureLimit);
  const handle = (req: IncomingMessage, res: ServerResponse) => void serve(ctx, o, keys, req, res);
  const server: Server = o.tls ? createHttpsServer({ cert: o.tls.certPem, key: o.tls.keyPem }, handle) : createHttpServer(handle);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (!o.auth) ctx.log.warn({ port }, 'ECS endpoint without signature checks (--insecure, auth off): anyone who can reach the port is admin');
  return {
    port,
    keys,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}

async function serve(ctx: AppContext, o: EcsApiOptions, keys: EcsAccessKeys, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const started = Date.now();
  let op = '(none)';
  try {
    const body = await readBody(req);
    if (req.method !== 'POST') throw ecsError('UnknownOperationException', `the ECS endpoint takes POST requests (AWS JSON 1.1 with X-Amz-Target), not ${req.method}`);
    const peer = req.socket.remoteAddress ?? '';
    // Which API: ELBv2 speaks AWS Query (a form body with Action=); ECS speaks JSON 1.1 with X-Amz-Target.
    const query = isQueryRequest(req, body);
    const signingName = query ? ELBV2_SIGNING_NAME : 'ecs';
    let caller = 'anonymous';
    let record: ReturnType<EcsAccessKeys['recordOf']> | undefined;
    if (o.auth) {
      try {
        keys.checkPeer(peer);
        const [path, qs = ''] = (req.url ?? '/').split(/\?(.*)/s, 2) as [string, string?];
        const v = await verifySigV4({ method: req.method, path, query: qs, headers: req.headers, rawHeaders: req.rawHeaders, body }, (id) => keys.secretFor(id), ctx.clock.now(), { service: signingName });
        if (!v.ok) {
          keys.failed(peer);
          ctx.log.warn({ requestId, peer, reason: v.error, message: v.message }, 'AWS request refused: authentication');
          throw ecsError(v.error, v.message);
        }
        record = keys.recordOf(v.accessKeyId);
        caller = `${record.id} (${record.name})`;
      } catch (err) {
        if (!query) throw err;
        return sendElbv2Error(res, requestId, err);
      }
    }
    if (query) {
      const authorize = (operation: string, input: unknown) => {
        if (!record) return;
        try {
          keys.authorize(record, `elbv2:${operation}`, input);
        } catch (err) {
          throw elbv2AuthError(err);
        }
      };
      const answer = await serveElbv2(ctx, body.toString('utf8'), requestId, authorize);
      sendXml(res, answer.status, requestId, answer.xml);
      ctx.log.debug({ requestId, op: `elbv2:${answer.operation}`, caller, status: answer.status, error: answer.errorCode, ms: Date.now() - started }, 'ELBv2 request');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith(TARGET_PREFIX)) {
      throw ecsError('UnknownOperationException', target ? `unknown target ${JSON.stringify(target.slice(0, 120))}: this endpoint speaks ${ECS_METADATA.targetPrefix}.<Operation>` : 'X-Amz-Target is missing: it names the ECS operation (AmazonEC2ContainerServiceV20141113.<Operation>)');
    }
    op = target.slice(TARGET_PREFIX.length);
    if (!isOperation(op)) throw ecsError('UnknownOperationException', `${JSON.stringify(op.slice(0, 80))} is not an ECS operation`);
    const handler = ECS_HANDLERS[op] as EcsHandler<EcsOperationName> | undefined;
    if (!handler) throw ecsError('UnsupportedFeatureException', `${op} is not supported by Berth (see docs/ecs-api.md for the operations it speaks)`);
    let parsed: unknown;
    try {
      parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw ecsError('SerializationException', `the request body is not valid JSON: ${(err as Error).message}`);
    }
    if (record) keys.authorize(record, op, parsed);
    const berth = berthSettingsOf(op, parsed);
    const checked = validateInput(op, berth.body);
    if (!checked.ok) {
      const lines = checked.errors.slice(0, 20).map((e) => formatFieldError(e));
      throw ecsError('InvalidParameterException', `${op}: ${checked.errors.length} problem${checked.errors.length === 1 ? '' : 's'}: ${lines.join('; ')}`);
    }
    if (checked.ignored.length > 0) {
      res.setHeader('x-berth-ignored-fields', checked.ignored.slice(0, 20).join(',').slice(0, 2000).replace(/[^\x20-\x7e]/g, '?'));
      ctx.log.info({ requestId, op, ignored: checked.ignored.slice(0, 50) }, 'ECS request: fields not in the ECS model ignored');
    }
    const result = await handler(restoreBerthSettings(checked.value, berth.at) as never, { ctx, requestId, caller });
    const output = OPERATIONS[op].output;
    const wire = output ? toWire(output, result) : {};
    send(res, 200, requestId, JSON.stringify(wire ?? {}));
    ctx.log.debug({ requestId, op, caller, ms: Date.now() - started }, 'ECS request');
  } catch (err) {
    const e: EcsError = toEcsError(err, op, ctx.log);
    if (e.status >= 500) ctx.log.warn({ requestId, op, type: e.type }, 'ECS request failed');
    res.setHeader('x-amzn-ErrorType', e.type);
    if (e.status === 413) res.setHeader('connection', 'close');
    send(res, e.status, requestId, JSON.stringify({ __type: e.type, message: e.message }));
  }
}

/** An AWS Query request (ELBv2): form-encoded, or no X-Amz-Target and a body that names an Action. */
function isQueryRequest(req: IncomingMessage, body: Buffer): boolean {
  if (req.headers['x-amz-target']) return false;
  const type = String(req.headers['content-type'] ?? '');
  return type.startsWith('application/x-www-form-urlencoded') || /^Action=|&Action=/.test(body.subarray(0, 4096).toString('latin1'));
}

/** Authentication and authorization errors in ELB's words. */
function elbv2AuthError(err: unknown): Elbv2Error {
  if (!(err instanceof EcsError)) return err as Elbv2Error;
  const map: Record<string, [string, number]> = {
    AccessDeniedException: ['AccessDenied', 403],
    ThrottlingException: ['Throttling', 400],
    ExpiredTokenException: ['ExpiredToken', 403],
    UnrecognizedClientException: ['InvalidClientTokenId', 403],
    InvalidSignatureException: ['SignatureDoesNotMatch', 403],
    IncompleteSignatureException: ['IncompleteSignature', 400],
  };
  const [code, status] = map[err.type] ?? [err.type.replace(/Exception$/, ''), err.status];
  return new Elbv2Error(code, err.message, status);
}

function sendElbv2Error(res: ServerResponse, requestId: string, err: unknown): void {
  const e = elbv2AuthError(err);
  sendXml(res, e.status, requestId, errorXml(e, requestId));
}

function sendXml(res: ServerResponse, status: number, requestId: string, text: string): void {
  if (res.headersSent) return;
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': body.length, 'x-amzn-RequestId': requestId, date: new Date().toUTCString() });
  res.end(body);
}

function send(res: ServerResponse, status: number, requestId: string, text: string): void {
  if (res.headersSent) return;
  // Encoded once (a DescribeTasks answer is ~150 KiB).
  const body = Buffer.from(text);
  res.writeHead(status, {
    'content-type': JSON_11,
    'content-length': body.length,
    'x-amzn-RequestId': requestId,
    date: new Date().toUTCString(),
  });
  res.end(body);
}

/** The whole body, up to MAX_BODY_BYTES (413 past it, without reading the rest). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      return reject(ecsError('RequestEntityTooLargeException', `the request body is ${declared} bytes; the ECS endpoint takes at most ${MAX_BODY_BYTES}`, 413));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(ecsError('RequestEntityTooLargeException', `the request body is over ${MAX_BODY_BYTES} bytes, the most the ECS endpoint takes`, 413));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Berth's own cluster setting (nodeLostGraceSeconds) beside ECS's
 * containerInsights: the model's enum knows only the latter, so the name is
 * carried past the model check under it and put back by position.
 */
const SETTING_OPS = new Set(['CreateCluster', 'UpdateCluster', 'UpdateClusterSettings']);
const BERTH_SETTING = 'nodeLostGraceSeconds';
const CARRIED = 'containerInsights';

function berthSettingsOf(op: string, body: unknown): { body: unknown; at: number[] } {
  const settings = SETTING_OPS.has(op) && body && typeof body === 'object' ? (body as Json).settings : undefined;
  if (!Array.isArray(settings)) return { body, at: [] };
  const at = settings.flatMap((s, i) => (s && typeof s === 'object' && (s as Json).name === BERTH_SETTING ? [i] : []));
  if (at.length === 0) return { body, at };
  return { body: { ...(body as Json), settings: settings.map((s, i) => (at.includes(i) ? { ...(s as Json), name: CARRIED } : s)) }, at };
}

function restoreBerthSettings(value: unknown, at: number[]): unknown {
  if (at.length === 0) return value;
  const settings = (value as Json).settings as Json[];
  return { ...(value as Json), settings: settings.map((s, i) => (at.includes(i) ? { ...s, name: BERTH_SETTING } : s)) };
}
