import { resourceId } from '@berth/domain';
import { getApiToken, touchApiToken, type ApiTokenRecord } from '@berth/store';
import { OPERATION_ROLE, requestClusters, roleAllowsOperation, UNSCOPED_ALLOWED } from '../grpc/auth.js';
import { accessKeyAad } from '../services/api-tokens.js';
import type { AppContext } from '../services/context.js';
import { ecsError } from './ecs-errors.js';

/**
 * The ECS endpoint's credentials: AWS access keys (`berth apitoken create
 * --aws`), each bound to a role (admin / operator / viewer) and optionally one
 * cluster, like bearer tokens. Secrets are opened from the store once and kept
 * in memory for a few seconds (SigV4 is checked on every request); a deleted
 * key is forgotten at once on this control plane, within CACHE_TTL_MS on others.
 */

export const CACHE_TTL_MS = 5_000;
/** Calls per second per access key (a token bucket); the SDKs retry ThrottlingException. */
export const DEFAULT_KEY_RATE_PER_S = 100;
export const FAILED_AUTH_LIMIT = 10;
export const FAILED_AUTH_WINDOW_MS = 60_000;

interface Cached {
  record: ApiTokenRecord;
  secret: string;
  at: number;
}

export class EcsAccessKeys {
  private readonly cache = new Map<string, Cached | { missing: true; at: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly ctx: AppContext,
    private readonly ratePerS = DEFAULT_KEY_RATE_PER_S,
    private readonly failureLimit = FAILED_AUTH_LIMIT,
  ) {}

  /** The secret access key of an access key id, for the signature check; undefined when unknown. */
  async secretFor(id: string): Promise<string | undefined> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && now - hit.at < CACHE_TTL_MS) return 'missing' in hit ? undefined : hit.secret;
    if (!/^BKIA[0-9A-F]{16}$/.test(id)) return undefined;
    const record = await getApiToken(this.ctx.db.sql, id);
    if (!record || record.kind !== 'aws' || !record.sealed || !this.ctx.keyring) {
      this.remember(id, { missing: true, at: now });
      return undefined;
    }
    const secret = this.ctx.keyring.open(record.sealed, accessKeyAad(id)).toString();
    this.remember(id, { record, secret, at: now });
    return secret;
  }

  /** The record behind a key whose signature checked out. */
  recordOf(id: string): ApiTokenRecord {
    const hit = this.cache.get(id);
    if (!hit || 'missing' in hit) throw ecsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    return hit.record;
  }

  forget(id: string): void {
    this.cache.delete(id);
  }

  /** A failed authentication from this address; after too many in a minute, the address is refused for a minute. */
  failed(peer: string): void {
    const now = Date.now();
    const f = this.failures.get(peer);
    const cur = f && now - f.since < FAILED_AUTH_WINDOW_MS ? f : { count: 0, since: now };
    cur.count++;
    this.failures.set(peer, cur);
  }

  /** Refuses an address that failed too often lately. */
  checkPeer(peer: string): void {
    const f = this.failures.get(peer);
    if (f && f.count >= this.failureLimit && Date.now() - f.since < FAILED_AUTH_WINDOW_MS) {
      throw ecsError('ThrottlingException', 'too many failed authentications from this address; try again in a minute');
    }
  }

  /** Whether this key may call this operation with this input; throws the ECS error to answer (logged). */
  authorize(record: ApiTokenRecord, operation: string, input: unknown): void {
    const now = Date.now();
    const who = { accessKeyId: record.id, name: record.name, role: record.role, operation };
    if (record.expiresAt && record.expiresAt <= this.ctx.clock.now()) {
      this.ctx.log.warn(who, 'ECS call denied: access key expired');
      throw ecsError('ExpiredTokenException', `The security token included in the request is expired (access key ${record.id} expired at ${record.expiresAt.toISOString()})`);
    }
    const b = this.buckets.get(record.id) ?? { tokens: this.ratePerS, at: now };
    b.tokens = Math.min(this.ratePerS, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    this.buckets.set(record.id, b);
    if (b.tokens < 1) throw ecsError('ThrottlingException', `Rate exceeded: access key ${record.id} is over ${this.ratePerS} calls per second`);
    b.tokens -= 1;
    if (!roleAllowsOperation(record.role, operation)) {
      this.ctx.log.warn(who, 'ECS call denied: role');
      throw ecsError('AccessDeniedException', `${operation} needs the ${OPERATION_ROLE[operation] ?? 'admin'} role; access key ${record.id} (${record.name}) is ${record.role}`);
    }
    if (record.cluster !== '*' && !UNSCOPED_ALLOWED.has(operation)) {
      const clusters = requestClusters(input);
      if (!clusters) {
        this.ctx.log.warn({ ...who, cluster: record.cluster }, 'ECS call denied: not about one cluster');
        throw ecsError('AccessDeniedException', `${operation} is not about one cluster; access key ${record.id} (${record.name}) is limited to cluster ${record.cluster}`);
      }
      const other = clusters.map((c) => resourceId(c) || 'default').find((c) => c !== record.cluster);
      if (other) {
        this.ctx.log.warn({ ...who, cluster: record.cluster }, 'ECS call denied: another cluster');
        throw ecsError('AccessDeniedException', `access key ${record.id} (${record.name}) is limited to cluster ${record.cluster}, not ${other}`);
      }
    }
    // last_used_at at most once a minute per key (not a write per call).
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      void touchApiToken(this.ctx.db.sql, record.id, this.ctx.clock.now()).catch(() => undefined);
    }
  }

  private remember(id: string, v: Cached | { missing: true; at: number }): void {
    // Bounded: unknown ids from a scan must not grow the map without end.
    if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, v);
  }
}
