import type { TaskDefinitionSpec } from '@berth/domain';

/** Rows as the application sees them (camelCase, parsed). */

export interface ClusterRecord {
  name: string;
  status: string;
  createdAt: Date;
  /** How long a node may be out of contact before its tasks are lost. */
  nodeLostGraceSeconds: number;
}

export interface NodeFactsRecord {
  hostname: string;
  os: string;
  osVersion: string;
  kernel: string;
  arch: string;
  cpuCores: number;
  cpuModel: string;
  memoryMib: number;
  diskTotalMib: number;
  dockerVersion: string;
}

export interface NodeUsage {
  cpuPercent?: number;
  memoryUsedMib?: number;
  memoryTotalMib?: number;
  diskUsedMib?: number;
  diskTotalMib?: number;
  load1?: number;
  dockerReachable?: boolean;
}

export interface NodeRecord {
  id: string;
  cluster: string;
  hostname: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  agentConnected: boolean;
  agentVersion: string;
  protocolVersion: number;
  facts: NodeFactsRecord;
  labels: Record<string, string>;
  registeredCpu: number;
  registeredMemory: number;
  desiredGeneration: number;
  ackedGeneration: number;
  sessionId: string | null;
  usage: NodeUsage;
  lastHeartbeatAt: Date | null;
  registeredAt: Date;
  /** When the agent's session ended; null while connected. */
  disconnectedAt: Date | null;
  /** Put by operators (ECS PutAttributes); labels come from the agent. */
  attributes: Record<string, string>;
  /** The address other nodes and the proxies reach this node's published ports at ('' when unknown). */
  address: string;
}

export interface TaskDefinitionRecord {
  family: string;
  revision: number;
  /** DELETE_IN_PROGRESS: deleted (ECS DeleteTaskDefinitions), kept while tasks refer to it. */
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  spec: TaskDefinitionSpec;
  registeredAt: Date;
  deregisteredAt: Date | null;
}

export interface NetworkBindingRecord {
  bindIP: string;
  containerPort: number;
  hostPort: number;
  protocol: string;
}

export interface ContainerRecord {
  name: string;
  image: string;
  runtimeId?: string;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
  networkBindings?: NetworkBindingRecord[];
  healthStatus?: string;
  /** In-place restarts by the agent (restartPolicy, or while the control plane was away). */
  restartCount?: number;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
}

export interface TaskRecord {
  id: string;
  cluster: string;
  family: string;
  revision: number;
  nodeId: string | null;
  desiredStatus: string;
  lastStatus: string;
  /** The effective definition (overrides applied). */
  spec: TaskDefinitionSpec;
  overrides: Record<string, unknown>;
  cpu: number;
  memory: number;
  hostPorts: string[];
  containers: ContainerRecord[];
  startedBy: string;
  group: string;
  /** The placement constraints and strategy the task was run with (ECS shapes). */
  placement: TaskPlacement;
  /** While PROVISIONING: why no node takes it yet. */
  placementReason: string;
  stopCode: string;
  stoppedReason: string;
  version: number;
  createdAt: Date;
  pullStartedAt: Date | null;
  startedAt: Date | null;
  stoppingAt: Date | null;
  stoppedAt: Date | null;
  updatedAt: Date;
}

export interface TaskPlacement {
  constraints?: { type: string; expression?: string }[];
  strategy?: { type: string; field?: string }[];
}
