/**
 * AWS Signature Version 4 verification for requests to the ECS endpoint (AWS JSON 1.1).
 *
 * Pure: no IO, only node:crypto. The caller reads the request (method, raw path, raw query,
 * headers, the whole body), gives a way to look a secret access key up, and the current time.
 *
 * Error names, as the AWS JSON protocol answers them (the SDKs and the CLI know these; send the
 * name as `__type` / `x-amzn-ErrorType`, and a `Date` response header, which the SDKs use to
 * correct their clock after an InvalidSignatureException):
 *
 * - `MissingAuthenticationTokenException`: no Authorization header (or an empty one), and no
 *   query-string authentication either. The request is anonymous. (AWS: HTTP 403.)
 * - `IncompleteSignatureException`: the request is signed, but the signature cannot be checked
 *   because its parts are malformed or missing: an Authorization header that is not
 *   `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` (unknown algorithm,
 *   missing/duplicated/unknown parameters, a Credential that is not
 *   `AKID/yyyymmdd/region/service/aws4_request`, a Signature that is not 64 hex digits, a
 *   SignedHeaders list that is not lower-case, sorted and unique); no `x-amz-date` nor `Date`
 *   header, or one that cannot be parsed; SignedHeaders without `host`, without the date header
 *   in use, or without `x-amz-target` when the request has one (it names the operation);
 *   presigned (query-string) authentication, which is not supported. (AWS: HTTP 400.)
 * - `InvalidSignatureException`: the signature is well formed but does not hold: it does not
 *   match (body, a signed header, the date, the path or query changed, wrong secret...); the
 *   credential scope names another service, another terminator than `aws4_request`, or a day
 *   that is not the request's; a signed header is absent; `x-amz-content-sha256` does not match
 *   the body or is not a SHA-256 (UNSIGNED-PAYLOAD and the streaming values are refused: see
 *   below); the request time is more than `maxSkewMs` away from now ("Signature expired: ... is
 *   now earlier than ..." / "Signature not yet current: ... is still later than ..."). The SDKs
 *   treat this name as a possible clock-skew error. (AWS: HTTP 400, 403 for some services.)
 * - `UnrecognizedClientException`: the access key id is unknown (the lookup answers undefined or
 *   an empty secret) or cannot be one: "The security token included in the request is invalid."
 *   (AWS: HTTP 400.)
 *
 * Checks run in that order: authentication present, Authorization parsed, date parsed, scope,
 * clock skew, access key lookup, payload hash, signature. An error thrown by `lookupSecret`
 * propagates (the caller answers 500).
 *
 * UNSIGNED-PAYLOAD: refused (InvalidSignatureException). The JSON protocol has no streaming
 * operation, every AWS SDK signs the payload of an ECS request, and an unsigned payload would let
 * anyone who sees a request in flight (a TLS-terminating proxy, or plain HTTP) replay its headers
 * with another body, within the skew window. `x-amz-content-sha256`, when present, must be the
 * SHA-256 of the body (hex, any case), signed or not; the canonical request's payload hash is the
 * header's value when the header is signed, else the SHA-256 of the body.
 *
 * Canonicalisation (as the AWS SDKs do it for services other than S3):
 * - URI: the raw path, normalised (empty, `.` and `..` segments removed; a trailing `/` kept) and
 *   then URI-encoded once more, byte by byte, `/` kept (so `%20` on the wire becomes `%2520`).
 * - Query: each `k=v` of the raw query string percent-decoded to bytes, RFC 3986 encoded again
 *   (`+` is a literal plus, not a space), sorted by key then value; `k` alone is `k=`.
 * - Headers: the signed ones, as listed, with each value trimmed and its runs of spaces/tabs
 *   collapsed; repeated headers joined with `,` in arrival order (from `rawHeaders` when given:
 *   node's `headers` has already joined some with `, ` and dropped duplicates of others). `host`
 *   falls back to HTTP/2's `:authority`.
 *
 * `x-amz-security-token` is not interpreted: a request carrying one is checked like any other
 * (the secret proves the key).
 *
 * Derived signing keys are cached per (access key id, secret, day, region, service) in a small
 * LRU, filled only after a successful verification so unauthenticated requests cannot churn it.
 * Messages never contain a secret, a derived key or the expected signature.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedRequest {
  method: string;
  /** The raw path as received (percent-encoded as on the wire), without the query. */
  path: string;
  /** The raw query string without '?' ('' if none). */
  query: string;
  /** node's IncomingMessage.headers (lower-case keys). */
  headers: Record<string, string | string[] | undefined>;
  /** node's IncomingMessage.rawHeaders, when available: repeated headers are then exact. */
  rawHeaders?: string[];
  body: Buffer;
}

export interface SigV4Settings {
  /** The service the credential scope must name: 'ecs'. */
  service: string;
  /** How far the request time may be from now, either way. Default 5 minutes. */
  maxSkewMs: number;
}

export type SigV4ErrorCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; date: Date }
  | { ok: false; error: SigV4ErrorCode; message: string };

export const SIGV4_DEFAULTS: Readonly<SigV4Settings> = Object.freeze({ service: 'ecs', maxSkewMs: 5 * 60_000 });

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SIGNING_KEY_CACHE_SIZE = 256;

const fail = (error: SigV4ErrorCode, message: string): SigV4Result => ({ ok: false, error, message });
const incomplete = (message: string) => fail('IncompleteSignatureException', message);
const invalid = (message: string) => fail('InvalidSignatureException', message);
const unrecognized = () => fail('UnrecognizedClientException', 'The security token included in the request is invalid.');

/** Echo a client-sent value in a message: bounded, printable ASCII only. */
const echo = (s: string): string => {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
};

export async function verifySigV4(
  req: SignedRequest,
  lookupSecret: (accessKeyId: string) => Promise<string | undefined>,
  now: Date,
  settings?: Partial<SigV4Settings>,
): Promise<SigV4Result> {
  const service = settings?.service ?? SIGV4_DEFAULTS.service;
  const maxSkewMs = settings?.maxSkewMs ?? SIGV4_DEFAULTS.maxSkewMs;

  // 1. Authentication present, and only one kind of it.
  const authValues = headerValues(req, 'authorization');
  const queryAuth = hasQueryAuth(req.query);
  if (authValues.length === 0 || authValues.every((v) => v.trim() === '')) {
    if (queryAuth) return incomplete('Query-string authentication (X-Amz-Algorithm, presigned URLs) is not supported: sign the Authorization header.');
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (authValues.length > 1) return incomplete('Only one Authorization header is allowed.');
  if (queryAuth) return incomplete('Only one authentication mechanism is allowed: the Authorization header or the X-Amz-Algorithm query parameter, not both.');

  // 2. The Authorization header.
  const auth = parseAuthorization(authValues[0]!);
  if ('error' in auth) return auth.error;
  const { accessKeyId, scopeDate, region, scopeService, terminator, signedHeaders, signature } = auth;

  // 3. The request date, and the headers that must be signed.
  const amzDate = singleHeader(req, 'x-amz-date');
  const httpDate = singleHeader(req, 'date');
  let requestTime: Date;
  let dateHeader: string;
  if (amzDate !== undefined) {
    const t = parseBasicIso(amzDate.trim());
    if (!t) return incomplete(`Date must be in ISO-8601 'basic format' (yyyyMMddTHHmmssZ). Got '${echo(amzDate)}'.`);
    requestTime = t;
    dateHeader = 'x-amz-date';
  } else if (httpDate !== undefined) {
    const t = parseBasicIso(httpDate.trim()) ?? parseImfFixdate(httpDate.trim());
    if (!t) return incomplete(`The Date header must be an HTTP date (Sun, 06 Nov 1994 08:49:37 GMT) or in ISO-8601 'basic format'. Got '${echo(httpDate)}'.`);
    requestTime = t;
    dateHeader = 'date';
  } else {
    return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signedSet = new Set(signedHeaders);
  if (!signedSet.has('host')) return incomplete("'Host' must be a signed header (listed in SignedHeaders).");
  if (!signedSet.has(dateHeader)) return incomplete(`'${dateHeader === 'date' ? 'Date' : 'X-Amz-Date'}' must be a signed header (listed in SignedHeaders).`);
  if (!signedSet.has('x-amz-target') && headerValues(req, 'x-amz-target').length > 0) {
    return incomplete("'X-Amz-Target' must be a signed header (listed in SignedHeaders).");
  }
  const longDate = toBasicIso(requestTime);
  const shortDate = longDate.slice(0, 8);

  // 4. The credential scope.
  if (scopeService !== service) return invalid(`Credential should be scoped to correct service: '${service}', not '${echo(scopeService)}'.`);
  if (terminator !== TERMINATOR) return invalid(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${echo(terminator)}'.`);
  if (scopeDate !== shortDate) {
    return invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${echo(scopeDate)}' != '${shortDate}', from '${longDate}'.`);
  }

  // 5. The clock.
  const skew = requestTime.getTime() - now.getTime();
  if (skew < -maxSkewMs) {
    return invalid(`Signature expired: ${longDate} is now earlier than ${toBasicIso(new Date(now.getTime() - maxSkewMs))} (${toBasicIso(now)} - ${describeMs(maxSkewMs)}.)`);
  }
  if (skew > maxSkewMs) {
    return invalid(`Signature not yet current: ${longDate} is still later than ${toBasicIso(new Date(now.getTime() + maxSkewMs))} (${toBasicIso(now)} + ${describeMs(maxSkewMs)}.)`);
  }

  // 6. The access key.
  if (!ACCESS_KEY_ID.test(accessKeyId)) return unrecognized();
  const secret = await lookupSecret(accessKeyId);
  if (typeof secret !== 'string' || secret === '') return unrecognized();

  // 7. The payload.
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  let payloadHash = bodyHash;
  const contentSha = headerValues(req, 'x-amz-content-sha256');
  if (contentSha.length > 1) return invalid("Only one 'x-amz-content-sha256' header is allowed.");
  if (contentSha.length === 1) {
    const declared = contentSha[0]!.trim();
    if (declared === UNSIGNED_PAYLOAD) return invalid(`The payload must be signed: 'x-amz-content-sha256: ${UNSIGNED_PAYLOAD}' is not accepted.`);
    if (!/^[0-9a-fA-F]{64}$/.test(declared)) return invalid(`'x-amz-content-sha256' must be the hex SHA-256 of the body; '${echo(declared)}' is not supported.`);
    if (declared.toLowerCase() !== bodyHash) return invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
    if (signedSet.has('x-amz-content-sha256')) payloadHash = canonicalHeaderValue(contentSha);
  }

  // 8. The signature.
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    let values = headerValues(req, name);
    if (values.length === 0 && name === 'host') values = headerValues(req, ':authority');
    if (values.length === 0) return invalid(`The request lacks the header '${echo(name)}', which SignedHeaders lists.`);
    canonicalHeaders += `${name}:${canonicalHeaderValue(values)}\n`;
  }
  const canonicalRequest = [
    req.method,
    canonicalUri(req.path),
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${shortDate}/${region}/${service}/${TERMINATOR}`;
  const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;

  const cacheKey = `${accessKeyId}\n${shortDate}\n${region}\n${service}`;
  const cached = signingKeys.get(cacheKey);
  const key = cached && cached.secret === secret ? cached.key : deriveSigningKey(secret, shortDate, region, service);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return invalid('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
  rememberSigningKey(cacheKey, secret, key, cached);
  return { ok: true, accessKeyId, region, date: requestTime };
}

// ---------------------------------------------------------------------------------------------
// Authorization header

const ACCESS_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
const REGION = /^[A-Za-z0-9._-]{1,64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/; // an RFC 9110 token, lower case

interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  scopeService: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | { error: SigV4Result } {
  const h = header.trim();
  const sp = h.search(/[ \t]/);
  const algorithm = sp < 0 ? h : h.slice(0, sp);
  if (algorithm !== ALGORITHM) {
    return { error: incomplete(`Unsupported Authorization algorithm '${echo(algorithm)}': only ${ALGORITHM} is supported. Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`) };
  }
  const params = new Map<string, string>();
  // Parameters are separated by commas and/or spaces ("a=1, b=2", "a=1,b=2", "a=1 b=2"); values
  // never contain either.
  for (const part of h.slice(algorithm.length).split(/[ \t]*,[ \t]*|[ \t]+/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !['Credential', 'SignedHeaders', 'Signature'].includes(name)) {
      return { error: incomplete(`Authorization header has an unexpected element '${echo(part)}': expected Credential=..., SignedHeaders=..., Signature=....`) };
    }
    if (params.has(name)) return { error: incomplete(`Authorization header has '${name}' more than once.`) };
    params.set(name, part.slice(eq + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((n) => !params.get(n));
  if (missing.length > 0) return { error: incomplete(missing.map((n) => `Authorization header requires '${n}' parameter.`).join(' ')) };

  const credential = params.get('Credential')!;
  const scope = credential.split('/');
  if (scope.length !== 5 || scope.some((s) => s === '')) {
    return { error: incomplete(`Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got '${echo(credential)}'.`) };
  }
  const [accessKeyId, scopeDate, region, scopeService, terminator] = scope as [string, string, string, string, string];
  if (!/^\d{8}$/.test(scopeDate)) return { error: incomplete(`Credential date must be yyyymmdd; got '${echo(scopeDate)}'.`) };
  if (!REGION.test(region)) return { error: incomplete(`Credential should be scoped to a valid region, not '${echo(region)}'.`) };

  const signedHeaders = params.get('SignedHeaders')!.split(';');
  for (let i = 0; i < signedHeaders.length; i++) {
    const name = signedHeaders[i]!;
    if (!HEADER_NAME.test(name)) {
      return { error: incomplete(`SignedHeaders must list lower-case header names separated by ';'; got '${echo(name)}'.`) };
    }
    if (i > 0 && !(signedHeaders[i - 1]! < name)) {
      return { error: incomplete('SignedHeaders must be sorted and list each header once.') };
    }
  }
  const signature = params.get('Signature')!;
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return { error: incomplete('Signature must be 64 hexadecimal digits.') };
  return { accessKeyId, scopeDate, region, scopeService, terminator, signedHeaders, signature };
}

// ---------------------------------------------------------------------------------------------
// Headers

/** Every value of a header, in arrival order (from rawHeaders when given). */
function headerValues(req: SignedRequest, name: string): string[] {
  if (req.rawHeaders && HEADER_NAME.test(name)) {
    const out: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === name.length && n.toLowerCase() === name) out.push(raw[i + 1]!);
    }
    return out;
  }
  const v = Object.prototype.hasOwnProperty.call(req.headers, name) ? req.headers[name] : undefined;
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The one value of a header, or undefined; repeated values are joined (and will not parse). */
function singleHeader(req: SignedRequest, name: string): string | undefined {
  const v = headerValues(req, name);
  return v.length === 0 ? undefined : v.join(',');
}

function canonicalHeaderValue(values: string[]): string {
  return values.map((v) => v.replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '')).join(',');
}

// ---------------------------------------------------------------------------------------------
// URI and query

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') UNRESERVED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

/** RFC 3986 encoding of bytes: unreserved characters as they are, everything else %XX. */
function uriEncode(bytes: Uint8Array, keepSlash: boolean): string {
  let out = '';
  for (const b of bytes) {
    if (UNRESERVED[b] || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Percent-decode to bytes; a '%' not followed by two hex digits stays a literal '%'. */
function percentDecode(s: string): Buffer {
  if (!s.includes('%')) return Buffer.from(s, 'utf8');
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25 && i + 2 < src.length && isHex(src[i + 1]!) && isHex(src[i + 2]!)) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = src[i]!;
    }
  }
  return out.subarray(0, n);
}

function canonicalUri(path: string): string {
  if (path === '' || path === '/') return '/';
  const segments: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(Buffer.from(normalized, 'utf8'), true) || '/';
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(percentDecode(k), false), uriEncode(percentDecode(v), false)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function hasQueryAuth(query: string): boolean {
  if (!/amz|%/i.test(query)) return false;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = percentDecode(eq < 0 ? part : part.slice(0, eq)).toString('utf8').toLowerCase();
    if (k === 'x-amz-algorithm' || k === 'x-amz-signature' || k === 'x-amz-credential') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Dates

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 31 February over into March: refuse what does not round-trip.
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return undefined;
  return t;
}

/** 20150830T123600Z */
function parseBasicIso(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? utc(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
}

/** Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 IMF-fixdate; the weekday is not checked). */
function parseImfFixdate(s: string): Date | undefined {
  const m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(s);
  if (!m) return undefined;
  const mo = MONTHS.indexOf(m[2]!);
  return mo < 0 ? undefined : utc(+m[3]!, mo + 1, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
}

function toBasicIso(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function describeMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

// ---------------------------------------------------------------------------------------------
// Signing keys

interface CachedKey {
  secret: string;
  key: Buffer;
}

/** LRU by Map insertion order: a hit is moved to the end, the first entry is the oldest. */
const signingKeys = new Map<string, CachedKey>();

function deriveSigningKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  let key = createHmac('sha256', `AWS4${secret}`).update(shortDate).digest();
  for (const part of [region, service, TERMINATOR]) key = createHmac('sha256', key).update(part).digest();
  return key;
}

function rememberSigningKey(cacheKey: string, secret: string, key: Buffer, cached: CachedKey | undefined): void {
  signingKeys.delete(cacheKey);
  signingKeys.set(cacheKey, cached && cached.key === key ? cached : { secret, key });
  while (signingKeys.size > SIGNING_KEY_CACHE_SIZE) signingKeys.delete(signingKeys.keys().next().value!);
}
