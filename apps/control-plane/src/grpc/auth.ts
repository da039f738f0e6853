import { timingSafeEqual } from 'node:crypto';
import { parseEcsArn, resourceId } from '@berth/domain';
import { getApiToken, touchApiToken, type ApiRole, type ApiTokenRecord } from '@berth/store';
import { CallRateLimiter, FAILED_AUTH_LIMIT, FailedAuthLimiter } from '../services/credential-limits.js';
import { sha256, TOKEN_PATTERN } from '../services/api-tokens.js';
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { AppContext } from '../services/context.js';
import { ELBV2_READ_OPERATIONS } from '../services/elbv2-operations.js';

/**
 * API authentication: bearer tokens (`authorization: Bearer berth_<id>_<secret>`)
 * with a role. Only a SHA-256 of the secret is stored.
 *
 * - admin: everything;
 * - operator: tasks, task definitions, services and deployments, nodes' state,
 *   secrets write-only (put, delete; never read: no API reads a value);
 * - viewer: read only.
 *
 * Every denial is logged with who and what. Failed authentication is rate
 * limited per peer (after 10 failures in a minute, the peer is refused for a
 * minute), and each token to 100 calls per second.
 */

const RANK: Record<ApiRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** The least role each control operation needs. Operations not listed need admin. */
export const OPERATION_ROLE: Record<string, ApiRole> = {
  ListClusters: 'viewer',
  DescribeClusters: 'viewer',
  DescribeTaskDefinition: 'viewer',
  ListTaskDefinitions: 'viewer',
  DescribeTasks: 'viewer',
  ListTasks: 'viewer',
  ListContainerInstances: 'viewer',
  DescribeContainerInstances: 'viewer',
  DescribeServices: 'viewer',
  ListServices: 'viewer',
  ListSecrets: 'viewer',
  ListRoles: 'viewer',
  WatchEvents: 'viewer',
  GetTaskLogs: 'viewer',
  RegisterTaskDefinition: 'operator',
  DeregisterTaskDefinition: 'operator',
  RunTask: 'operator',
  StopTask: 'operator',
  CreateService: 'operator',
  UpdateService: 'operator',
  DeleteService: 'operator',
  UpdateContainerInstancesState: 'operator',
  PutAttributes: 'operator',
  DeleteAttributes: 'operator',
  PutSecret: 'operator',
  DeleteSecret: 'operator',
  // ECS endpoint operations without a gRPC twin.
  StartTask: 'operator',
  DeleteTaskDefinitions: 'operator',
  TagResource: 'operator',
  UntagResource: 'operator',
  ListTagsForResource: 'viewer',
  ListAttributes: 'viewer',
  ListTaskDefinitionFamilies: 'viewer',
  ListServiceDeployments: 'viewer',
  DescribeServiceDeployments: 'viewer',
};

export function roleAllowsOperation(role: ApiRole, operation: string): boolean {
  return RANK[role] >= RANK[operationRole(operation)];
}

/** ELBv2 operations are `elbv2:<Operation>`: Describe* needs viewer, the rest operator. */
function operationRole(operation: string): ApiRole {
  if (operation.startsWith('elbv2:')) return ELBV2_READ_OPERATIONS.has(operation.slice(6)) ? 'viewer' : 'operator';
  return OPERATION_ROLE[operation] ?? 'admin';
}


/** Operations on resources that belong to no cluster, which a cluster-scoped token may still use (task definitions are account-wide in ECS). */
export const UNSCOPED_ALLOWED = new Set(['RegisterTaskDefinition', 'DescribeTaskDefinition', 'ListTaskDefinitions', 'DeregisterTaskDefinition', 'ListClusters', 'DeleteTaskDefinitions', 'ListTaskDefinitionFamilies']);

/** Request fields that may hold ECS ARNs naming a cluster (the ECS endpoint takes full ARNs where a name would do). */
const ARN_FIELDS = ['task', 'tasks', 'service', 'services', 'containerInstance', 'containerInstances', 'serviceDeploymentArns', 'resourceArn'];

/**
 * The clusters a request acts on ('' is the default cluster): its `cluster` /
 * `clusters`, and the clusters named by the ARNs it carries (a task ARN names
 * its cluster). Undefined when it names none (secrets, roles, tokens). A task
 * definition ARN names no cluster (they are account-wide).
 */
export function requestClusters(request: unknown): string[] | undefined {
  const r = request as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') return undefined;
  const out: string[] = [];
  let about = false;
  if (typeof r.cluster === 'string') {
    out.push(r.cluster);
    about = true;
  } else if (Array.isArray(r.clusters)) {
    // Loops, not spreads: a body may carry a huge array (a spread of it overflows the stack).
    if (r.clusters.length === 0) out.push('');
    for (const c of r.clusters) out.push(String(c));
    about = true;
  }
  const arns: unknown[] = [];
  for (const f of ARN_FIELDS) {
    if (Array.isArray(r[f])) for (const v of r[f] as unknown[]) arns.push(v);
    else arns.push(r[f]);
  }
  if (Array.isArray(r.attributes)) for (const a of r.attributes) arns.push((a as { targetId?: unknown } | null)?.targetId);
  for (const v of arns) {
    const a = typeof v === 'string' ? parseEcsArn(v) : undefined;
    if (!a) continue;
    about = true;
    if (a.type === 'cluster') out.push(a.path[0]!);
    else if (a.type !== 'task-definition' && a.path.length >= 2) out.push(a.path[0]!);
  }
  return about ? out : undefined;
}

/**
 * Why a credential may not make this call (its role is too low, or it is
 * limited to another cluster), or undefined when it may. Both ways in (the
 * gRPC API and the ECS endpoint) ask this.
 */
export function accessDenial(record: Pick<ApiTokenRecord, 'id' | 'name' | 'role' | 'cluster' | 'kind'>, operation: string, request: unknown): string | undefined {
  const who = `${record.kind === 'aws' ? 'access key' : 'token'} ${record.id} (${record.name})`;
  if (!roleAllowsOperation(record.role, operation)) return `${operation} needs the ${operationRole(operation)} role; ${who} is ${record.role}`;
  if (record.cluster === '*' || UNSCOPED_ALLOWED.has(operation)) return undefined;
  // Load balancers belong to no cluster: a cluster-scoped credential may read them, not change them.
  if (operation.startsWith('elbv2:')) return ELBV2_READ_OPERATIONS.has(operation.slice(6)) ? undefined : `${operation} changes load balancers, which serve every cluster; ${who} is limited to cluster ${record.cluster}`;
  const clusters = requestClusters(request);
  if (!clusters) return `${operation} is not about one cluster; ${who} is limited to cluster ${record.cluster}`;
  const other = clusters.map((c) => resourceId(c) || 'default').find((c) => c !== record.cluster);
  return other ? `${who} is limited to cluster ${record.cluster}, not ${other}` : undefined;
}

export interface Caller {
  tokenId: string;
  name: string;
  role: ApiRole;
}

export { FAILED_AUTH_LIMIT, FAILED_AUTH_WINDOW_MS } from '../services/credential-limits.js';
export const TOKEN_RATE_PER_S = 100;

/** Checks callers; keeps the rate-limit counters in memory. */
export class Authenticator {
  private readonly failures: FailedAuthLimiter;
  private readonly rate = new CallRateLimiter(TOKEN_RATE_PER_S);
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly ctx: AppContext,
    failureLimit = FAILED_AUTH_LIMIT,
  ) {
    this.failures = new FailedAuthLimiter(failureLimit);
  }

  /** Who calls, or the gRPC error to answer with (logged). */
  async check(md: Metadata, peer: string, operation: string, request?: unknown): Promise<Caller | Partial<ServiceError>> {
    const now = Date.now();
    const host = peer.replace(/:\d+$/, '');
    if (this.failures.blocked(host)) {
      return this.deny(status.RESOURCE_EXHAUSTED, 'too many failed authentications from this address; try again in a minute', { peer: host, operation });
    }
    const header = String(md.get('authorization')[0] ?? '');
    const m = TOKEN_PATTERN.exec(header.replace(/^Bearer\s+/i, '').trim());
    const fail = (why: string) => {
      this.failures.failed(host);
      return this.deny(status.UNAUTHENTICATED, why, { peer: host, operation });
    };
    if (!header) return fail('an API token is needed: berth login --token TOKEN (the first admin token was printed when the control plane first started), or --token / BERTH_TOKEN');
    if (!m) return fail('the API token is malformed (berth_<id>_<secret>)');
    const record = await getApiToken(this.ctx.db.sql, m[1]!);
    if (!record || record.kind !== 'token' || !timingSafeEqual(Buffer.from(record.secretHash, 'hex'), Buffer.from(sha256(m[2]!), 'hex'))) return fail('the API token is unknown or revoked');
    if (record.expiresAt && record.expiresAt <= this.ctx.clock.now()) return fail(`the API token ${record.id} expired at ${record.expiresAt.toISOString()}`);
    if (!this.rate.take(record.id)) {
      return this.deny(status.RESOURCE_EXHAUSTED, `API token ${record.id} is over ${TOKEN_RATE_PER_S} calls per second; slow down`, { tokenId: record.id, name: record.name, operation });
    }
    const denial = accessDenial(record, operation, request);
    if (denial) return this.deny(status.PERMISSION_DENIED, denial, { tokenId: record.id, name: record.name, role: record.role, cluster: record.cluster, operation });
    // last_used_at at most once a minute per token (not a write per call).
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      void touchApiToken(this.ctx.db.sql, record.id, this.ctx.clock.now()).catch(() => undefined);
    }
    return { tokenId: record.id, name: record.name, role: record.role };
  }

  private deny(code: status, details: string, who: Record<string, unknown>): Partial<ServiceError> {
    this.ctx.log.warn({ ...who, code: status[code], reason: details }, 'API call denied');
    return { code, details };
  }
}

export function isCaller(x: Caller | Partial<ServiceError>): x is Caller {
  return (x as Caller).tokenId !== undefined;
}
