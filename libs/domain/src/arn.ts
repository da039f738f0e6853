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
