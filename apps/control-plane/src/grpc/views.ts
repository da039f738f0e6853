import { arns, taskHealthStatus, type ArnContext } from '@berth/domain';
import type { Cluster, ContainerInstance, Event, Failure, Resource, Task, TaskDefinition } from '@berth/proto';
import type { EventRecord, TaskDefinitionRecord, TaskRecord } from '@berth/store';
import type { ClusterView } from '../services/clusters.js';
import { nodeAttributes, type ContainerInstanceView } from '../services/nodes.js';
import type { FailureView } from '../services/tasks.js';
import { toTaskDefinition } from '../services/task-definitions.js';
import type { AppContext } from '../services/context.js';

/** Records -> the ECS-named proto shapes of the control API. */

export function clusterView(ctx: AppContext, c: ClusterView): Cluster {
  return {
    clusterArn: arns.cluster(ctx.arn, c.name),
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: c.counts.nodes,
    runningTasksCount: c.counts.runningTasks,
    pendingTasksCount: c.counts.pendingTasks,
    activeServicesCount: c.counts.activeServices,
    settings: [{ name: 'nodeLostGraceSeconds', value: String(c.nodeLostGraceSeconds) }],
  };
}

export function taskDefinitionView(ctx: AppContext, r: TaskDefinitionRecord): TaskDefinition {
  return {
    taskDefinitionArn: arns.taskDefinition(ctx.arn, r.family, r.revision),
    family: r.family,
    revision: r.revision,
    status: r.status,
    registeredAt: r.registeredAt,
    taskDefinitionJson: JSON.stringify(toTaskDefinition(ctx, r)),
  };
}

const str = (n: number | undefined) => (n === undefined || n === null ? '' : String(n));
const date = (d: Date | null) => d ?? undefined;

export function taskView(arn: ArnContext, t: TaskRecord): Task {
  const taskArn = arns.task(arn, t.cluster, t.id);
  return {
    taskArn,
    clusterArn: arns.cluster(arn, t.cluster),
    taskDefinitionArn: arns.taskDefinition(arn, t.family, t.revision),
    containerInstanceArn: t.nodeId ? arns.containerInstance(arn, t.cluster, t.nodeId) : '',
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    cpu: String(t.cpu),
    memory: String(t.memory),
    containers: t.containers.map((c) => ({
      containerArn: arns.container(arn, t.cluster, t.id, c.name),
      taskArn,
      name: c.name,
      image: c.image,
      runtimeId: c.runtimeId ?? '',
      lastStatus: c.lastStatus,
      exitCode: c.exitCode ?? undefined,
      reason: c.reason ?? '',
      networkBindings: (c.networkBindings ?? []).map((b) => ({ bindIp: b.bindIP, containerPort: b.containerPort, hostPort: b.hostPort, protocol: b.protocol })),
      healthStatus: c.healthStatus ?? 'UNKNOWN',
      cpu: str(c.cpu),
      memory: str(c.memory),
      memoryReservation: str(c.memoryReservation),
      restartCount: c.restartCount ?? 0,
    })),
    healthStatus: taskHealthStatus(t.spec.containerDefinitions ?? [], t.containers),
    placementReason: t.placementReason,
    startedBy: t.startedBy,
    group: t.group,
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason,
    createdAt: t.createdAt,
    pullStartedAt: date(t.pullStartedAt),
    startedAt: date(t.startedAt),
    stoppingAt: date(t.stoppingAt),
    stoppedAt: date(t.stoppedAt),
    version: t.version,
    overridesJson: JSON.stringify(t.overrides ?? {}),
  };
}

const integer = (name: string, v: number): Resource => ({ name, type: 'INTEGER', integerValue: v, stringSetValue: [] });

export function containerInstanceView(arn: ArnContext, v: ContainerInstanceView): ContainerInstance {
  const { node: n, allocation: a } = v;
  return {
    containerInstanceArn: arns.containerInstance(arn, n.cluster, n.id),
    nodeId: n.id,
    hostname: n.hostname,
    status: n.status,
    agentConnected: n.agentConnected,
    runningTasksCount: a.running,
    pendingTasksCount: a.pending,
    registeredResources: [
      integer('CPU', n.registeredCpu),
      integer('MEMORY', n.registeredMemory),
      { name: 'PORTS', type: 'STRINGSET', integerValue: 0, stringSetValue: [] },
    ],
    remainingResources: [
      integer('CPU', n.registeredCpu - a.cpu),
      integer('MEMORY', n.registeredMemory - a.memory),
      { name: 'PORTS', type: 'STRINGSET', integerValue: 0, stringSetValue: a.ports },
    ],
    attributes: nodeAttributes(n),
    registeredAt: n.registeredAt,
    agentVersion: n.agentVersion,
    dockerVersion: n.facts.dockerVersion,
    lastHeartbeatAt: n.lastHeartbeatAt ?? undefined,
    cpuPercent: n.usage.cpuPercent ?? 0,
    memoryUsedMib: n.usage.memoryUsedMib ?? 0,
  };
}

export function failureView(f: FailureView): Failure {
  return { arn: f.arn ?? '', reason: f.reason, detail: f.detail };
}

export function missingFailure(arn: string): Failure {
  return { arn, reason: 'MISSING', detail: '' };
}

export function eventView(e: EventRecord): Event {
  return { id: e.id, at: e.at, cluster: e.cluster, kind: e.kind, subject: e.subject, message: e.message, dataJson: JSON.stringify(e.data ?? {}) };
}
