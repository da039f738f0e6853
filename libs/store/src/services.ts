import type { ServiceSpec } from '@berth/domain';
import type { Queryable } from './database.js';

export type ServiceStatus = 'ACTIVE' | 'DRAINING' | 'INACTIVE';

export interface ServiceRecord {
  cluster: string;
  name: string;
  status: ServiceStatus;
  /** The ECS fields as kept; taskDefinition is the primary deployment's family:revision. */
  spec: ServiceSpec;
  desiredCount: number;
  /** Task failures after this time count toward the launch backoff (reset at steady state). */
  failuresSince: Date;
  /** Whether the service was last seen in steady state (its event is written once per reaching it). */
  steady: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export type DeploymentStatus = 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface DeploymentRecord {
  id: string;
  cluster: string;
  service: string;
  status: DeploymentStatus;
  /** family:revision */
  taskDefinition: string;
  desiredCount: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  failedTasks: number;
  createdAt: Date;
  updatedAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toService(r: any): ServiceRecord {
  return {
    cluster: r.cluster,
    name: r.name,
    status: r.status,
    spec: { ...r.spec, desiredCount: r.desired_count },
    desiredCount: r.desired_count,
    failuresSince: r.failures_since,
    steady: r.steady,
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toDeployment(r: any): DeploymentRecord {
  return {
    id: r.id,
    cluster: r.cluster,
    service: r.service,
    status: r.status,
    taskDefinition: r.task_definition,
    desiredCount: r.desired_count,
    rolloutState: r.rollout_state,
    rolloutStateReason: r.rollout_state_reason,
    failedTasks: r.failed_tasks,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The task group of a service's tasks (as ECS names it). */
export const serviceGroup = (name: string) => `service:${name}`;

/**
 * Creates the service, or replaces an INACTIVE (deleted) one of the same name.
 * Returns undefined when an ACTIVE or DRAINING service has the name.
 */
export async function insertService(q: Queryable, cluster: string, spec: ServiceSpec): Promise<ServiceRecord | undefined> {
  const rows = await q`
    INSERT INTO services (cluster, name, spec, desired_count)
    VALUES (${cluster}, ${spec.serviceName}, ${q.json(spec as never)}, ${spec.desiredCount})
    ON CONFLICT (cluster, name) DO UPDATE SET
      status = 'ACTIVE', spec = excluded.spec, desired_count = excluded.desired_count, failures_since = now(), steady = false,
      version = services.version + 1, created_at = now(), updated_at = now(), deleted_at = NULL
    WHERE services.status = 'INACTIVE'
    RETURNING *`;
  return rows[0] ? toService(rows[0]) : undefined;
}

export async function getService(q: Queryable, cluster: string, name: string): Promise<ServiceRecord | undefined> {
  const [r] = await q`SELECT * FROM services WHERE cluster = ${cluster} AND name = ${name}`;
  return r ? toService(r) : undefined;
}

export async function getServiceForUpdate(q: Queryable, cluster: string, name: string): Promise<ServiceRecord | undefined> {
  const [r] = await q`SELECT * FROM services WHERE cluster = ${cluster} AND name = ${name} FOR UPDATE`;
  return r ? toService(r) : undefined;
}

export async function getServices(q: Queryable, cluster: string, names: string[]): Promise<ServiceRecord[]> {
  if (names.length === 0) return [];
  const rows = await q`SELECT * FROM services WHERE cluster = ${cluster} AND name = ANY(${names})`;
  return rows.map(toService);
}

export interface ServicePatch {
  status?: ServiceStatus;
  spec?: ServiceSpec;
  desiredCount?: number;
  failuresSince?: Date;
  steady?: boolean;
  deletedAt?: Date;
}

export async function updateService(q: Queryable, cluster: string, name: string, p: ServicePatch): Promise<ServiceRecord> {
  const [r] = await q`
    UPDATE services SET
      status = coalesce(${p.status ?? null}, status),
      spec = coalesce(${p.spec ? q.json(p.spec as never) : null}, spec),
      desired_count = coalesce(${p.desiredCount ?? null}::int, desired_count),
      failures_since = coalesce(${p.failuresSince ?? null}::timestamptz, failures_since),
      steady = coalesce(${p.steady ?? null}::boolean, steady),
      deleted_at = coalesce(${p.deletedAt ?? null}::timestamptz, deleted_at),
      version = version + 1, updated_at = now()
    WHERE cluster = ${cluster} AND name = ${name}
    RETURNING *`;
  return toService(r);
}

/** Service names of a cluster in name order (keyset), optionally only one scheduling strategy. */
export async function listServiceNames(q: Queryable, cluster: string, o: { after?: string; limit: number; strategy?: string }): Promise<string[]> {
  const rows = await q`
    SELECT name FROM services WHERE cluster = ${cluster} AND status <> 'INACTIVE'
      ${o.after ? q`AND name > ${o.after}` : q``}
      ${o.strategy ? q`AND spec->>'schedulingStrategy' = ${o.strategy}` : q``}
    ORDER BY name LIMIT ${o.limit}`;
  return rows.map((r) => r.name as string);
}

/** Every service the controller keeps (ACTIVE or DRAINING), of one cluster or all. */
export async function liveServices(q: Queryable, cluster?: string): Promise<{ cluster: string; name: string }[]> {
  const rows = cluster
    ? await q`SELECT cluster, name FROM services WHERE cluster = ${cluster} AND status <> 'INACTIVE'`
    : await q`SELECT cluster, name FROM services WHERE status <> 'INACTIVE'`;
  return rows.map((r) => ({ cluster: r.cluster as string, name: r.name as string }));
}

export async function countLiveServices(q: Queryable, cluster: string): Promise<number> {
  const [r] = await q`SELECT count(*)::int AS n FROM services WHERE cluster = ${cluster} AND status = 'ACTIVE'`;
  return r!.n as number;
}

export async function insertDeployment(
  q: Queryable,
  d: Pick<DeploymentRecord, 'id' | 'cluster' | 'service' | 'status' | 'taskDefinition' | 'desiredCount'> & Partial<Pick<DeploymentRecord, 'rolloutState' | 'rolloutStateReason'>>,
): Promise<DeploymentRecord> {
  const [r] = await q`
    INSERT INTO deployments (id, cluster, service, status, task_definition, desired_count, rollout_state, rollout_state_reason)
    VALUES (${d.id}, ${d.cluster}, ${d.service}, ${d.status}, ${d.taskDefinition}, ${d.desiredCount}, ${d.rolloutState ?? 'IN_PROGRESS'}, ${d.rolloutStateReason ?? ''})
    RETURNING *`;
  return toDeployment(r);
}

/** A service's deployments, newest first; INACTIVE ones only when asked (rollback looks for the last COMPLETED). */
export async function serviceDeployments(q: Queryable, cluster: string, services: string[], withInactive = false): Promise<DeploymentRecord[]> {
  if (services.length === 0) return [];
  const rows = await q`
    SELECT * FROM deployments WHERE cluster = ${cluster} AND service = ANY(${services})
      ${withInactive ? q`` : q`AND status <> 'INACTIVE'`}
    ORDER BY created_at DESC, id DESC`;
  return rows.map(toDeployment);
}

export interface DeploymentPatch {
  status?: DeploymentStatus;
  desiredCount?: number;
  rolloutState?: RolloutState;
  rolloutStateReason?: string;
  failedTasks?: number;
}

export async function updateDeployment(q: Queryable, id: string, p: DeploymentPatch): Promise<void> {
  await q`
    UPDATE deployments SET
      status = coalesce(${p.status ?? null}, status),
      desired_count = coalesce(${p.desiredCount ?? null}::int, desired_count),
      rollout_state = coalesce(${p.rolloutState ?? null}, rollout_state),
      rollout_state_reason = coalesce(${p.rolloutStateReason ?? null}, rollout_state_reason),
      failed_tasks = coalesce(${p.failedTasks ?? null}::int, failed_tasks),
      updated_at = now()
    WHERE id = ${id}`;
}

/** Forgets every deployment of a service (a deleted service's name used again starts without history). */
export async function deleteDeployments(q: Queryable, cluster: string, service: string): Promise<void> {
  await q`DELETE FROM deployments WHERE cluster = ${cluster} AND service = ${service}`;
}

/** Keeps the newest `keep` INACTIVE deployments of a service (history for rollback and describe). */
export async function pruneInactiveDeployments(q: Queryable, cluster: string, service: string, keep: number): Promise<void> {
  await q`
    DELETE FROM deployments WHERE id IN (
      SELECT id FROM deployments WHERE cluster = ${cluster} AND service = ${service} AND status = 'INACTIVE'
      ORDER BY created_at DESC OFFSET ${keep})`;
}

/** Stop codes that count as a task failing (toward the circuit breaker and the launch backoff). */
export const FAILURE_STOP_CODES = ['TaskFailedToStart', 'EssentialContainerExited'];
/** The stopped reason of a task the service stopped for failing its health checks. */
export const UNHEALTHY_STOP_REASON = 'Task failed container health checks';

export interface ServiceFailureCount {
  /** startedBy: the deployment id. */
  deploymentId: string;
  count: number;
  lastAt: Date;
}

/**
 * Failed tasks of a service recorded STOPPED after `since`, per deployment. By
 * the time the control plane wrote them (not the agent's clock: a Pi without a
 * real-time clock may be far off).
 */
export async function serviceFailures(q: Queryable, cluster: string, service: string, since: Date): Promise<ServiceFailureCount[]> {
  const rows = await q`
    SELECT started_by, count(*)::int AS n, max(updated_at) AS last_at FROM tasks
    WHERE cluster = ${cluster} AND task_group = ${serviceGroup(service)} AND last_status = 'STOPPED' AND updated_at > ${since}
      AND (stop_code = ANY(${FAILURE_STOP_CODES}) OR stopped_reason LIKE ${UNHEALTHY_STOP_REASON + '%'})
    GROUP BY started_by`;
  return rows.map((r) => ({ deploymentId: r.started_by as string, count: r.n as number, lastAt: r.last_at as Date }));
}

/** Task counts per service and deployment: not STOPPED, split by last status (for describe). */
export async function serviceTaskCounts(q: Queryable, cluster: string, services: string[]): Promise<{ service: string; deploymentId: string; running: number; pending: number }[]> {
  if (services.length === 0) return [];
  const rows = await q`
    SELECT task_group, started_by,
      count(*) FILTER (WHERE last_status = 'RUNNING')::int AS running,
      count(*) FILTER (WHERE last_status <> 'RUNNING')::int AS pending
    FROM tasks
    WHERE cluster = ${cluster} AND task_group = ANY(${services.map(serviceGroup)}) AND last_status <> 'STOPPED' AND desired_status = 'RUNNING'
    GROUP BY task_group, started_by`;
  return rows.map((r) => ({ service: (r.task_group as string).slice('service:'.length), deploymentId: r.started_by as string, running: r.running as number, pending: r.pending as number }));
}

/** Tasks of a service that are not STOPPED. */
export async function serviceGroupTaskIds(q: Queryable, cluster: string, service: string): Promise<string[]> {
  const rows = await q`SELECT id FROM tasks WHERE cluster = ${cluster} AND task_group = ${serviceGroup(service)} AND last_status <> 'STOPPED'`;
  return rows.map((r) => r.id as string);
}

/** Service events (newest first). */
/** The newest events of several services at once (one statement), by service name. */
export async function servicesEvents(q: Queryable, cluster: string, services: string[], limit: number): Promise<Map<string, { id: number; at: Date; message: string }[]>> {
  const out = new Map<string, { id: number; at: Date; message: string }[]>(services.map((s) => [s, []]));
  if (services.length === 0) return out;
  const subjects = services.map(serviceGroup);
  const rows = await q`
    SELECT subject, id, at, message FROM (
      SELECT subject, id, at, message, row_number() OVER (PARTITION BY subject ORDER BY id DESC) AS n
      FROM events WHERE cluster = ${cluster} AND subject = ANY(${subjects})
    ) e WHERE n <= ${limit}
    ORDER BY subject, id DESC`;
  for (const r of rows) out.get((r.subject as string).slice('service:'.length))?.push({ id: Number(r.id), at: r.at as Date, message: r.message as string });
  return out;
}

export async function serviceEvents(q: Queryable, cluster: string, service: string, limit: number): Promise<{ id: number; at: Date; message: string }[]> {
  const rows = await q`
    SELECT id, at, message FROM events WHERE cluster = ${cluster} AND subject = ${serviceGroup(service)}
    ORDER BY id DESC LIMIT ${limit}`;
  return rows.map((r) => ({ id: Number(r.id), at: r.at as Date, message: r.message as string }));
}
