import { getApiToken, touchApiToken, type ApiTokenRecord } from '@berth/store';
import { accessDenial, requestClusters } from '../grpc/auth.js';
import { CallRateLimiter, FAILED_AUTH_LIMIT, FailedAuthLimiter } from '../services/credential-limits.js';
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

interface Cached {
  record: ApiTokenRecord;
  secret: string;
  at: number;
}

export class EcsAccessKeys {
  private readonly cache = new Map<string, Cached | { missing: true; at: number }>();
  private readonly rate: CallRateLimiter;
  private readonly failures: FailedAuthLimiter;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly ctx: AppContext,
    ratePerS = DEFAULT_KEY_RATE_PER_S,
    failureLimit = FAILED_AUTH_LIMIT,
  ) {
    this.rate = new CallRateLimiter(ratePerS);
    this.failures = new FailedAuthLimiter(failureLimit);
  }

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
    this.failures.failed(peer);
  }

  /** Refuses an address that failed too often lately. */
  checkPeer(peer: string): void {
    if (this.failures.blocked(peer)) throw ecsError('ThrottlingException', 'too many failed authentications from this address; try again in a minute');
  }

  /** Whether this key may call this operation with this input; throws the ECS error to answer (logged). */
  authorize(record: ApiTokenRecord, operation: string, input: unknown): void {
    const now = Date.now();
    const who = { accessKeyId: record.id, name: record.name, role: record.role, operation };
    if (record.expiresAt && record.expiresAt <= this.ctx.clock.now()) {
      this.ctx.log.warn(who, 'ECS call denied: access key expired');
      throw ecsError('ExpiredTokenException', `The security token included in the request is expired (access key ${record.id} expired at ${record.expiresAt.toISOString()})`);
    }
    if (!this.rate.take(record.id)) throw ecsError('ThrottlingException', `Rate exceeded: access key ${record.id} is over ${this.rate.ratePerS} calls per second`);
    // Every ECS operation is about a cluster (the default one when it names none), but for task definitions.
    const scoped = requestClusters(input) === undefined && input && typeof input === 'object' ? { ...(input as object), cluster: '' } : input;
    const denial = accessDenial(record, operation, scoped);
    if (denial) {
      this.ctx.log.warn({ ...who, cluster: record.cluster, reason: denial }, 'ECS call denied');
      throw ecsError('AccessDeniedException', denial);
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
