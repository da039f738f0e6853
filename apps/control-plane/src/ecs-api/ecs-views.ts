import { arns, taskHealthStatus, type ArnContext } from '@berth/domain';
import type { NodeRecord, Tag, TaskDefinitionRecord, TaskRecord } from '@berth/store';
import type { ClusterView } from '../services/clusters.js';
import type { AppContext } from '../services/context.js';
import { nodeAttributes, type ContainerInstanceView } from '../services/nodes.js';
import { toTaskDefinition } from '../services/task-definitions.js';

/**
 * Records -> ECS response shapes. Timestamps stay Dates (or ISO strings) here:
 * `toWire` makes them epoch seconds, and drops whatever the model lacks.
 */

type Json = Record<string, unknown>;

export function ecsCluster(ctx: AppContext, c: ClusterView, include: readonly string[], tags?: Tag[]): Json {
  return {
    clusterArn: arns.cluster(ctx.arn, c.name),
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: c.counts.nodes,
    runningTasksCount: c.counts.runningTasks,
    pendingTasksCount: c.counts.pendingTasks,
    activeServicesCount: c.counts.activeServices,
    statistics: include.includes('STATISTICS')
      ? [
          { name: 'runningEC2TasksCount', value: String(c.counts.runningTasks) },
          { name: 'pendingEC2TasksCount', value: String(c.counts.pendingTasks) },
          { name: 'activeEC2ServiceCount', value: String(c.counts.activeServices) },
          { name: 'runningFargateTasksCount', value: '0' },
          { name: 'pendingFargateTasksCount', value: '0' },
          { name: 'activeFargateServiceCount', value: '0' },
        ]
      : [],
    tags: include.includes('TAGS') ? (tags ?? []) : [],
    settings: include.includes('SETTINGS')
      ? [
          { name: 'containerInsights', value: 'disabled' },
          { name: 'nodeLostGraceSeconds', value: String(c.nodeLostGraceSeconds) },
        ]
      : [],
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
}

export function ecsTaskDefinition(ctx: AppContext, r: TaskDefinitionRecord): Json {
  const td = toTaskDefinition(ctx, r) as unknown as Json;
  // Tags are answered beside the definition (include TAGS), never inside it.
  const { tags: _tags, ...rest } = td;
  return {
    ...rest,
    compatibilities: ['EC2', 'EXTERNAL'],
    requiresAttributes: [],
    ...(r.deregisteredAt ? { deregisteredAt: r.deregisteredAt } : {}),
  };
}

const num = (v: number | undefined | null) => (v === undefined || v === null ? undefined : v);

export function ecsTask(arn: ArnContext, t: TaskRecord, tags?: Tag[]): Json {
  const taskArn = arns.task(arn, t.cluster, t.id);
  const health = taskHealthStatus(t.spec.containerDefinitions ?? [], t.containers);
  return {
    taskArn,
    clusterArn: arns.cluster(arn, t.cluster),
    taskDefinitionArn: arns.taskDefinition(arn, t.family, t.revision),
    containerInstanceArn: t.nodeId ? arns.containerInstance(arn, t.cluster, t.nodeId) : undefined,
    overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...t.overrides },
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    cpu: String(t.cpu),
    memory: String(t.memory),
    containers: t.containers.map((c) => ({
      containerArn: arns.container(arn, t.cluster, t.id, c.name),
      taskArn,
      name: c.name,
      image: c.image,
      runtimeId: c.runtimeId || undefined,
      lastStatus: c.lastStatus,
      exitCode: num(c.exitCode),
      reason: c.reason || undefined,
      networkBindings: (c.networkBindings ?? []).map((b) => ({ bindIP: b.bindIP, containerPort: b.containerPort, hostPort: b.hostPort, protocol: b.protocol })),
      networkInterfaces: [],
      healthStatus: c.healthStatus ?? 'UNKNOWN',
      cpu: c.cpu === undefined || c.cpu === null ? '0' : String(c.cpu),
      memory: c.memory === undefined || c.memory === null ? undefined : String(c.memory),
      memoryReservation: c.memoryReservation === undefined || c.memoryReservation === null ? undefined : String(c.memoryReservation),
    })),
    startedBy: t.startedBy || undefined,
    version: t.version,
    stopCode: t.stopCode || undefined,
    stoppedReason: t.stoppedReason || undefined,
    connectivity: t.lastStatus === 'RUNNING' ? 'CONNECTED' : undefined,
    createdAt: t.createdAt,
    pullStartedAt: t.pullStartedAt ?? undefined,
    startedAt: t.startedAt ?? undefined,
    stoppingAt: t.stoppingAt ?? undefined,
    stoppedAt: t.stoppedAt ?? undefined,
    executionStoppedAt: t.lastStatus === 'STOPPED' ? (t.stoppedAt ?? undefined) : undefined,
    group: t.group,
    launchType: 'EC2',
    attachments: [],
    healthStatus: health,
    tags: tags ?? [],
    enableExecuteCommand: false,
  };
}

const integer = (name: string, v: number) => ({ name, type: 'INTEGER', integerValue: v, doubleValue: 0, longValue: 0 });

export function ecsContainerInstance(arn: ArnContext, v: ContainerInstanceView, tags?: Tag[]): Json {
  const { node: n, allocation: a } = v;
  return {
    containerInstanceArn: arns.containerInstance(arn, n.cluster, n.id),
    ec2InstanceId: n.id,
    version: n.desiredGeneration,
    versionInfo: { agentVersion: n.agentVersion, dockerVersion: n.facts.dockerVersion ? `DockerVersion: ${n.facts.dockerVersion}` : undefined },
    remainingResources: [
      integer('CPU', n.registeredCpu - a.cpu),
      integer('MEMORY', n.registeredMemory - a.memory),
      { name: 'PORTS', type: 'STRINGSET', stringSetValue: a.ports },
      { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [] },
    ],
    registeredResources: [
      integer('CPU', n.registeredCpu),
      integer('MEMORY', n.registeredMemory),
      { name: 'PORTS', type: 'STRINGSET', stringSetValue: [] },
      { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: [] },
    ],
    status: n.status,
    statusReason: n.status === 'INACTIVE' ? 'deregistered' : undefined,
    agentConnected: n.agentConnected,
    runningTasksCount: a.running,
    pendingTasksCount: a.pending,
    attributes: nodeAttributes(n).map((x) => ({ name: x.name, value: x.value })),
    registeredAt: n.registeredAt,
    attachments: [],
    tags: tags ?? [],
  };
}

/** ECS's per-node attributes as ListAttributes answers them. */
export function ecsNodeAttributes(arn: ArnContext, n: NodeRecord): Json[] {
  return nodeAttributes(n).map((x) => ({ name: x.name, value: x.value, targetType: 'container-instance', targetId: arns.containerInstance(arn, n.cluster, n.id) }));
}
