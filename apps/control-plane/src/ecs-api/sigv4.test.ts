import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import { ECSClient, ListClustersCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { SignatureV4, getCanonicalHeaders } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifySigV4, type SignedRequest, type SigV4Result } from './sigv4.js';

const AKID = 'BKIA0123456789ABCDEF';
const SECRET = 'q0Xr8yG+3b/ZkXc1mTn4W2e5Yh6Uj7Ik8Ol9Pa0Sd1Fg';
const lookup = (keys: Record<string, string>) => async (id: string) => keys[id];
const knownKey = lookup({ [AKID]: SECRET });

const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const NOW = new Date('2026-03-14T15:09:26Z');
const JSON_TYPE = 'application/x-amz-json-1.1';
const HOST = 'ecs.berth.test:8443';

/** RFC 3986 encoding as the AWS SDKs put a query on the wire. */
const escapeUri = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface SignInput {
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: Buffer;
  region?: string;
  service?: string;
  accessKeyId?: string;
  secret?: string;
  signingDate?: Date;
  applyChecksum?: boolean;
}

/** Sign with the real signer (@smithy/signature-v4, which the AWS SDK for JavaScript v3 uses) and give the request as node would receive it. */
async function smithySigned(input: SignInput = {}): Promise<SignedRequest> {
  const body = input.body ?? Buffer.from('{"cluster":"lab","taskDefinition":"web:3","count":1}');
  const signer = new SignatureV4({
    service: input.service ?? 'ecs',
    region: input.region ?? 'eu-west-3',
    credentials: { accessKeyId: input.accessKeyId ?? AKID, secretAccessKey: input.secret ?? SECRET },
    sha256: Sha256,
    applyChecksum: input.applyChecksum ?? true,
  });
  const query = input.query ?? {};
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: 'ecs.berth.test',
      port: 8443,
      path: input.path ?? '/',
      query,
      headers: {
        host: HOST,
        'content-type': JSON_TYPE,
        'content-length': String(body.length),
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.RunTask',
        ...input.headers,
      },
      body,
    },
    { signingDate: input.signingDate ?? NOW },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return { method: 'POST', path: input.path ?? '/', query: wireQuery(query), headers, body };
}

function wireQuery(query: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) parts.push(`${escapeUri(k)}=${escapeUri(one)}`);
  return parts.join('&');
}

const expectOk = (r: SigV4Result) => {
  if (!r.ok) expect.fail(`${r.error}: ${r.message}`);
  return r;
};
const expectError = (r: SigV4Result, error: string, message?: RegExp) => {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toBe(error);
  if (message) expect(r.message).toMatch(message);
};

const withAuth = (req: SignedRequest, f: (auth: string) => string): SignedRequest => ({
  ...req,
  headers: { ...req.headers, authorization: f(req.headers.authorization as string) },
});

describe('verifySigV4: the AWS documentation example', () => {
  // "Create a signed AWS API request", IAM ListUsers, as documented (GET, empty body).
  const example: SignedRequest = {
    method: 'GET',
    path: '/',
    query: 'Action=ListUsers&Version=2010-05-08',
    headers: {
      host: 'iam.amazonaws.com',
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    },
    body: Buffer.alloc(0),
  };
  const exampleKey = lookup({ AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
  const at = new Date('2015-08-30T12:36:00Z');

  it('verifies the documented signature', async () => {
    const r = expectOk(await verifySigV4(example, exampleKey, at, { service: 'iam' }));
    expect(r).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', date: at });
  });

  it('verifies it from rawHeaders too, whatever the case of the names, and with the query in another order', async () => {
    const rawHeaders = ['Host', 'iam.amazonaws.com', 'Content-Type', 'application/x-www-form-urlencoded;  charset=utf-8', 'X-Amz-Date', '20150830T123600Z', 'Authorization', example.headers.authorization as string];
    expectOk(await verifySigV4({ ...example, rawHeaders, query: 'Version=2010-05-08&Action=ListUsers' }, exampleKey, at, { service: 'iam' }));
  });

  it('refuses it for the ecs service, or with another secret', async () => {
    expectError(await verifySigV4(example, exampleKey, at), 'InvalidSignatureException', /scoped to correct service: 'ecs', not 'iam'/);
    expectError(await verifySigV4(example, lookup({ AKIDEXAMPLE: 'other' }), at, { service: 'iam' }), 'InvalidSignatureException', /does not match/);
  });

  it('refuses it when the query changes', async () => {
    expectError(await verifySigV4({ ...example, query: 'Action=ListRoles&Version=2010-05-08' }, exampleKey, at, { service: 'iam' }), 'InvalidSignatureException');
  });
});

describe('verifySigV4: requests signed by @smithy/signature-v4', () => {
  it('verifies a plain ECS request, with and without x-amz-content-sha256', async () => {
    for (const applyChecksum of [true, false]) {
      const req = await smithySigned({ applyChecksum });
      expect('x-amz-content-sha256' in req.headers).toBe(applyChecksum);
      const r = expectOk(await verifySigV4(req, knownKey, NOW));
      expect(r).toEqual({ ok: true, accessKeyId: AKID, region: 'eu-west-3', date: NOW });
    }
  });

  const segment = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/),
    fc.constantFrom('', '.', '..', '%20', '%2F', '%C3%A9', 'a%25b', "(x)!*'", 'a+b', 'a=b', 'a:b@c', '$&,;'),
  );
  const rawPath = fc.tuple(fc.array(segment, { maxLength: 5 }), fc.boolean()).map(([segs, slash]) => `/${segs.join('/')}${slash && segs.length ? '/' : ''}`);
  const queryParams = fc
    .array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 8 })), { maxLength: 5 })
    .map((pairs) => {
      const q: Record<string, string[]> = {};
      for (const [k, v] of pairs) {
        if (/^x-amz-(signature|algorithm|credential)$/i.test(k)) continue;
        (q[k] ??= []).push(v);
      }
      return q;
    });
  const region = fc.oneof(fc.constantFrom('us-east-1', 'eu-west-3', 'ap-southeast-2', 'berth-lab'), fc.stringMatching(/^[a-z0-9-]{1,20}$/));
  const target = fc.stringMatching(/^[A-Za-z]{1,30}$/).map((op) => `AmazonEC2ContainerServiceV20141113.${op}`);
  const secret = fc.stringMatching(/^[A-Za-z0-9+/]{40}$/);
  const skewMs = fc.integer({ min: -4 * 60_000, max: 4 * 60_000 });

  it('verifies random bodies, targets, regions, paths, query strings, keys and clocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        target,
        region,
        rawPath,
        queryParams,
        secret,
        fc.boolean(),
        skewMs,
        fc.boolean(),
        async (body, tgt, rgn, path, query, sec, applyChecksum, skew, useRaw) => {
          const signingDate = new Date(NOW.getTime() + skew);
          const req = await smithySigned({
            body: Buffer.from(body),
            headers: { 'x-amz-target': tgt, 'x-berth-note': 'a  b\t c', 'user-agent': 'aws-cli/2 (not signed)' },
            region: rgn,
            path,
            query,
            secret: sec,
            applyChecksum,
            signingDate,
          });
          if (useRaw) {
            // node's rawHeaders: names as sent (any case), values as on the wire.
            req.rawHeaders = Object.entries(req.headers).flatMap(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v as string]);
          }
          const r = expectOk(await verifySigV4(req, lookup({ [AKID]: sec }), NOW));
          expect(r.region).toBe(rgn);
          expect(r.date.getTime()).toBe(Math.floor(signingDate.getTime() / 1000) * 1000);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('verifies requests made by the AWS SDK ECS client itself', async () => {
    const captured: SignedRequest[] = [];
    const client = new ECSClient({
      region: 'eu-west-3',
      endpoint: `https://${HOST}`,
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: { method: string; path: string; query?: Record<string, unknown>; headers: Record<string, string>; body?: unknown }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
          // the JSON codec's body is a Uint8Array whose valueOf() is a string: copy its bytes, not its value
          const u8 = request.body as Uint8Array | string | undefined;
          const body = typeof u8 === 'string' ? Buffer.from(u8) : u8 ? Buffer.from(new Uint8Array(u8.buffer, u8.byteOffset, u8.byteLength)) : Buffer.alloc(0);
          captured.push({ method: request.method, path: request.path, query: '', headers, body });
          return { response: { statusCode: 200, headers: { 'content-type': JSON_TYPE }, body: Readable.from([Buffer.from('{}')]) } };
        },
      },
    });
    await client.send(new ListClustersCommand({}));
    await client.send(new RunTaskCommand({ cluster: 'lab', taskDefinition: 'web:3', count: 2, overrides: { containerOverrides: [{ name: 'app', command: ['sh', '-c', 'echo héllo'] }] } }));
    expect(captured).toHaveLength(2);
    for (const req of captured) {
      expect(req.headers['x-amz-target']).toMatch(/^AmazonEC2ContainerServiceV20141113\./);
      const r = expectOk(await verifySigV4(req, knownKey, new Date()));
      expect(r.region).toBe('eu-west-3');
      const tampered = { ...req, body: Buffer.concat([req.body, Buffer.from(' ')]) };
      expectError(await verifySigV4(tampered, knownKey, new Date()), 'InvalidSignatureException');
    }
  });

  it('verifies a request dated by the Date header (no x-amz-date), signed with the smithy building blocks', async () => {
    // SignatureV4 always adds x-amz-date; build the same signature over a Date header instead.
    class DateHeaderSigner extends SignatureV4 {
      async signWithDateHeader(request: { method: string; protocol: string; hostname: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: Buffer }, date: Date) {
        const { longDate, shortDate } = this.formatDate(date);
        const canonicalHeaders = getCanonicalHeaders(request);
        const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, sha256hex(request.body));
        const scope = `${shortDate}/eu-west-3/ecs/aws4_request`;
        const stringToSign = await this.createStringToSign(longDate, scope, canonicalRequest, 'AWS4-HMAC-SHA256');
        const signature = await this.sign(stringToSign, { signingDate: date });
        return `AWS4-HMAC-SHA256 Credential=${AKID}/${scope},SignedHeaders=${this.getCanonicalHeaderList(canonicalHeaders)},Signature=${signature}`;
      }
    }
    const signer = new DateHeaderSigner({ service: 'ecs', region: 'eu-west-3', credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, sha256: Sha256 });
    const body = Buffer.from('{}');
    const headers = { host: HOST, date: NOW.toUTCString(), 'content-type': JSON_TYPE, 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListClusters' };
    const query = { maxResults: '10' };
    const authorization = await signer.signWithDateHeader({ method: 'POST', protocol: 'https:', hostname: 'ecs.berth.test', path: '/', query, headers, body }, NOW);
    const req: SignedRequest = { method: 'POST', path: '/', query: 'maxResults=10', headers: { ...headers, authorization }, body };
    expect(expectOk(await verifySigV4(req, knownKey, NOW)).date).toEqual(NOW);
    expectError(await verifySigV4({ ...req, headers: { ...req.headers, date: new Date(NOW.getTime() + 1000).toUTCString() } }, knownKey, NOW), 'InvalidSignatureException');
  });
});

describe('verifySigV4: tampering', () => {
  it('refuses a body changed by one byte (without x-amz-content-sha256)', async () => {
    const req = await smithySigned({ applyChecksum: false });
    const body = Buffer.from(req.body);
    body[10] ^= 1;
    expectError(await verifySigV4({ ...req, body }, knownKey, NOW), 'InvalidSignatureException', /signature we calculated does not match/);
  });

  it('refuses a body changed by one byte (with x-amz-content-sha256)', async () => {
    const req = await smithySigned({ applyChecksum: true });
    const body = Buffer.from(req.body);
    body[body.length - 1] ^= 0x40;
    expectError(await verifySigV4({ ...req, body }, knownKey, NOW), 'InvalidSignatureException', /x-amz-content-sha256' header does not match/);
  });

  it('refuses an x-amz-content-sha256 that does not match the body, even signed (the signature itself holds)', async () => {
    const other = Buffer.from('{"cluster":"prod"}');
    const req = await smithySigned({ headers: { 'x-amz-content-sha256': sha256hex(other) } });
    expect(req.headers.authorization).toContain('x-amz-content-sha256');
    expectError(await verifySigV4(req, knownKey, NOW), 'InvalidSignatureException', /does not match what was computed/);
    // the header matched to another body, and that body sent: fine
    expectOk(await verifySigV4({ ...req, body: other }, knownKey, NOW));
  });

  it('refuses a changed signed header (x-amz-target)', async () => {
    const req = await smithySigned();
    const headers = { ...req.headers, 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DeleteCluster' };
    expectError(await verifySigV4({ ...req, headers }, knownKey, NOW), 'InvalidSignatureException', /does not match/);
  });

  it('refuses a date moved by one second', async () => {
    const req = await smithySigned();
    expect(req.headers['x-amz-date']).toBe('20260314T150926Z');
    for (const d of ['20260314T150927Z', '20260314T150925Z']) {
      expectError(await verifySigV4({ ...req, headers: { ...req.headers, 'x-amz-date': d } }, knownKey, NOW), 'InvalidSignatureException', /does not match/);
    }
  });

  it('refuses a changed scope region', async () => {
    const req = await smithySigned({ region: 'eu-west-3' });
    expectError(await verifySigV4(withAuth(req, (a) => a.replace('/eu-west-3/', '/eu-west-1/')), knownKey, NOW), 'InvalidSignatureException', /does not match/);
  });

  it('refuses a scope naming another service, clearly', async () => {
    const req = await smithySigned();
    expectError(await verifySigV4(withAuth(req, (a) => a.replace('/ecs/', '/sts/')), knownKey, NOW), 'InvalidSignatureException', /Credential should be scoped to correct service: 'ecs', not 'sts'/);
    // signed for sts for real: same answer
    expectError(await verifySigV4(await smithySigned({ service: 'sts' }), knownKey, NOW), 'InvalidSignatureException', /scoped to correct service/);
  });

  it('refuses a scope date other than the request day, and another terminator', async () => {
    const req = await smithySigned();
    expectError(await verifySigV4(withAuth(req, (a) => a.replace('/20260314/', '/20260313/')), knownKey, NOW), 'InvalidSignatureException', /'20260313' != '20260314'/);
    expectError(await verifySigV4(withAuth(req, (a) => a.replace('/aws4_request', '/aws5_request')), knownKey, NOW), 'InvalidSignatureException', /terminator/);
  });

  it('refuses an altered signature', async () => {
    const req = await smithySigned();
    const alter = (a: string) => a.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
    expectError(await verifySigV4(withAuth(req, alter), knownKey, NOW), 'InvalidSignatureException', /does not match/);
    // upper-case hex is the same signature
    expectOk(await verifySigV4(withAuth(req, (a) => a.replace(/Signature=([0-9a-f]{64})/, (_m, s: string) => `Signature=${s.toUpperCase()}`)), knownKey, NOW));
  });

  it('refuses a reduced SignedHeaders list', async () => {
    const req = await smithySigned();
    expect(req.headers.authorization).toContain('SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,');
    for (const drop of ['content-length;', 'content-type;', 'x-amz-content-sha256;']) {
      expectError(await verifySigV4(withAuth(req, (a) => a.replace(drop, '')), knownKey, NOW), 'InvalidSignatureException', /does not match/);
    }
  });

  it('requires host, x-amz-date and x-amz-target to be signed (IncompleteSignatureException)', async () => {
    const req = await smithySigned();
    expectError(await verifySigV4(withAuth(req, (a) => a.replace(';host;', ';')), knownKey, NOW), 'IncompleteSignatureException', /'Host' must be a signed header/);
    expectError(await verifySigV4(withAuth(req, (a) => a.replace(';x-amz-date;', ';')), knownKey, NOW), 'IncompleteSignatureException', /'X-Amz-Date' must be a signed header/);
    expectError(await verifySigV4(withAuth(req, (a) => a.replace(';x-amz-target,', ',')), knownKey, NOW), 'IncompleteSignatureException', /'X-Amz-Target' must be a signed header/);
  });

  it('refuses a request that lacks a header it signed', async () => {
    const req = await smithySigned();
    const { 'content-type': _gone, ...headers } = req.headers;
    expectError(await verifySigV4({ ...req, headers }, knownKey, NOW), 'InvalidSignatureException', /lacks the header 'content-type'/);
  });

  it('refuses a changed path or query', async () => {
    const req = await smithySigned({ path: '/a/b', query: { x: '1' } });
    expectOk(await verifySigV4(req, knownKey, NOW));
    expectError(await verifySigV4({ ...req, path: '/a/c' }, knownKey, NOW), 'InvalidSignatureException');
    expectError(await verifySigV4({ ...req, query: 'x=2' }, knownKey, NOW), 'InvalidSignatureException');
    expectError(await verifySigV4({ ...req, method: 'PUT' }, knownKey, NOW), 'InvalidSignatureException');
  });

  it('refuses UNSIGNED-PAYLOAD', async () => {
    const req = await smithySigned({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expectError(await verifySigV4(req, knownKey, NOW), 'InvalidSignatureException', /payload must be signed/);
    const streaming = await smithySigned({ headers: { 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } });
    expectError(await verifySigV4(streaming, knownKey, NOW), 'InvalidSignatureException', /not supported/);
  });

  it('does not accept a signature made with a cached key once the secret has changed', async () => {
    const req = await smithySigned();
    expectOk(await verifySigV4(req, knownKey, NOW)); // the derived key is now cached
    expectError(await verifySigV4(req, lookup({ [AKID]: `${SECRET}x` }), NOW), 'InvalidSignatureException', /does not match/);
    expectOk(await verifySigV4(await smithySigned({ secret: `${SECRET}x` }), lookup({ [AKID]: `${SECRET}x` }), NOW));
  });
});

describe('verifySigV4: clock skew', () => {
  const minutes = (m: number) => new Date(NOW.getTime() + m * 60_000);

  it('refuses a request signed 6 minutes ago, stating both times', async () => {
    const req = await smithySigned({ signingDate: minutes(-6) });
    expectError(await verifySigV4(req, knownKey, NOW), 'InvalidSignatureException', /^Signature expired: 20260314T150326Z is now earlier than 20260314T150426Z \(20260314T150926Z - 5 min\.\)$/);
  });

  it('refuses a request signed 6 minutes ahead, stating both times', async () => {
    const req = await smithySigned({ signingDate: minutes(6) });
    expectError(await verifySigV4(req, knownKey, NOW), 'InvalidSignatureException', /^Signature not yet current: 20260314T151526Z is still later than 20260314T151426Z \(20260314T150926Z \+ 5 min\.\)$/);
  });

  it('accepts 4 minutes either way, and exactly the limit', async () => {
    expectOk(await verifySigV4(await smithySigned({ signingDate: minutes(-4) }), knownKey, NOW));
    expectOk(await verifySigV4(await smithySigned({ signingDate: minutes(4) }), knownKey, NOW));
    expectOk(await verifySigV4(await smithySigned({ signingDate: minutes(-5) }), knownKey, NOW));
    expectOk(await verifySigV4(await smithySigned({ signingDate: minutes(5) }), knownKey, NOW));
  });

  it('honours maxSkewMs', async () => {
    const req = await smithySigned({ signingDate: minutes(-2) });
    expectError(await verifySigV4(req, knownKey, NOW, { maxSkewMs: 60_000 }), 'InvalidSignatureException', /Signature expired: .* - 1 min\./);
    expectOk(await verifySigV4(req, knownKey, NOW, { maxSkewMs: 3 * 60_000 }));
  });

  it('checks the clock before looking the key up', async () => {
    let lookups = 0;
    const req = await smithySigned({ signingDate: minutes(-60) });
    expectError(await verifySigV4(req, async () => { lookups++; return SECRET; }, NOW), 'InvalidSignatureException', /expired/);
    expect(lookups).toBe(0);
  });
});

describe('verifySigV4: credentials and malformed authentication', () => {
  it('answers UnrecognizedClientException for an unknown access key', async () => {
    const req = await smithySigned({ accessKeyId: 'BKIAFFFFFFFFFFFFFFFF' });
    expectError(await verifySigV4(req, knownKey, NOW), 'UnrecognizedClientException', /^The security token included in the request is invalid\.$/);
    expectError(await verifySigV4(await smithySigned(), lookup({ [AKID]: '' }), NOW), 'UnrecognizedClientException');
  });

  it('answers MissingAuthenticationTokenException without an Authorization header', async () => {
    const { authorization: _a, ...headers } = (await smithySigned()).headers;
    const req: SignedRequest = { method: 'POST', path: '/', query: '', headers, body: Buffer.from('{}') };
    expectError(await verifySigV4(req, knownKey, NOW), 'MissingAuthenticationTokenException');
    expectError(await verifySigV4({ ...req, headers: { ...headers, authorization: '  ' } }, knownKey, NOW), 'MissingAuthenticationTokenException');
  });

  it('answers IncompleteSignatureException for presigned (query-string) authentication', async () => {
    const req: SignedRequest = {
      method: 'POST',
      path: '/',
      query: `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${AKID}%2F20260314%2Feu-west-3%2Fecs%2Faws4_request&X-Amz-Date=20260314T150926Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`,
      headers: { host: HOST },
      body: Buffer.alloc(0),
    };
    expectError(await verifySigV4(req, knownKey, NOW), 'IncompleteSignatureException', /Query-string authentication .* not supported/);
    const signed = await smithySigned();
    expectError(await verifySigV4({ ...signed, query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }, knownKey, NOW), 'IncompleteSignatureException', /Only one authentication mechanism/);
  });

  it('answers IncompleteSignatureException for garbage Authorization headers', async () => {
    const req = await smithySigned();
    const sig = (req.headers.authorization as string).match(/Signature=([0-9a-f]{64})/)![1]!;
    const good = `Credential=${AKID}/20260314/eu-west-3/ecs/aws4_request`;
    const sh = 'SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target';
    const garbage = [
      'garbage',
      'Bearer berth_abc_def',
      'AWS4-HMAC-SHA256',
      'AWS4-HMAC-SHA256 garbage',
      `AWS4-ECDSA-P256-SHA256 ${good}, ${sh}, Signature=${sig}`,
      `aws4-hmac-sha256 ${good}, ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, ${sh}`,
      `AWS4-HMAC-SHA256 ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, ${sh}, Signature=${sig}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, ${sh}, Signature=${sig}, Extra=1`,
      `AWS4-HMAC-SHA256 ${good}, ${sh}, Signature=${sig.slice(1)}`,
      `AWS4-HMAC-SHA256 ${good}, ${sh}, Signature=${sig.slice(1)}g`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20260314/eu-west-3/ecs, ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/2026-03-14/eu-west-3/ecs/aws4_request, ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=/20260314/eu-west-3/ecs/aws4_request, ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${AKID}/20260314/eu west 3/ecs/aws4_request, ${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, SignedHeaders=Host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, SignedHeaders=x-amz-date;host, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, SignedHeaders=host;host;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, SignedHeaders=host;;x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 ${good}, SignedHeaders=, Signature=${sig}`,
    ];
    for (const authorization of garbage) {
      const r = await verifySigV4({ ...req, headers: { ...req.headers, authorization } }, knownKey, NOW);
      expect({ authorization, error: r.ok ? 'ok' : r.error }).toEqual({ authorization, error: 'IncompleteSignatureException' });
    }
  });

  it('tolerates the separators real clients send between the Authorization parameters', async () => {
    const req = await smithySigned();
    const a = req.headers.authorization as string;
    expect(a).toMatch(/^AWS4-HMAC-SHA256 Credential=\S+, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/);
    for (const variant of [a.replace(/, /g, ','), a.replace(/, /g, ' ,  '), a.replace(/, /g, ' '), a.replace(' ', '  '), `${a} `]) {
      expectOk(await verifySigV4({ ...req, headers: { ...req.headers, authorization: variant } }, knownKey, NOW));
    }
  });

  it('refuses more than one Authorization header (rawHeaders)', async () => {
    const req = await smithySigned();
    const rawHeaders = Object.entries(req.headers).flatMap(([k, v]) => [k, v as string]);
    expectOk(await verifySigV4({ ...req, rawHeaders }, knownKey, NOW));
    rawHeaders.push('Authorization', req.headers.authorization as string);
    expectError(await verifySigV4({ ...req, rawHeaders }, knownKey, NOW), 'IncompleteSignatureException', /one Authorization header/);
  });

  it('answers IncompleteSignatureException without a date, or with an unreadable one', async () => {
    const req = await smithySigned();
    const { 'x-amz-date': _d, ...noDate } = req.headers;
    expectError(await verifySigV4({ ...req, headers: noDate }, knownKey, NOW), 'IncompleteSignatureException', /either a 'X-Amz-Date' or a 'Date' header/);
    for (const d of ['2026-03-14T15:09:26Z', '20260314T150926', '20260230T150926Z', '20261314T150926Z', '20260314T250926Z', 'yesterday']) {
      expectError(await verifySigV4({ ...req, headers: { ...req.headers, 'x-amz-date': d } }, knownKey, NOW), 'IncompleteSignatureException', /ISO-8601 'basic format'/);
    }
  });

  it('passes the access key id, exactly as in the credential, to the lookup; a key id that cannot be one is not looked up', async () => {
    const seen: string[] = [];
    const spy = async (id: string) => {
      seen.push(id);
      return id === AKID ? SECRET : undefined;
    };
    expectOk(await verifySigV4(await smithySigned(), spy, NOW));
    expectError(await verifySigV4(await smithySigned({ accessKeyId: 'BKIA*' }), spy, NOW), 'UnrecognizedClientException');
    expect(seen).toEqual([AKID]);
  });

  it('lets an error from the lookup propagate', async () => {
    await expect(verifySigV4(await smithySigned(), async () => { throw new Error('store down'); }, NOW)).rejects.toThrow('store down');
  });
});
