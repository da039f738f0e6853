import { arns, invalid, parseEcsArn, tagKeys } from '@berth/domain';
import { circuitBreakerThreshold } from '@berth/scheduler';
import { decodeToken, encodeToken, resourcesTags, type DeploymentRecord, type ServiceRecord } from '@berth/store';
import type { AppContext } from '../../services/context.js';
import { createServiceOp, deleteServiceOp, describeServicesOp, listServicesOp, serviceDeploymentHistoryOp, updateServiceOp } from '../../services/services.js';
import { clusterName } from '../../services/clusters.js';
import { clusterFor, ecsPageSize, type EcsHandlers, type Json } from '../ecs-call.js';
import { ecsError } from '../ecs-errors.js';

/** Services: Create, Update, Delete, Describe (include TAGS), List, ListServiceDeployments, DescribeServiceDeployments. */
export const serviceOps: EcsHandlers = {
  async CreateService(input, { ctx }) {
    const { service, warnings } = await createServiceOp(ctx, JSON.stringify(input));
    if (warnings.length > 0) ctx.log.info({ service: input.serviceName, warnings }, 'CreateService: AWS-only fields kept but not applied');
    return { service };
  },

  async UpdateService(input, { ctx }) {
    const cluster = clusterFor(input.cluster, [input.service]);
    const { service, warnings } = await updateServiceOp(ctx, JSON.stringify({ ...input, ...(cluster ? { cluster } : {}) }));
    if (warnings.length > 0) ctx.log.info({ service: input.service, warnings }, 'UpdateService: AWS-only fields kept but not applied');
    return { service };
  },

  async DeleteService(input, { ctx }) {
    return { service: await deleteServiceOp(ctx, { cluster: clusterFor(input.cluster, [input.service]), service: input.service, force: input.force }) };
  },

  async DescribeServices(input, { ctx }) {
    const refs = input.services ?? [];
    if (refs.length === 0) throw ecsError('InvalidParameterException', 'services: name at least one service');
    if (refs.length > 10) throw ecsError('InvalidParameterException', `services: must name at most 10 services, got ${refs.length}`);
    const cluster = clusterName(clusterFor(input.cluster, refs));
    const r = await describeServicesOp(ctx, { cluster, services: refs });
    const withTags = (input.include ?? []).includes('TAGS');
    const tags = withTags ? await resourcesTags(ctx.db.sql, r.found.map((s) => tagKeys.service(cluster, s.serviceName as string))) : new Map();
    return {
      services: r.found.map((s) => ({ ...s, tags: withTags ? (tags.get(tagKeys.service(cluster, s.serviceName as string)) ?? []) : undefined })),
      failures: r.missing.map((ref) => ({ arn: ref.startsWith('arn:') ? ref : arns.service(ctx.arn, cluster, ref), reason: 'MISSING' })),
    };
  },

  async ListServices(input, { ctx }) {
    // ECS: 10 per page unless asked for up to 100.
    const maxResults = ecsPageSize(input.maxResults, { default: 10, max: 100 });
    if (input.launchType === 'FARGATE') return { serviceArns: [] };
    const page = await listServicesOp(ctx, { cluster: input.cluster, nextToken: input.nextToken, maxResults, schedulingStrategy: input.schedulingStrategy });
    return { serviceArns: page.items, nextToken: page.nextToken };
  },

  async ListServiceDeployments(input, { ctx }) {
    const maxResults = ecsPageSize(input.maxResults, { default: 20, max: 100 });
    const { service, deployments } = await serviceDeploymentHistoryOp(ctx, { cluster: clusterFor(input.cluster, [input.service]), service: input.service });
    const before = input.createdAt?.before ? new Date(input.createdAt.before as Date) : undefined;
    const after = input.createdAt?.after ? new Date(input.createdAt.after as Date) : undefined;
    const statuses = (input.status ?? []) as string[];
    const briefs = deployments
      .filter((d) => (!before || d.createdAt < before) && (!after || d.createdAt > after))
      .map((d) => ({ d, status: deploymentStatus(d, deployments) }))
      .filter((x) => statuses.length === 0 || statuses.includes(x.status.status));
    const token = decodeToken(input.nextToken);
    if (token !== undefined && !(token.length === 1 && Number.isInteger(token[0]) && (token[0] as number) > 0)) throw invalid('nextToken: not a token this list returned');
    const start = (token?.[0] as number | undefined) ?? 0;
    const page = briefs.slice(start, start + maxResults);
    return {
      serviceDeployments: page.map(({ d, status }) => ({
        serviceDeploymentArn: arns.serviceDeployment(ctx.arn, service.cluster, service.name, d.id),
        serviceArn: arns.service(ctx.arn, service.cluster, service.name),
        clusterArn: arns.cluster(ctx.arn, service.cluster),
        createdAt: d.createdAt,
        startedAt: d.createdAt,
        finishedAt: status.finished ? d.updatedAt : undefined,
        targetServiceRevisionArn: arns.serviceRevision(ctx.arn, service.cluster, service.name, d.id),
        status: status.status,
        statusReason: d.rolloutStateReason || undefined,
      })),
      nextToken: start + maxResults < briefs.length ? encodeToken([start + maxResults]) : undefined,
    };
  },

  async DescribeServiceDeployments(input, { ctx }) {
    if (input.serviceDeploymentArns.length === 0 || input.serviceDeploymentArns.length > 20) {
      throw invalid(`serviceDeploymentArns: must name 1-20 service deployments, got ${input.serviceDeploymentArns.length}`);
    }
    const found: Json[] = [];
    const failures: Json[] = [];
    for (const ref of input.serviceDeploymentArns) {
      const a = parseEcsArn(ref);
      if (!a || a.type !== 'service-deployment' || a.path.length !== 3) {
        failures.push({ arn: ref, reason: 'INVALID_ARGUMENT', detail: 'not a service deployment ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID)' });
        continue;
      }
      const [cluster, name, id] = a.path as [string, string, string];
      let history: { service: ServiceRecord; deployments: DeploymentRecord[] };
      try {
        history = await serviceDeploymentHistoryOp(ctx, { cluster, service: name });
      } catch {
        failures.push({ arn: ref, reason: 'MISSING' });
        continue;
      }
      const d = history.deployments.find((x) => x.id === `ecs-svc/${id}` || x.id === id);
      if (!d) failures.push({ arn: ref, reason: 'MISSING' });
      else found.push(serviceDeployment(ctx, history.service, d, history.deployments));
    }
    return { serviceDeployments: found, failures };
  },
};

/**
 * A Berth deployment in ECS's service-deployment words: COMPLETED is
 * SUCCESSFUL; IN_PROGRESS while PRIMARY, else STOPPED (a newer update took
 * over); FAILED is ROLLBACK_* when the circuit breaker rolled it back (by how
 * the rollback deployment fares), else STOPPED.
 */
export function deploymentStatus(d: DeploymentRecord, all: DeploymentRecord[]): { status: string; finished: boolean; rollbackBy?: DeploymentRecord } {
  if (d.rolloutState === 'COMPLETED') return { status: 'SUCCESSFUL', finished: true };
  if (d.rolloutState === 'IN_PROGRESS') return d.status === 'PRIMARY' ? { status: 'IN_PROGRESS', finished: false } : { status: 'STOPPED', finished: true };
  const rollbackBy = all.find((x) => x.rolloutStateReason.includes(`after deployment ${d.id} failed`));
  if (!rollbackBy) return { status: 'STOPPED', finished: true };
  const status = rollbackBy.rolloutState === 'COMPLETED' ? 'ROLLBACK_SUCCESSFUL' : rollbackBy.rolloutState === 'FAILED' ? 'ROLLBACK_FAILED' : 'ROLLBACK_IN_PROGRESS';
  return { status, finished: status !== 'ROLLBACK_IN_PROGRESS', rollbackBy };
}

function serviceDeployment(ctx: AppContext, s: ServiceRecord, d: DeploymentRecord, all: DeploymentRecord[]): Json {
  const st = deploymentStatus(d, all);
  const older = all.filter((x) => x.createdAt < d.createdAt && x.id !== d.id);
  const source = older.find((x) => x.rolloutState === 'COMPLETED');
  const revision = (x: DeploymentRecord) => ({ arn: arns.serviceRevision(ctx.arn, s.cluster, s.name, x.id), requestedTaskCount: x.desiredCount, runningTaskCount: 0, pendingTaskCount: 0 });
  const cb = s.spec.deploymentConfiguration.deploymentCircuitBreaker;
  return {
    serviceDeploymentArn: arns.serviceDeployment(ctx.arn, s.cluster, s.name, d.id),
    serviceArn: arns.service(ctx.arn, s.cluster, s.name),
    clusterArn: arns.cluster(ctx.arn, s.cluster),
    createdAt: d.createdAt,
    startedAt: d.createdAt,
    updatedAt: d.updatedAt,
    finishedAt: st.finished ? d.updatedAt : undefined,
    sourceServiceRevisions: source ? [revision(source)] : [],
    targetServiceRevision: revision(d),
    status: st.status,
    statusReason: d.rolloutStateReason || undefined,
    deploymentConfiguration: {
      minimumHealthyPercent: s.spec.deploymentConfiguration.minimumHealthyPercent,
      maximumPercent: s.spec.deploymentConfiguration.maximumPercent,
      deploymentCircuitBreaker: { enable: cb.enable, rollback: cb.rollback },
    },
    rollback: st.rollbackBy
      ? { reason: st.rollbackBy.rolloutStateReason, startedAt: st.rollbackBy.createdAt, serviceRevisionArn: arns.serviceRevision(ctx.arn, s.cluster, s.name, st.rollbackBy.id) }
      : undefined,
    deploymentCircuitBreaker: cb.enable ? { status: d.rolloutState === 'FAILED' ? 'TRIGGERED' : 'MONITORING', failureCount: d.failedTasks, threshold: circuitBreakerThreshold(d.desiredCount) } : { status: 'DISABLED', failureCount: 0, threshold: 0 },
  };
}
