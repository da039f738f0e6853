import { CLUSTER_NAME_PATTERN, clusterOfArn, resourceId } from './arn.js';
import { validationFailed, type FieldError } from './errors.js';
import {
  CreateServiceRequestFields,
  DeploymentCircuitBreakerFields,
  DeploymentConfigurationFields,
  PlacementConstraintFields,
  PlacementStrategyFields,
  ServiceFields,
  UpdateServiceRequestFields,
} from './gen/ecs-fields.js';

/**
 * ECS services as JSON: CreateService and UpdateService request bodies (or a
 * Service from `aws ecs describe-services` output) parsed into what Berth
 * keeps, with every problem named by field and every AWS-only field reported.
 */

export type SchedulingStrategyName = 'REPLICA' | 'DAEMON';

export interface DeploymentCircuitBreaker {
  enable: boolean;
  rollback: boolean;
}

export interface DeploymentConfiguration {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: DeploymentCircuitBreaker;
}

export interface ServicePlacement {
  placementConstraints: { type: string; expression?: string }[];
  placementStrategy: { type: string; field?: string }[];
}

/** A service as Berth keeps it (ECS field names). */
export interface ServiceSpec extends ServicePlacement {
  serviceName: string;
  /** As given: family, family:revision or an ARN (resolved by the control plane). */
  taskDefinition: string;
  desiredCount: number;
  schedulingStrategy: SchedulingStrategyName;
  deploymentConfiguration: DeploymentConfiguration;
  healthCheckGracePeriodSeconds: number;
  /** ECS's loadBalancers: each task's container port is a target of these target groups (resolved by the control plane). */
  loadBalancers?: ServiceLoadBalancer[];
  tags: { key: string; value?: string }[];
  clientToken?: string;
  /** Fields accepted but not acted on, kept so describe shows them back. */
  kept: Record<string, unknown>;
}

/** ECS's LoadBalancer shape (a target group, the container and its port). */
export interface ServiceLoadBalancer {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
  loadBalancerName?: string;
}

export interface ParsedCreateService {
  cluster?: string;
  spec: ServiceSpec;
  warnings: string[];
}

export interface ServiceUpdate {
  cluster?: string;
  service: string;
  desiredCount?: number;
  taskDefinition?: string;
  deploymentConfiguration?: Partial<Omit<DeploymentConfiguration, 'deploymentCircuitBreaker'>> & { deploymentCircuitBreaker?: DeploymentCircuitBreaker };
  placementConstraints?: ServicePlacement['placementConstraints'];
  placementStrategy?: ServicePlacement['placementStrategy'];
  healthCheckGracePeriodSeconds?: number;
  loadBalancers?: ServiceLoadBalancer[];
  forceNewDeployment: boolean;
  kept: Record<string, unknown>;
}

export interface ParsedUpdateService {
  update: ServiceUpdate;
  warnings: string[];
}

export const DEFAULT_DEPLOYMENT: Record<SchedulingStrategyName, { minimumHealthyPercent: number; maximumPercent: number }> = {
  REPLICA: { minimumHealthyPercent: 100, maximumPercent: 200 },
  DAEMON: { minimumHealthyPercent: 0, maximumPercent: 100 },
};

/** ECS's limit on desiredCount per service. */
export const MAX_DESIRED_COUNT = 5000;

/** AWS-only service fields: kept and shown back, with what Berth does instead. */
const SERVICE_AWS_ONLY: Record<string, string> = {
  launchType: 'every Berth task runs on a node agent (as EC2 launch type)',
  capacityProviderStrategy: 'tasks wait in PROVISIONING for room on a node instead of a capacity provider',
  platformVersion: 'Fargate platform versions do not apply',
  role: 'there is no IAM; the service needs no role',
  networkConfiguration: 'subnets and security groups do not apply; the task definition\'s networkMode decides',
  serviceRegistries: 'not applied by this Berth version (service discovery comes later)',
  enableECSManagedTags: 'tags are kept on the service only',
  propagateTags: 'tags are kept on the service only',
  enableExecuteCommand: 'ECS Exec is not available; use docker exec on the node',
  serviceConnectConfiguration: 'Service Connect does not apply',
  volumeConfigurations: 'EBS volumes do not apply; use the task definition\'s volumes',
  vpcLatticeConfigurations: 'VPC Lattice does not apply',
  availabilityZoneRebalancing: 'use a spread placement strategy on an attribute instead',
  monitoring: 'CloudWatch monitoring does not apply',
  deploymentController: 'only the rolling (ECS) deployment controller is used',
};

const DEPLOYMENT_AWS_ONLY: Record<string, string> = {
  alarms: 'CloudWatch alarms do not apply; the circuit breaker judges deployments',
  bakeTimeInMinutes: 'not applied by this Berth version',
  lifecycleHooks: 'Lambda lifecycle hooks do not apply',
  linearConfiguration: 'not applied by this Berth version',
  canaryConfiguration: 'not applied by this Berth version',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isEmpty = (v: unknown) => v === '' || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

interface Ctx {
  errors: FieldError[];
  warnings: string[];
}

function intField(doc: Record<string, unknown>, field: string, path: string, min: number, max: number, ctx: Ctx): number | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (!isInt(v) || v < min || v > max) {
    ctx.errors.push({ path, rule: `must be an integer from ${min} to ${max}`, value: v });
    return undefined;
  }
  return v;
}

function parseDeploymentConfiguration(v: unknown, ctx: Ctx): ServiceUpdate['deploymentConfiguration'] {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    ctx.errors.push({ path: 'deploymentConfiguration', rule: 'must be an object', value: v });
    return undefined;
  }
  const out: NonNullable<ServiceUpdate['deploymentConfiguration']> = {};
  for (const [key, value] of Object.entries(v)) {
    const at = `deploymentConfiguration.${key}`;
    if (!DeploymentConfigurationFields.includes(key)) ctx.errors.push({ path: at, rule: 'is not a deployment configuration field' });
    else if (DEPLOYMENT_AWS_ONLY[key] && value !== null && value !== undefined && !isEmpty(value)) ctx.warnings.push(`${at}: ignored: ${DEPLOYMENT_AWS_ONLY[key]}`);
  }
  if (v.strategy !== undefined && v.strategy !== null && v.strategy !== 'ROLLING') {
    ctx.errors.push({ path: 'deploymentConfiguration.strategy', rule: 'only ROLLING is supported by this Berth version', value: v.strategy });
  }
  const min = intField(v, 'minimumHealthyPercent', 'deploymentConfiguration.minimumHealthyPercent', 0, 100, ctx);
  const max = intField(v, 'maximumPercent', 'deploymentConfiguration.maximumPercent', 100, 1000, ctx);
  if (min !== undefined) out.minimumHealthyPercent = min;
  if (max !== undefined) out.maximumPercent = max;
  const cb = v.deploymentCircuitBreaker;
  if (cb !== undefined && cb !== null) {
    if (!isObject(cb)) ctx.errors.push({ path: 'deploymentConfiguration.deploymentCircuitBreaker', rule: 'must be an object', value: cb });
    else {
      for (const key of Object.keys(cb)) {
        const at = `deploymentConfiguration.deploymentCircuitBreaker.${key}`;
        if (!DeploymentCircuitBreakerFields.includes(key)) ctx.errors.push({ path: at, rule: 'is not a circuit breaker field' });
        else if (key !== 'enable' && key !== 'rollback' && cb[key] !== null && cb[key] !== undefined) {
          ctx.warnings.push(`${at}: ignored: the threshold is ECS's default (half the desired count, 3 to 200 tasks)`);
        }
      }
      for (const key of ['enable', 'rollback'] as const) {
        if (typeof cb[key] !== 'boolean') ctx.errors.push({ path: `deploymentConfiguration.deploymentCircuitBreaker.${key}`, rule: 'is required, true or false', value: cb[key] });
      }
      out.deploymentCircuitBreaker = { enable: cb.enable === true, rollback: cb.rollback === true };
    }
  }
  return out;
}

function parsePlacementList(v: unknown, field: 'placementConstraints' | 'placementStrategy', ctx: Ctx): { type: string; expression?: string; field?: string }[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    ctx.errors.push({ path: field, rule: 'must be an array', value: v });
    return undefined;
  }
  const known = field === 'placementConstraints' ? PlacementConstraintFields : PlacementStrategyFields;
  const out: { type: string; expression?: string; field?: string }[] = [];
  v.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(item)) return void ctx.errors.push({ path: at, rule: 'must be an object', value: item });
    for (const key of Object.keys(item)) if (!known.includes(key)) ctx.errors.push({ path: `${at}.${key}`, rule: 'is not a field here' });
    if (typeof item.type !== 'string') return void ctx.errors.push({ path: `${at}.type`, rule: 'is required', value: item.type });
    const second = field === 'placementConstraints' ? 'expression' : 'field';
    if (item[second] !== undefined && item[second] !== null && typeof item[second] !== 'string') ctx.errors.push({ path: `${at}.${second}`, rule: 'must be a string', value: item[second] });
    out.push(typeof item[second] === 'string' ? { type: item.type, [second]: item[second] } : { type: item.type });
  });
  return out;
}

function parseTags(v: unknown, ctx: Ctx): ServiceSpec['tags'] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    ctx.errors.push({ path: 'tags', rule: 'must be an array of {key, value}', value: v });
    return [];
  }
  const out: ServiceSpec['tags'] = [];
  v.forEach((t, i) => {
    if (!isObject(t) || typeof t.key !== 'string' || t.key.length === 0 || t.key.length > 128) ctx.errors.push({ path: `tags[${i}].key`, rule: 'must be a string of 1-128 characters', value: isObject(t) ? t.key : t });
    else if (t.value !== undefined && (typeof t.value !== 'string' || t.value.length > 256)) ctx.errors.push({ path: `tags[${i}].value`, rule: 'must be a string of at most 256 characters', value: t.value });
    else out.push(t.value === undefined ? { key: t.key } : { key: t.key, value: t.value as string });
  });
  if (v.length > 50) ctx.errors.push({ path: 'tags', rule: 'must have at most 50 tags', value: v.length });
  return out;
}

/** ECS's loadBalancers list: shapes and ECS's rules (a target group ARN, a container and its port; classic ELBs do not apply). */
function parseLoadBalancers(v: unknown, ctx: Ctx): ServiceLoadBalancer[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    ctx.errors.push({ path: 'loadBalancers', rule: 'must be an array of {targetGroupArn, containerName, containerPort}', value: v });
    return undefined;
  }
  const out: ServiceLoadBalancer[] = [];
  const seen = new Set<string>();
  v.forEach((lb, i) => {
    const at = `loadBalancers[${i}]`;
    if (!isObject(lb)) return void ctx.errors.push({ path: at, rule: 'must be an object', value: lb });
    for (const key of Object.keys(lb)) {
      if (!['targetGroupArn', 'loadBalancerName', 'containerName', 'containerPort'].includes(key)) ctx.errors.push({ path: `${at}.${key}`, rule: 'is not a load balancer field' });
    }
    let ok = true;
    if (typeof lb.targetGroupArn !== 'string' || lb.targetGroupArn.length === 0) {
      ok = false;
      ctx.errors.push({
        path: `${at}.targetGroupArn`,
        rule: typeof lb.loadBalancerName === 'string' ? 'is required: Classic Load Balancers (loadBalancerName alone) do not apply; create a target group and name it here' : 'is required',
        value: lb.targetGroupArn,
      });
    }
    if (typeof lb.containerName !== 'string' || lb.containerName.length === 0) ok = !ctx.errors.push({ path: `${at}.containerName`, rule: 'is required', value: lb.containerName });
    if (!isInt(lb.containerPort) || lb.containerPort < 1 || lb.containerPort > 65535) ok = !ctx.errors.push({ path: `${at}.containerPort`, rule: 'is required, 1-65535', value: lb.containerPort });
    if (!ok) return;
    const k = `${lb.targetGroupArn}|${lb.containerName}|${lb.containerPort}`;
    if (seen.has(k)) return void ctx.errors.push({ path: at, rule: 'the same target group, container and port appear twice' });
    seen.add(k);
    out.push({
      targetGroupArn: lb.targetGroupArn as string,
      containerName: lb.containerName as string,
      containerPort: lb.containerPort as number,
      ...(typeof lb.loadBalancerName === 'string' ? { loadBalancerName: lb.loadBalancerName } : {}),
    });
  });
  if (v.length > 5) ctx.errors.push({ path: 'loadBalancers', rule: 'at most 5 per service (ECS\'s limit)', value: v.length });
  return out;
}

function checkDeploymentController(v: unknown, ctx: Ctx): void {
  if (v === undefined || v === null) return;
  if (!isObject(v) || (v.type !== undefined && v.type !== 'ECS')) {
    ctx.errors.push({ path: 'deploymentController.type', rule: 'only ECS (rolling update) is supported by this Berth version', value: isObject(v) ? v.type : v });
  }
}

function keepAwsOnly(doc: Record<string, unknown>, ctx: Ctx): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, why] of Object.entries(SERVICE_AWS_ONLY)) {
    const v = doc[key];
    if (v === undefined || v === null || isEmpty(v)) continue;
    kept[key] = v;
    if (key === 'launchType' && (v === 'EC2' || v === 'EXTERNAL')) continue;
    if (key === 'deploymentController') continue;
    ctx.warnings.push(`${key}: ignored: ${why}`);
  }
  return kept;
}

/**
 * A CreateService request body, or one Service of describe-services output
 * (also wrapped as `{"services": [...]}`): read-only fields are ignored, the
 * cluster may come from clusterArn. Throws a BerthError listing every problem.
 */
export function parseCreateService(input: unknown): ParsedCreateService {
  const ctx: Ctx = { errors: [], warnings: [] };
  if (!isObject(input)) throw validationFailed('invalid service', [{ path: '', rule: 'must be a JSON object', value: input }]);
  let doc = input;
  if (Array.isArray(doc.services)) {
    if (doc.services.length !== 1) throw validationFailed('invalid service', [{ path: 'services', rule: 'must hold exactly one service to create', value: doc.services.length }]);
    doc = doc.services[0] as Record<string, unknown>;
    if (!isObject(doc)) throw validationFailed('invalid service', [{ path: 'services[0]', rule: 'must be an object', value: doc }]);
  }
  for (const key of Object.keys(doc)) {
    if (!CreateServiceRequestFields.includes(key) && !ServiceFields.includes(key)) ctx.errors.push({ path: key, rule: 'is not a service field' });
  }
  let cluster: string | undefined;
  if (doc.cluster !== undefined && doc.cluster !== null) {
    if (typeof doc.cluster !== 'string') ctx.errors.push({ path: 'cluster', rule: 'must be a cluster name or ARN', value: doc.cluster });
    else cluster = doc.cluster;
  } else if (typeof doc.clusterArn === 'string') cluster = clusterOfArn(doc.clusterArn) ?? resourceId(doc.clusterArn);

  const name = doc.serviceName;
  if (name === undefined) ctx.errors.push({ path: 'serviceName', rule: 'is required' });
  else if (typeof name !== 'string' || !CLUSTER_NAME_PATTERN.test(name)) ctx.errors.push({ path: 'serviceName', rule: 'must be 1-255 letters, digits, hyphens or underscores', value: name });

  const strategy = doc.schedulingStrategy ?? 'REPLICA';
  if (strategy !== 'REPLICA' && strategy !== 'DAEMON') ctx.errors.push({ path: 'schedulingStrategy', rule: 'must be REPLICA or DAEMON', value: strategy });
  const scheduling: SchedulingStrategyName = strategy === 'DAEMON' ? 'DAEMON' : 'REPLICA';

  if (doc.taskDefinition === undefined) ctx.errors.push({ path: 'taskDefinition', rule: 'is required' });
  else if (typeof doc.taskDefinition !== 'string' || doc.taskDefinition.length === 0) ctx.errors.push({ path: 'taskDefinition', rule: 'must be family, family:revision or a task definition ARN', value: doc.taskDefinition });

  let desiredCount = intField(doc, 'desiredCount', 'desiredCount', 0, MAX_DESIRED_COUNT, ctx);
  if (scheduling === 'REPLICA' && doc.desiredCount === undefined) ctx.errors.push({ path: 'desiredCount', rule: 'is required for a REPLICA service' });
  if (scheduling === 'DAEMON') {
    if (desiredCount !== undefined && doc.runningCount === undefined) ctx.warnings.push('desiredCount: ignored: a DAEMON service runs one task on every matching node');
    desiredCount = 0;
  }

  const dc = parseDeploymentConfiguration(doc.deploymentConfiguration, ctx) ?? {};
  const defaults = DEFAULT_DEPLOYMENT[scheduling];
  if (scheduling === 'DAEMON' && dc.maximumPercent !== undefined && dc.maximumPercent !== 100) {
    ctx.errors.push({ path: 'deploymentConfiguration.maximumPercent', rule: 'must be 100 for a DAEMON service (one task per node)', value: dc.maximumPercent });
  }
  const min = dc.minimumHealthyPercent ?? defaults.minimumHealthyPercent;
  const max = dc.maximumPercent ?? defaults.maximumPercent;

  checkDeploymentController(doc.deploymentController, ctx);
  const placementConstraints = parsePlacementList(doc.placementConstraints, 'placementConstraints', ctx) ?? [];
  const placementStrategy = parsePlacementList(doc.placementStrategy, 'placementStrategy', ctx) ?? [];
  if (scheduling === 'DAEMON' && placementStrategy.length > 0) ctx.errors.push({ path: 'placementStrategy', rule: 'cannot be used with a DAEMON service (it runs on every matching node)' });
  const grace = intField(doc, 'healthCheckGracePeriodSeconds', 'healthCheckGracePeriodSeconds', 0, 2_147_483_647, ctx) ?? 0;
  const tags = parseTags(doc.tags, ctx);
  const loadBalancers = parseLoadBalancers(doc.loadBalancers, ctx) ?? [];
  if (doc.clientToken !== undefined && (typeof doc.clientToken !== 'string' || doc.clientToken.length > 36)) {
    ctx.errors.push({ path: 'clientToken', rule: 'must be a string of at most 36 characters', value: doc.clientToken });
  }
  const kept = keepAwsOnly(doc, ctx);
  if (ctx.errors.length > 0) throw validationFailed('invalid service', ctx.errors);
  return {
    cluster,
    spec: {
      serviceName: name as string,
      taskDefinition: doc.taskDefinition as string,
      desiredCount: desiredCount ?? 0,
      schedulingStrategy: scheduling,
      deploymentConfiguration: { minimumHealthyPercent: min, maximumPercent: max, deploymentCircuitBreaker: dc.deploymentCircuitBreaker ?? { enable: false, rollback: false } },
      placementConstraints,
      placementStrategy,
      healthCheckGracePeriodSeconds: grace,
      ...(loadBalancers.length > 0 ? { loadBalancers } : {}),
      tags,
      ...(typeof doc.clientToken === 'string' ? { clientToken: doc.clientToken } : {}),
      kept,
    },
    warnings: ctx.warnings,
  };
}

/** An UpdateService request body. Throws a BerthError listing every problem. */
export function parseUpdateService(input: unknown): ParsedUpdateService {
  const ctx: Ctx = { errors: [], warnings: [] };
  if (!isObject(input)) throw validationFailed('invalid service update', [{ path: '', rule: 'must be a JSON object', value: input }]);
  for (const key of Object.keys(input)) {
    if (!UpdateServiceRequestFields.includes(key)) ctx.errors.push({ path: key, rule: 'is not an UpdateService field' });
  }
  if (typeof input.service !== 'string' || input.service.length === 0) ctx.errors.push({ path: 'service', rule: 'is required (a service name or ARN)', value: input.service });
  if (input.cluster !== undefined && input.cluster !== null && typeof input.cluster !== 'string') ctx.errors.push({ path: 'cluster', rule: 'must be a cluster name or ARN', value: input.cluster });
  if (input.taskDefinition !== undefined && input.taskDefinition !== null && (typeof input.taskDefinition !== 'string' || input.taskDefinition.length === 0)) {
    ctx.errors.push({ path: 'taskDefinition', rule: 'must be family, family:revision or a task definition ARN', value: input.taskDefinition });
  }
  if (input.forceNewDeployment !== undefined && input.forceNewDeployment !== null && typeof input.forceNewDeployment !== 'boolean') {
    ctx.errors.push({ path: 'forceNewDeployment', rule: 'must be true or false', value: input.forceNewDeployment });
  }
  checkDeploymentController(input.deploymentController, ctx);
  const update: ServiceUpdate = {
    cluster: typeof input.cluster === 'string' ? input.cluster : undefined,
    service: input.service as string,
    desiredCount: intField(input, 'desiredCount', 'desiredCount', 0, MAX_DESIRED_COUNT, ctx),
    taskDefinition: typeof input.taskDefinition === 'string' ? input.taskDefinition : undefined,
    deploymentConfiguration: parseDeploymentConfiguration(input.deploymentConfiguration, ctx),
    placementConstraints: parsePlacementList(input.placementConstraints, 'placementConstraints', ctx),
    placementStrategy: parsePlacementList(input.placementStrategy, 'placementStrategy', ctx),
    healthCheckGracePeriodSeconds: intField(input, 'healthCheckGracePeriodSeconds', 'healthCheckGracePeriodSeconds', 0, 2_147_483_647, ctx),
    loadBalancers: parseLoadBalancers(input.loadBalancers, ctx),
    forceNewDeployment: input.forceNewDeployment === true,
    kept: keepAwsOnly(input, ctx),
  };
  if (ctx.errors.length > 0) throw validationFailed('invalid service update', ctx.errors);
  return { update, warnings: ctx.warnings };
}

