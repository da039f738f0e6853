import type { Random } from './random.js';

/**
 * ARNs in ECS's long format, so that tools written for ECS can read them:
 * arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID. Region and account are settings
 * of the control plane; these defaults mark a self-hosted cluster.
 */
export interface ArnContext {
  region: string;
  account: string;
}

export const DEFAULT_ARN_CONTEXT: ArnContext = { region: 'local', account: '000000000000' };

const prefix = (c: ArnContext) => `arn:aws:ecs:${c.region}:${c.account}`;

export const arns = {
  cluster: (c: ArnContext, cluster: string) => `${prefix(c)}:cluster/${cluster}`,
  task: (c: ArnContext, cluster: string, taskId: string) => `${prefix(c)}:task/${cluster}/${taskId}`,
  taskDefinition: (c: ArnContext, family: string, revision: number) => `${prefix(c)}:task-definition/${family}:${revision}`,
  containerInstance: (c: ArnContext, cluster: string, nodeId: string) => `${prefix(c)}:container-instance/${cluster}/${nodeId}`,
  container: (c: ArnContext, cluster: string, taskId: string, name: string) => `${prefix(c)}:container/${cluster}/${taskId}/${name}`,
  service: (c: ArnContext, cluster: string, name: string) => `${prefix(c)}:service/${cluster}/${name}`,
  /** A deployment `ecs-svc/123...` is `service-deployment/CLUSTER/SERVICE/123...`. */
  serviceDeployment: (c: ArnContext, cluster: string, service: string, deploymentId: string) =>
    `${prefix(c)}:service-deployment/${cluster}/${service}/${deploymentId.replace(/^ecs-svc\//, '')}`,
  serviceRevision: (c: ArnContext, cluster: string, service: string, deploymentId: string) =>
    `${prefix(c)}:service-revision/${cluster}/${service}/${deploymentId.replace(/^ecs-svc\//, '')}`,
};

/** What an ECS ARN names: its type (`task`, `service`, ...) and the path after it (`lab/0123...`). */
export interface ParsedArn {
  region: string;
  account: string;
  type: string;
  path: string[];
}

/** An ECS ARN taken apart; undefined when it is not one. */
export function parseEcsArn(ref: string): ParsedArn | undefined {
  const m = /^arn:aws[a-z-]*:ecs:([^:]*):([^:]*):([a-z-]+)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  return { region: m[1]!, account: m[2]!, type: m[3]!, path: m[4]!.split('/') };
}

/**
 * The key tags are kept under: the resource part of the ARN
 * (`cluster/lab`, `service/lab/web`, `task/lab/<id>`, `task-definition/web:3`,
 * `container-instance/lab/<id>`), so a changed region or account keeps them.
 */
export const tagKeys = {
  cluster: (cluster: string) => `cluster/${cluster}`,
  service: (cluster: string, name: string) => `service/${cluster}/${name}`,
  task: (cluster: string, id: string) => `task/${cluster}/${id}`,
  taskDefinition: (family: string, revision: number) => `task-definition/${family}:${revision}`,
  containerInstance: (cluster: string, id: string) => `container-instance/${cluster}/${id}`,
};

/** The last path segment of an ARN, or the string itself when it is a bare id or name. */
export function resourceId(ref: string): string {
  if (!ref.startsWith('arn:')) return ref;
  const resource = ref.split(':').slice(5).join(':');
  const parts = resource.split('/');
  return parts[parts.length - 1] ?? ref;
}

/** The cluster named in a task or container-instance ARN, if the ref is one. */
export function clusterOfArn(ref: string): string | undefined {
  if (!ref.startsWith('arn:')) return undefined;
  const parts = ref.split(':').slice(5).join(':').split('/');
  return parts.length >= 3 ? parts[1] : undefined;
}

export interface TaskDefinitionRef {
  family: string;
  /** Absent means the latest ACTIVE revision. */
  revision?: number;
}

/** `family`, `family:revision` or a task-definition ARN. Undefined when malformed. */
export function parseTaskDefinitionRef(ref: string): TaskDefinitionRef | undefined {
  let s = ref.trim();
  if (s.startsWith('arn:')) {
    const m = /:task-definition\/(.+)$/.exec(s);
    if (!m) return undefined;
    s = m[1]!;
  }
  const m = /^([A-Za-z0-9_-]{1,255})(?::([0-9]+))?$/.exec(s);
  if (!m) return undefined;
  const family = m[1]!;
  if (m[2] === undefined) return { family };
  const revision = Number(m[2]);
  if (!Number.isSafeInteger(revision) || revision < 1) return undefined;
  return { family, revision };
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Task ids are 32 lowercase hex characters, as in ECS. */
export function newTaskId(random: Random): string {
  return hex(random.bytes(16));
}

/** Node ids: `n-` and 16 hex characters; short enough to type. */
export function newNodeId(random: Random): string {
  return `n-${hex(random.bytes(8))}`;
}

/** Deployment ids as ECS writes them: `ecs-svc/` and 19 digits (also the startedBy of the deployment's tasks). */
export function newDeploymentId(random: Random): string {
  const digits = Array.from(random.bytes(19), (b) => String(b % 10)).join('');
  return `ecs-svc/${digits[0] === '0' ? '1' + digits.slice(1) : digits}`;
}

export function newSessionId(random: Random): string {
  return hex(random.bytes(12));
}

export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
