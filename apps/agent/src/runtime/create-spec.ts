import type { ContainerDefinition, TaskDefinitionSpec } from '@berth/domain';
import type { DesiredTask } from '@berth/proto';
import type { CreateSpec } from './container-runtime.js';
import {
  dockerNameFor,
  LABEL_CLUSTER,
  LABEL_CONTAINER_NAME,
  LABEL_FAMILY,
  LABEL_MANAGED,
  LABEL_REVISION,
  LABEL_TASK_ARN,
  LABEL_TASK_ID,
} from './labels.js';

/** ECS's default stop timeout: SIGTERM, then SIGKILL after 30 s. */
export const DEFAULT_STOP_TIMEOUT_SEC = 30;
const MIB = 1024 * 1024;

export interface MappingOptions {
  /** Where published ports bind on the node (0.0.0.0 as ECS does; tests use 127.0.0.1). */
  bindIp: string;
}

/**
 * One ECS container definition -> the engine's create options. Pure.
 * Fields this version does not map are reported as warnings when the task
 * definition is registered; here they are simply not applied.
 */
export function toCreateSpec(task: DesiredTask, spec: TaskDefinitionSpec, c: ContainerDefinition, o: MappingOptions): CreateSpec {
  const mode = spec.networkMode ?? 'bridge';
  // awsvpc (a namespace per task) comes later; until then such tasks run on the bridge.
  const networkMode = mode === 'awsvpc' ? 'bridge' : mode;
  const exposedPorts: CreateSpec['exposedPorts'] = {};
  const portBindings: NonNullable<CreateSpec['hostConfig']['PortBindings']> = {};
  if (networkMode !== 'none') {
    for (const pm of c.portMappings ?? []) {
      const key = `${pm.containerPort}/${pm.protocol ?? 'tcp'}`;
      exposedPorts[key] = {};
      if (networkMode === 'bridge') {
        (portBindings[key] ??= []).push({ HostIp: o.bindIp, HostPort: pm.hostPort ? String(pm.hostPort) : '' });
      }
    }
  }
  const hostConfig: CreateSpec['hostConfig'] = { NetworkMode: networkMode };
  if (Object.keys(portBindings).length > 0) hostConfig.PortBindings = portBindings;
  if (c.memory) hostConfig.Memory = c.memory * MIB;
  if (c.memoryReservation) hostConfig.MemoryReservation = c.memoryReservation * MIB;
  // Docker's minimum is 2 shares; ECS's 0 means "no reservation", i.e. Docker's default.
  if (c.cpu && c.cpu > 0) hostConfig.CpuShares = Math.max(2, c.cpu);
  return {
    name: dockerNameFor(task.taskId, c.name),
    image: c.image,
    cmd: c.command && c.command.length > 0 ? c.command : undefined,
    entrypoint: c.entryPoint && c.entryPoint.length > 0 ? c.entryPoint : undefined,
    env: (c.environment ?? []).map((kv) => `${kv.name}=${kv.value}`),
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_TASK_ID]: task.taskId,
      [LABEL_TASK_ARN]: task.taskArn,
      [LABEL_CLUSTER]: task.cluster,
      [LABEL_CONTAINER_NAME]: c.name,
      [LABEL_FAMILY]: task.family,
      [LABEL_REVISION]: String(task.revision),
    },
    exposedPorts,
    hostConfig,
    stopTimeoutSec: typeof c.stopTimeout === 'number' && c.stopTimeout >= 0 ? c.stopTimeout : DEFAULT_STOP_TIMEOUT_SEC,
  };
}

export function isEssential(c: ContainerDefinition): boolean {
  return c.essential !== false;
}
