import { parseRoleRef } from './secrets.js';
import { CLUSTER_NAME_PATTERN } from './arn.js';
import type { TaskRefs } from './container-validation.js';
import { checkDependencyCycles, collectTaskRefs, validateContainerFields, validateVolumes } from './container-validation.js';
import type { FieldError } from './errors.js';
import { validationFailed } from './errors.js';
import {
  ContainerDefinitionFields,
  KeyValuePairFields,
  PortMappingFields,
  RegisterTaskDefinitionRequestFields,
  TaskDefinitionFields,
} from './gen/ecs-fields.js';
import { parseCpuUnits, parseMemoryMib } from './resources.js';

/**
 * ECS task definitions, as users already have them. Field names and shapes are
 * ECS's; fields this Berth version does not act on are kept and reported as
 * warnings, never silently dropped. Unknown fields (typos) are errors.
 */
export interface KeyValuePair {
  name: string;
  value: string;
}

export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  protocol?: 'tcp' | 'udp';
  name?: string;
  [field: string]: unknown;
}

export interface ContainerDefinition {
  name: string;
  image: string;
  command?: string[];
  entryPoint?: string[];
  environment?: KeyValuePair[];
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  portMappings?: PortMapping[];
  essential?: boolean;
  environmentFiles?: EnvironmentFile[];
  healthCheck?: HealthCheck;
  mountPoints?: MountPoint[];
  volumesFrom?: VolumeFrom[];
  workingDirectory?: string;
  user?: string;
  hostname?: string;
  readonlyRootFilesystem?: boolean;
  privileged?: boolean;
  linuxParameters?: LinuxParameters;
  ulimits?: Ulimit[];
  dockerLabels?: Record<string, string>;
  stopTimeout?: number;
  startTimeout?: number;
  dependsOn?: ContainerDependency[];
  logConfiguration?: LogConfiguration;
  restartPolicy?: ContainerRestartPolicy;
  dnsServers?: string[];
  dnsSearchDomains?: string[];
  extraHosts?: HostEntry[];
  dockerSecurityOptions?: string[];
  systemControls?: SystemControl[];
  /** ECS secrets: an environment variable each; a `name` that is an absolute path is a file (Berth). */
  secrets?: { name: string; valueFrom: string }[];
  /** A secret holding {"username", "password"} for the image's registry. */
  repositoryCredentials?: { credentialsParameter: string };
  interactive?: boolean;
  pseudoTerminal?: boolean;
  disableNetworking?: boolean;
  [field: string]: unknown;
}

/** ECS allows only S3 ARNs here; Berth reads a local file on the node when value is an absolute path. */
export interface EnvironmentFile {
  value: string;
  type: string;
}

export interface HealthCheck {
  /** ["CMD", exe, args...], ["CMD-SHELL", "command"] or ["NONE"]. */
  command: string[];
  /** Seconds, 5-300, default 30. */
  interval?: number;
  /** Seconds, 2-60, default 5. */
  timeout?: number;
  /** 1-10, default 3. */
  retries?: number;
  /** Seconds, 0-300, default 0. */
  startPeriod?: number;
}

export interface MountPoint {
  sourceVolume?: string;
  containerPath?: string;
  readOnly?: boolean;
}

export interface VolumeFrom {
  sourceContainer?: string;
  readOnly?: boolean;
}

export interface DockerVolumeConfiguration {
  /** task: created for the task and removed with it; shared: outlives the task. Default task. */
  scope?: 'task' | 'shared';
  autoprovision?: boolean;
  driver?: string;
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface Volume {
  name?: string;
  host?: { sourcePath?: string };
  dockerVolumeConfiguration?: DockerVolumeConfiguration;
  [field: string]: unknown;
}

export type DependencyCondition = 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY';

export interface ContainerDependency {
  containerName: string;
  condition: DependencyCondition;
}

export interface LinuxParameters {
  capabilities?: { add?: string[]; drop?: string[] };
  devices?: { hostPath: string; containerPath?: string; permissions?: ('read' | 'write' | 'mknod')[] }[];
  initProcessEnabled?: boolean;
  /** MiB of /dev/shm. */
  sharedMemorySize?: number;
  tmpfs?: { containerPath: string; size: number; mountOptions?: string[] }[];
  /** MiB of swap the container may use; 0 none. */
  maxSwap?: number;
  swappiness?: number;
}

export interface Ulimit {
  name: string;
  softLimit: number;
  hardLimit: number;
}

export interface LogConfiguration {
  logDriver: string;
  options?: Record<string, string>;
  secretOptions?: unknown[];
}

export interface ContainerRestartPolicy {
  enabled: boolean;
  ignoredExitCodes?: number[];
  /** Seconds a container must run before a restart can be attempted (60-1800, default 300). */
  restartAttemptPeriod?: number;
}

export interface HostEntry {
  hostname: string;
  ipAddress: string;
}

export interface SystemControl {
  namespace: string;
  value: string;
}

export type NetworkMode = 'bridge' | 'host' | 'awsvpc' | 'none';

/** A task definition as registered (RegisterTaskDefinitionRequest shape). */
export interface TaskDefinitionSpec {
  family: string;
  containerDefinitions: ContainerDefinition[];
  /** Task-level CPU units, normalized to a string of an integer as ECS returns it. */
  cpu?: string;
  /** Task-level memory in MiB, normalized to a string of an integer. */
  memory?: string;
  networkMode?: NetworkMode;
  volumes?: Volume[];
  /** Berth roles (NAME, berth:role/NAME or an IAM role ARN): which secrets the task may read. */
  taskRoleArn?: string;
  executionRoleArn?: string;
  [field: string]: unknown;
}

/** A registered revision: the spec plus ECS's read-only fields. */
export interface TaskDefinition extends TaskDefinitionSpec {
  taskDefinitionArn: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  registeredAt?: string;
}

export interface ParsedTaskDefinition {
  spec: TaskDefinitionSpec;
  warnings: string[];
}

/** Read-only fields of describe-task-definition output: accepted and ignored on register. */
const READ_ONLY_FIELDS = new Set([
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'deleteRequestedAt',
]);

/** Container fields this version applies on the node. Other ECS fields are kept with a warning. */
const APPLIED_CONTAINER_FIELDS = new Set([
  'name',
  'image',
  'command',
  'entryPoint',
  'environment',
  'cpu',
  'memory',
  'memoryReservation',
  'portMappings',
  'essential',
  // Validated in container-validation.ts.
  'environmentFiles',
  'healthCheck',
  'mountPoints',
  'volumesFrom',
  'workingDirectory',
  'user',
  'hostname',
  'readonlyRootFilesystem',
  'privileged',
  'linuxParameters',
  'ulimits',
  'dockerLabels',
  'stopTimeout',
  'startTimeout',
  'dependsOn',
  'logConfiguration',
  'restartPolicy',
  'dnsServers',
  'dnsSearchDomains',
  'extraHosts',
  'dockerSecurityOptions',
  'systemControls',
  'secrets',
  'repositoryCredentials',
  'interactive',
  'pseudoTerminal',
  'disableNetworking',
]);

/**
 * Container fields of a (registered, so valid) definition that no node applies,
 * as paths: the agent reports them with the task, so a task's events say what
 * it runs without.
 */
export function notAppliedContainerFields(spec: TaskDefinitionSpec): string[] {
  const out: string[] = [];
  for (const c of spec.containerDefinitions ?? []) {
    for (const [key, value] of Object.entries(c)) {
      if (!APPLIED_CONTAINER_FIELDS.has(key) && value !== undefined && value !== null && !isEmpty(value)) out.push(`containerDefinitions[${c.name}].${key}`);
    }
  }
  return out;
}

const APPLIED_TASK_FIELDS = new Set(['family', 'containerDefinitions', 'cpu', 'memory', 'networkMode', 'tags', 'volumes', 'taskRoleArn', 'executionRoleArn']);

/** What Berth does instead of an AWS-only field, for the warning text. */
const AWS_ONLY: Record<string, string> = {
  requiresCompatibilities: 'every Berth task runs on a node agent (EC2-style); FARGATE and EXTERNAL are not distinguished',
  runtimePlatform: 'placement uses node attributes (arch, os) instead',
  inferenceAccelerators: 'AWS Elastic Inference does not exist off AWS',
  ephemeralStorage: 'tasks use the node\'s Docker storage; Fargate ephemeral storage does not apply',
  proxyConfiguration: 'App Mesh proxy configuration is not used',
  enableFaultInjection: 'AWS fault injection is not used',
};

const NETWORK_MODES: readonly NetworkMode[] = ['bridge', 'host', 'awsvpc', 'none'];
const MAX_CONTAINERS = 10;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
/** "", [] and {} say nothing: kept, but not worth a warning. */
const isEmpty = (v: unknown) => v === '' || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/**
 * Parses and validates a task-definition document: a RegisterTaskDefinition
 * request body, or the whole output of `aws ecs describe-task-definition`.
 * Throws a BerthError listing every problem at once.
 */
export function parseTaskDefinition(input: unknown): ParsedTaskDefinition {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  if (!isObject(input)) {
    throw validationFailed('task definition', [{ path: '', rule: 'must be a JSON object', value: input }]);
  }
  let doc: Record<string, unknown> = input;
  // The describe-task-definition output wraps the definition (and may carry tags beside it).
  if (isObject(doc.taskDefinition)) {
    const { taskDefinition, tags } = doc;
    doc = { ...(taskDefinition as Record<string, unknown>) };
    if (Array.isArray(tags) && tags.length > 0 && doc.tags === undefined) doc.tags = tags;
  }

  const spec: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (READ_ONLY_FIELDS.has(key)) continue;
    if (!RegisterTaskDefinitionRequestFields.includes(key) && !TaskDefinitionFields.includes(key)) {
      errors.push({ path: key, rule: 'is not a task definition field' });
      continue;
    }
    if (value === null || value === undefined) continue;
    spec[key] = value;
    if (isEmpty(value)) continue;
    if (AWS_ONLY[key] !== undefined) warnings.push(`${key}: ignored: ${AWS_ONLY[key]}`);
    else if (!APPLIED_TASK_FIELDS.has(key)) warnings.push(`${key}: accepted and kept, but not applied by this Berth version`);
  }

  if (spec.family === undefined) errors.push({ path: 'family', rule: 'is required' });
  else if (typeof spec.family !== 'string' || !CLUSTER_NAME_PATTERN.test(spec.family)) {
    errors.push({ path: 'family', rule: 'must be 1-255 letters, digits, hyphens or underscores', value: spec.family });
  }

  for (const field of ['taskRoleArn', 'executionRoleArn'] as const) {
    if (spec[field] !== undefined && spec[field] !== '' && parseRoleRef(spec[field]) === undefined) {
      errors.push({ path: field, rule: 'must name a Berth role: NAME, berth:role/NAME, or an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)', value: spec[field] });
    }
  }

  if (spec.networkMode !== undefined && !NETWORK_MODES.includes(spec.networkMode as NetworkMode)) {
    errors.push({ path: 'networkMode', rule: `must be one of ${NETWORK_MODES.join(', ')}`, value: spec.networkMode });
  }
  const networkMode = (spec.networkMode as NetworkMode | undefined) ?? 'bridge';

  for (const field of ['cpu', 'memory'] as const) {
    const raw = spec[field];
    if (raw === undefined) continue;
    const parsed = field === 'cpu' ? parseCpuUnits(raw) : parseMemoryMib(raw);
    if (typeof parsed === 'string') errors.push({ path: field, rule: parsed, value: raw });
    else spec[field] = String(parsed);
  }

  // Before the containers: their mountPoints must name these volumes.
  const volumeNames = validateVolumes(spec.volumes, { errors, warnings });

  const containers = spec.containerDefinitions;
  if (containers === undefined) errors.push({ path: 'containerDefinitions', rule: 'is required' });
  else if (!Array.isArray(containers) || containers.length === 0) {
    errors.push({ path: 'containerDefinitions', rule: 'must be a non-empty array', value: containers });
  } else {
    if (containers.length > MAX_CONTAINERS) {
      errors.push({ path: 'containerDefinitions', rule: `must have at most ${MAX_CONTAINERS} containers`, value: containers.length });
    }
    const names = new Set<string>();
    const hostPorts = new Map<string, string>();
    let essentials = 0;
    const refs = collectTaskRefs(containers, volumeNames, networkMode);
    containers.forEach((c, i) => {
      const at = `containerDefinitions[${i}]`;
      if (!isObject(c)) {
        errors.push({ path: at, rule: 'must be an object', value: c });
        return;
      }
      validateContainer(c, at, { errors, warnings, taskMemory: spec.memory !== undefined, networkMode, refs });
      if (typeof c.name === 'string') {
        if (names.has(c.name)) errors.push({ path: `${at}.name`, rule: 'must be unique within the task definition', value: c.name });
        names.add(c.name);
      }
      if (c.essential !== false) essentials++;
      for (const [j, pm] of (Array.isArray(c.portMappings) ? c.portMappings : []).entries()) {
        if (!isObject(pm)) continue;
        const host = networkMode === 'bridge' ? pm.hostPort : (pm.hostPort ?? pm.containerPort);
        if (!isInt(host) || host === 0) continue;
        const key = `${host}/${pm.protocol ?? 'tcp'}`;
        const other = hostPorts.get(key);
        if (other) errors.push({ path: `${at}.portMappings[${j}].hostPort`, rule: `is already used by ${other}`, value: host });
        else hostPorts.set(key, `${at}.portMappings[${j}]`);
      }
    });
    if (containers.length > 0 && essentials === 0) {
      errors.push({ path: 'containerDefinitions', rule: 'must have at least one essential container' });
    }
    checkDependencyCycles(containers, errors);
  }

  if (errors.length > 0) throw validationFailed('invalid task definition', errors);
  return { spec: spec as TaskDefinitionSpec, warnings };
}

interface ContainerCtx {
  errors: FieldError[];
  warnings: string[];
  taskMemory: boolean;
  networkMode: NetworkMode;
  /** Volume and container names of the task, for mountPoints, volumesFrom and dependsOn. */
  refs: TaskRefs;
}

function validateContainer(c: Record<string, unknown>, at: string, ctx: ContainerCtx): void {
  const { errors, warnings } = ctx;
  for (const key of Object.keys(c)) {
    if (!ContainerDefinitionFields.includes(key)) errors.push({ path: `${at}.${key}`, rule: 'is not a container definition field' });
    else if (!APPLIED_CONTAINER_FIELDS.has(key) && c[key] !== undefined && c[key] !== null && !isEmpty(c[key])) {
      warnings.push(`${at}.${key}: accepted and kept, but not applied by this Berth version`);
    }
  }
  if (c.name === undefined) errors.push({ path: `${at}.name`, rule: 'is required' });
  else if (typeof c.name !== 'string' || !CLUSTER_NAME_PATTERN.test(c.name)) {
    errors.push({ path: `${at}.name`, rule: 'must be 1-255 letters, digits, hyphens or underscores', value: c.name });
  }
  if (c.image === undefined) errors.push({ path: `${at}.image`, rule: 'is required' });
  else if (typeof c.image !== 'string' || c.image.trim() === '' || c.image.length > 4096 || /\s/.test(c.image)) {
    errors.push({ path: `${at}.image`, rule: 'must be an image reference without spaces, up to 4096 characters', value: c.image });
  }
  for (const field of ['command', 'entryPoint'] as const) {
    const v = c[field];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) errors.push({ path: `${at}.${field}`, rule: 'must be an array of strings', value: v });
    else v.forEach((s, k) => typeof s !== 'string' && errors.push({ path: `${at}.${field}[${k}]`, rule: 'must be a string', value: s }));
  }
  if (c.environment !== undefined && c.environment !== null) {
    validateKeyValues(c.environment, `${at}.environment`, errors);
  }
  if (c.essential !== undefined && typeof c.essential !== 'boolean') {
    errors.push({ path: `${at}.essential`, rule: 'must be true or false', value: c.essential });
  }
  if (c.cpu !== undefined && (!isInt(c.cpu) || c.cpu < 0 || c.cpu > 10240 * 4)) {
    errors.push({ path: `${at}.cpu`, rule: 'must be an integer number of CPU units (1024 per core), 0 or more', value: c.cpu });
  }
  if (c.memory !== undefined && (!isInt(c.memory) || c.memory < 6)) {
    errors.push({ path: `${at}.memory`, rule: 'must be an integer number of MiB, at least 6', value: c.memory });
  }
  if (c.memoryReservation !== undefined && (!isInt(c.memoryReservation) || c.memoryReservation < 4)) {
    errors.push({ path: `${at}.memoryReservation`, rule: 'must be an integer number of MiB, at least 4', value: c.memoryReservation });
  }
  if (isInt(c.memory) && isInt(c.memoryReservation) && c.memoryReservation > c.memory) {
    errors.push({ path: `${at}.memoryReservation`, rule: `must not exceed memory (${c.memory})`, value: c.memoryReservation });
  }
  if (!ctx.taskMemory && c.memory === undefined && c.memoryReservation === undefined) {
    errors.push({ path: `${at}.memory`, rule: 'is required (or memoryReservation) when the task sets no memory' });
  }
  if (c.portMappings !== undefined && c.portMappings !== null) {
    if (!Array.isArray(c.portMappings)) errors.push({ path: `${at}.portMappings`, rule: 'must be an array', value: c.portMappings });
    else c.portMappings.forEach((pm, j) => validatePortMapping(pm, `${at}.portMappings[${j}]`, ctx));
  }
  validateContainerFields(c, at, ctx.refs, ctx);
}

function validateKeyValues(v: unknown, at: string, errors: FieldError[]): void {
  if (!Array.isArray(v)) {
    errors.push({ path: at, rule: 'must be an array of {"name", "value"} objects', value: v });
    return;
  }
  v.forEach((kv, k) => {
    if (!isObject(kv)) return errors.push({ path: `${at}[${k}]`, rule: 'must be an object', value: kv });
    for (const key of Object.keys(kv)) {
      if (!KeyValuePairFields.includes(key)) errors.push({ path: `${at}[${k}].${key}`, rule: 'is not a field of a name/value pair' });
    }
    if (typeof kv.name !== 'string' || kv.name === '') errors.push({ path: `${at}[${k}].name`, rule: 'must be a non-empty string', value: kv.name });
    if (typeof kv.value !== 'string') errors.push({ path: `${at}[${k}].value`, rule: 'must be a string', value: kv.value });
  });
}

function validatePortMapping(pm: unknown, at: string, ctx: ContainerCtx): void {
  const { errors } = ctx;
  if (!isObject(pm)) {
    errors.push({ path: at, rule: 'must be an object', value: pm });
    return;
  }
  for (const key of Object.keys(pm)) {
    if (!PortMappingFields.includes(key)) errors.push({ path: `${at}.${key}`, rule: 'is not a port mapping field' });
  }
  if (pm.containerPort === undefined) errors.push({ path: `${at}.containerPort`, rule: 'is required' });
  else if (!isInt(pm.containerPort) || pm.containerPort < 1 || pm.containerPort > 65535) {
    errors.push({ path: `${at}.containerPort`, rule: 'must be 1-65535', value: pm.containerPort });
  }
  if (pm.hostPort !== undefined && (!isInt(pm.hostPort) || pm.hostPort < 0 || pm.hostPort > 65535)) {
    errors.push({ path: `${at}.hostPort`, rule: 'must be 0-65535 (0 or absent: a dynamic port)', value: pm.hostPort });
  }
  if (ctx.networkMode !== 'bridge' && pm.hostPort !== undefined && pm.hostPort !== pm.containerPort) {
    errors.push({ path: `${at}.hostPort`, rule: `must equal containerPort in ${ctx.networkMode} network mode`, value: pm.hostPort });
  }
  if (pm.protocol !== undefined && pm.protocol !== 'tcp' && pm.protocol !== 'udp') {
    errors.push({ path: `${at}.protocol`, rule: 'must be tcp or udp', value: pm.protocol });
  }
}

/** Host ports a task definition needs fixed on its node (dynamic ports excluded). */
export function staticHostPorts(spec: TaskDefinitionSpec): string[] {
  const mode = spec.networkMode ?? 'bridge';
  const out: string[] = [];
  for (const c of spec.containerDefinitions) {
    for (const pm of c.portMappings ?? []) {
      const host = mode === 'bridge' ? pm.hostPort : (pm.hostPort ?? pm.containerPort);
      if (host !== undefined && host > 0 && mode !== 'none') out.push(`${host}/${pm.protocol ?? 'tcp'}`);
    }
  }
  return out;
}
