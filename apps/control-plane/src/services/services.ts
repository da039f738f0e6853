import {
  arns,
  CLUSTER_NAME_PATTERN,
  conflict,
  invalid,
  newDeploymentId,
  notFound,
  parseCreateService,
  parseUpdateService,
  resourceId,
  tagKeys,
  type ServiceSpec,
} from '@berth/domain';
import { rollingDeadlock } from '@berth/scheduler';
import {
  decodeToken,
  deleteDeployments,
  encodeToken,
  getService,
  getServiceForUpdate,
  getServices,
  insertDeployment,
  insertService,
  listServiceNames,
  pageSize,
  serviceDeployments,
  servicesEvents,
  serviceTaskCounts,
  updateDeployment,
  updateService,
  type DeploymentRecord,
  type Page,
  type Queryable,
  type ServiceRecord,
} from '@berth/store';
import { requireCluster } from './clusters.js';
import type { AppContext } from './context.js';
import { checkPlacement } from './placement.js';
import { checkTaskSecrets } from './secrets.js';
import { resolveTaskDefinition } from './task-definitions.js';
import { keepTags } from './tags.js';
import { resolveServiceLoadBalancers } from './load-balancers.js';

/**
 * Services in ECS's shapes: CreateService, UpdateService, DeleteService,
 * DescribeServices, ListServices. These write what is wanted (the service and
 * its deployments); the service controller makes it so.
 */

/** Largest service document accepted. */
export const MAX_SERVICE_JSON_BYTES = 64 * 1024;
/** Service events shown by describe (ECS shows up to 100). */
export const DESCRIBE_EVENTS = 100;

function parseJson(json: string, what: string): unknown {
  if (Buffer.byteLength(json) > MAX_SERVICE_JSON_BYTES) throw invalid(`${what}: must be at most ${MAX_SERVICE_JSON_BYTES} bytes, got ${Buffer.byteLength(json)}`);
  try {
    return JSON.parse(json);
  } catch (err) {
    throw invalid(`${what}: is not valid JSON: ${(err as Error).message}`);
  }
}

/** ECS Service JSON (describe-services shape); times are Dates (ISO strings once JSON.stringify'd, epoch seconds through toWire). */
export type ServiceView = Record<string, unknown>;

async function activeTaskDefinition(ctx: AppContext, ref: string): Promise<string> {
  const def = await resolveTaskDefinition(ctx, ref);
  if (def.status !== 'ACTIVE') throw invalid(`taskDefinition: ${def.family}:${def.revision} is ${def.status}; a service needs an ACTIVE revision`);
  await checkTaskSecrets(ctx, def.spec, { mustExist: true });
  return `${def.family}:${def.revision}`;
}

function checkBounds(spec: ServiceSpec): void {
  const { minimumHealthyPercent: min, maximumPercent: max } = spec.deploymentConfiguration;
  if (spec.schedulingStrategy === 'DAEMON' && min >= 100) {
    throw invalid(`deploymentConfiguration.minimumHealthyPercent: must be below 100 for a DAEMON service (a node's task stops before its replacement starts there), got ${min}`);
  }
  if (spec.schedulingStrategy === 'REPLICA' && rollingDeadlock(spec.desiredCount, min, max)) {
    throw invalid(
      `deploymentConfiguration: minimumHealthyPercent ${min} with maximumPercent ${max} lets a deployment neither stop a task nor start one; lower minimumHealthyPercent or raise maximumPercent`,
    );
  }
}

function checkPlacementOf(spec: Pick<ServiceSpec, 'placementConstraints' | 'placementStrategy'>): void {
  checkPlacement({ constraints: spec.placementConstraints, strategy: spec.placementStrategy });
}

export async function createServiceOp(ctx: AppContext, json: string): Promise<{ service: ServiceView; warnings: string[] }> {
  const parsed = parseCreateService(parseJson(json, 'service'));
  const cluster = await requireCluster(ctx, parsed.cluster);
  const spec: ServiceSpec = { ...parsed.spec, taskDefinition: await activeTaskDefinition(ctx, parsed.spec.taskDefinition) };
  if (spec.loadBalancers?.length) {
    spec.loadBalancers = await resolveServiceLoadBalancers(ctx, spec.loadBalancers, (await resolveTaskDefinition(ctx, spec.taskDefinition)).spec, { cluster, name: spec.serviceName });
  }
  checkPlacementOf(spec);
  checkBounds(spec);
  const name = spec.serviceName;
  const service = await ctx.db.sql.begin(async (tx) => {
    const created = await insertService(tx, cluster, spec);
    if (!created) {
      const existing = (await getService(tx, cluster, name))!;
      // ECS: the same clientToken makes a retried create succeed.
      if (!spec.clientToken || existing.spec.clientToken !== spec.clientToken) {
        throw conflict(`service ${name} already exists in cluster ${cluster} (${existing.status}): update it (berth service update) or delete it first`);
      }
    } else {
      // A deleted service's deployments are not this one's history (a rollback must never return to them).
      await deleteDeployments(tx, cluster, name);
      const id = newDeploymentId(ctx.random);
      await insertDeployment(tx, { id, cluster, service: name, status: 'PRIMARY', taskDefinition: spec.taskDefinition, desiredCount: spec.desiredCount });
      await keepTags(tx, tagKeys.service(cluster, name), spec.tags.map((t) => ({ key: t.key, value: t.value ?? '' })));
    }
    return describeIn(ctx, tx, cluster, name);
  });
  ctx.log.info({ cluster, service: name, taskDefinition: spec.taskDefinition, desiredCount: spec.desiredCount, strategy: spec.schedulingStrategy }, 'service created');
  ctx.servicesChanged?.(cluster, [name]);
  return { service, warnings: parsed.warnings };
}

export async function updateServiceOp(ctx: AppContext, json: string): Promise<{ service: ServiceView; warnings: string[] }> {
  const { update, warnings } = parseUpdateService(parseJson(json, 'update'));
  const cluster = await requireCluster(ctx, update.cluster);
  const name = serviceName(update.service);
  const newTaskDefinition = update.taskDefinition ? await activeTaskDefinition(ctx, update.taskDefinition) : undefined;
  // The load balancers are checked against the task definition the service will run (a new one, or its own).
  const before = update.loadBalancers !== undefined || newTaskDefinition ? await getService(ctx.db.sql, cluster, name) : undefined;
  const lbs = update.loadBalancers ?? before?.spec.loadBalancers ?? [];
  const loadBalancers = before && lbs.length > 0
    ? await resolveServiceLoadBalancers(ctx, lbs, (await resolveTaskDefinition(ctx, newTaskDefinition ?? before.spec.taskDefinition)).spec, { cluster, name })
    : update.loadBalancers;
  const service = await ctx.db.sql.begin(async (tx) => {
    const svc = await getServiceForUpdate(tx, cluster, name);
    if (!svc) throw notFound(`service ${name} not found in cluster ${cluster}`).as('service-not-found');
    if (svc.status !== 'ACTIVE') throw invalid(`service: ${name} is ${svc.status} (being deleted); it cannot be updated`).as('service-not-active');
    const cur = svc.spec;
    if (update.desiredCount !== undefined && cur.schedulingStrategy === 'DAEMON') {
      throw invalid('desiredCount: a DAEMON service runs one task on every matching node; its count cannot be set');
    }
    const dc = update.deploymentConfiguration ?? {};
    const next: ServiceSpec = {
      ...cur,
      taskDefinition: newTaskDefinition ?? cur.taskDefinition,
      desiredCount: update.desiredCount ?? svc.desiredCount,
      deploymentConfiguration: {
        minimumHealthyPercent: dc.minimumHealthyPercent ?? cur.deploymentConfiguration.minimumHealthyPercent,
        maximumPercent: dc.maximumPercent ?? cur.deploymentConfiguration.maximumPercent,
        deploymentCircuitBreaker: dc.deploymentCircuitBreaker ?? cur.deploymentConfiguration.deploymentCircuitBreaker,
      },
      placementConstraints: update.placementConstraints ?? cur.placementConstraints,
      placementStrategy: update.placementStrategy ?? cur.placementStrategy,
      healthCheckGracePeriodSeconds: update.healthCheckGracePeriodSeconds ?? cur.healthCheckGracePeriodSeconds,
      ...((loadBalancers ?? cur.loadBalancers)?.length ? { loadBalancers: loadBalancers ?? cur.loadBalancers } : {}),
      kept: { ...cur.kept, ...update.kept },
    };
    if (!next.loadBalancers?.length) delete next.loadBalancers;
    if (cur.schedulingStrategy === 'DAEMON' && next.deploymentConfiguration.maximumPercent !== 100) {
      throw invalid('deploymentConfiguration.maximumPercent: must be 100 for a DAEMON service (one task per node)');
    }
    if (cur.schedulingStrategy === 'DAEMON' && next.placementStrategy.length > 0) throw invalid('placementStrategy: cannot be used with a DAEMON service');
    checkPlacementOf(next);
    checkBounds(next);
    // ECS starts a new deployment for a new task definition, new placement, or when forced.
    const placementChanged =
      JSON.stringify([cur.placementConstraints, cur.placementStrategy]) !== JSON.stringify([next.placementConstraints, next.placementStrategy]);
    // As ECS: new load balancers are a new deployment too (the tasks register with them as they start).
    const lbChanged = JSON.stringify(cur.loadBalancers ?? []) !== JSON.stringify(next.loadBalancers ?? []);
    const newDeployment = update.forceNewDeployment || next.taskDefinition !== cur.taskDefinition || placementChanged || lbChanged;
    const deployments = await serviceDeployments(tx, cluster, [name]);
    const primary = deployments.find((d) => d.status === 'PRIMARY');
    if (newDeployment) {
      for (const d of deployments) if (d.status === 'PRIMARY') await updateDeployment(tx, d.id, { status: 'ACTIVE' });
      const id = newDeploymentId(ctx.random);
      await insertDeployment(tx, { id, cluster, service: name, status: 'PRIMARY', taskDefinition: next.taskDefinition, desiredCount: next.desiredCount });
      ctx.log.info({ cluster, service: name, deployment: id, taskDefinition: next.taskDefinition }, 'service deployment started');
    } else if (primary && next.desiredCount !== svc.desiredCount) {
      await updateDeployment(tx, primary.id, { desiredCount: next.desiredCount });
    }
    await updateService(tx, cluster, name, { spec: next, desiredCount: next.desiredCount, steady: false, ...(newDeployment ? { failuresSince: ctx.clock.now() } : {}) });
    return describeIn(ctx, tx, cluster, name);
  });
  ctx.servicesChanged?.(cluster, [name]);
  return { service, warnings };
}

/**
 * DeleteService: a REPLICA service must be scaled to 0 first unless forced (as
 * ECS). The service becomes DRAINING: its tasks are stopped, then it is INACTIVE.
 */
/** A service named by name or ARN, checked: a name that cannot exist is refused before any lookup. */
function serviceName(ref: string | undefined, field = 'service'): string {
  const name = resourceId(ref ?? '');
  if (!CLUSTER_NAME_PATTERN.test(name)) throw invalid(`${field}: must be a service name (1-255 letters, digits, hyphens or underscores) or a service ARN, got ${JSON.stringify((ref ?? '').slice(0, 80))}`);
  return name;
}

export async function deleteServiceOp(ctx: AppContext, input: { cluster?: string; service: string; force?: boolean }): Promise<ServiceView> {
  const cluster = await requireCluster(ctx, input.cluster);
  const name = serviceName(input.service);
  const service = await ctx.db.sql.begin(async (tx) => {
    const svc = await getServiceForUpdate(tx, cluster, name);
    if (!svc || svc.status === 'INACTIVE') throw notFound(`service ${name} not found in cluster ${cluster}`).as('service-not-found');
    if (svc.status !== 'DRAINING') {
      if (svc.spec.schedulingStrategy === 'REPLICA' && svc.desiredCount > 0 && !input.force) {
        throw invalid(`service: ${name} has desiredCount ${svc.desiredCount}; scale it to 0 first (berth service scale ${name} 0) or force the delete (--force)`);
      }
      await updateService(tx, cluster, name, { status: 'DRAINING', desiredCount: 0, deletedAt: ctx.clock.now(), steady: false });
      for (const d of await serviceDeployments(tx, cluster, [name])) if (d.status === 'PRIMARY') await updateDeployment(tx, d.id, { desiredCount: 0 });
    }
    return describeIn(ctx, tx, cluster, name);
  });
  ctx.log.info({ cluster, service: name }, 'service deleted (draining)');
  ctx.servicesChanged?.(cluster, [name]);
  return service;
}

export async function describeServicesOp(ctx: AppContext, input: { cluster?: string; services: string[] }): Promise<{ found: ServiceView[]; missing: string[] }> {
  if (input.services.length === 0) throw invalid('services: must name at least one service');
  if (input.services.length > 10) throw invalid(`services: must name at most 10 services (as ECS), got ${input.services.length}`);
  const cluster = await requireCluster(ctx, input.cluster);
  const wanted = input.services.map((ref, i) => ({ ref, name: serviceName(ref, `services[${i}]`) }));
  const views = await describeMany(ctx, ctx.db.sql, cluster, wanted.map((w) => w.name));
  return {
    found: wanted.flatMap((w) => (views.has(w.name) ? [views.get(w.name)!] : [])),
    missing: wanted.filter((w) => !views.has(w.name)).map((w) => w.ref),
  };
}

export async function listServicesOp(ctx: AppContext, input: { cluster?: string; nextToken?: string; maxResults?: number; schedulingStrategy?: string }): Promise<Page<string>> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.schedulingStrategy && !['REPLICA', 'DAEMON'].includes(input.schedulingStrategy)) {
    throw invalid(`schedulingStrategy: must be REPLICA or DAEMON, got ${JSON.stringify(input.schedulingStrategy)}`);
  }
  const limit = pageSize(input.maxResults);
  const token = decodeToken(input.nextToken);
  if (token !== undefined && !(token.length === 1 && typeof token[0] === 'string')) throw invalid('nextToken: not a token this list returned');
  const after = token?.[0] as string | undefined;
  const names = await listServiceNames(ctx.db.sql, cluster, { after, limit, strategy: input.schedulingStrategy || undefined });
  const last = names[names.length - 1];
  return { items: names.map((n) => arns.service(ctx.arn, cluster, n)), nextToken: names.length === limit && last ? encodeToken([last]) : undefined };
}

/**
 * A service as a write left it, read in the write's transaction: a reply that
 * fails after the commit (the database gone in between) would tell the caller
 * a write that happened did not.
 */
async function describeIn(ctx: AppContext, tx: Queryable, cluster: string, name: string): Promise<ServiceView> {
  return (await describeMany(ctx, tx, cluster, [name])).get(name)!;
}

/** Services as ECS describes them: counts from their tasks, deployments, newest events. */
export async function describeMany(ctx: AppContext, q: Queryable, cluster: string, names: string[]): Promise<Map<string, ServiceView>> {
  const records = await getServices(q, cluster, [...new Set(names)]);
  const live = records.map((r) => r.name);
  const [deployments, counts, events] = await Promise.all([serviceDeployments(q, cluster, live), serviceTaskCounts(q, cluster, live), servicesEvents(q, cluster, live, DESCRIBE_EVENTS)]);
  const out = new Map<string, ServiceView>();
  for (const r of records) {
    out.set(r.name, toServiceView(ctx, r, deployments.filter((d) => d.service === r.name), counts.filter((c) => c.service === r.name), events.get(r.name) ?? []));
  }
  return out;
}

/** Times stay Dates: JSON.stringify writes them as ISO strings (the gRPC API), the ECS endpoint as epoch seconds. */
const time = (d: Date | null | undefined) => d ?? undefined;

export function toServiceView(
  ctx: AppContext,
  r: ServiceRecord,
  deployments: DeploymentRecord[],
  counts: { deploymentId: string; running: number; pending: number }[],
  events: { id: number; at: Date; message: string }[],
): ServiceView {
  const [family, revision] = r.spec.taskDefinition.split(':');
  const tdArn = (td: string) => {
    const [f, rev] = td.split(':');
    return arns.taskDefinition(ctx.arn, f!, Number(rev));
  };
  const sum = (k: 'running' | 'pending', id?: string) => counts.filter((c) => id === undefined || c.deploymentId === id).reduce((a, c) => a + c[k], 0);
  const { kept, clientToken: _token, serviceName: _name, taskDefinition: _td, desiredCount: _dc, ...spec } = r.spec;
  return {
    serviceArn: arns.service(ctx.arn, r.cluster, r.name),
    serviceName: r.name,
    clusterArn: arns.cluster(ctx.arn, r.cluster),
    ...kept,
    launchType: (kept.launchType as string | undefined) ?? 'EC2',
    status: r.status,
    desiredCount: r.desiredCount,
    runningCount: sum('running'),
    pendingCount: sum('pending'),
    taskDefinition: arns.taskDefinition(ctx.arn, family!, Number(revision)),
    ...spec,
    deployments: deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: tdArn(d.taskDefinition),
      desiredCount: d.desiredCount,
      pendingCount: sum('pending', d.id),
      runningCount: sum('running', d.id),
      failedTasks: d.failedTasks,
      createdAt: time(d.createdAt),
      updatedAt: time(d.updatedAt),
      launchType: 'EC2',
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
    })),
    events: events.map((e) => ({ id: String(e.id), createdAt: time(e.at), message: e.message })),
    createdAt: time(r.createdAt),
    deploymentController: { type: 'ECS' },
  };
}

/**
 * A service's deployments, newest first, including finished ones (ECS
 * ListServiceDeployments / DescribeServiceDeployments). INACTIVE services too,
 * while they are kept.
 */
export async function serviceDeploymentHistoryOp(ctx: AppContext, input: { cluster?: string; service: string }): Promise<{ service: ServiceRecord; deployments: DeploymentRecord[] }> {
  const cluster = await requireCluster(ctx, input.cluster);
  const name = serviceName(input.service);
  const service = await getService(ctx.db.sql, cluster, name);
  if (!service) throw notFound(`service ${name} not found in cluster ${cluster}`).as('service-not-found');
  return { service, deployments: await serviceDeployments(ctx.db.sql, cluster, [name], true) };
}
