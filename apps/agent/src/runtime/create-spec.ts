import { notAppliedContainerFields, type ContainerDefinition, type TaskDefinitionSpec, type Volume } from '@berth/domain';
import type { DesiredTask } from '@berth/proto';
import type { CreateSpec, HostConfig, VolumeSpec } from './container-runtime.js';
import {
  dockerNameFor,
  LABEL_CLUSTER,
  LABEL_CONTAINER_NAME,
  LABEL_FAMILY,
  LABEL_MANAGED,
  LABEL_REVISION,
  LABEL_ROLE,
  LABEL_TASK_ARN,
  LABEL_TASK_ID,
  pauseNameFor,
  PAUSE_CONTAINER_NAME,
  taskVolumeName,
} from './labels.js';

/** ECS's default stop timeout: SIGTERM, then SIGKILL after 30 s. */
export const DEFAULT_STOP_TIMEOUT_SEC = 30;
/** ECS's health check defaults (seconds). */
export const HEALTH_DEFAULTS = { interval: 30, timeout: 5, retries: 3, startPeriod: 0 };
const MIB = 1024 * 1024;
const NS = 1_000_000_000;

/** Log drivers the node's engine has; others fall back to json-file with a warning. */
const LOCAL_LOG_DRIVERS = new Set(['json-file', 'local', 'syslog', 'journald', 'gelf', 'fluentd', 'none']);

export interface MappingOptions {
  /** Where published ports bind on the node (0.0.0.0 as ECS does; tests use 127.0.0.1). */
  bindIp: string;
  /** The image of the per-task network namespace holder (awsvpc). */
  pauseImage: string;
}

/** Everything the engine creates for one task, in the order it creates it. */
export interface TaskPlan {
  /** Docker volumes to make sure of before any container is created. */
  volumes: VolumeSpec[];
  /** awsvpc: the namespace holder, created and started first. */
  pause?: CreateSpec;
  containers: Map<string, CreateSpec>;
  /** Fields not applied on this node, for the task's events. */
  warnings: string[];
}

/**
 * One ECS task definition -> what the engine creates. Pure: environment files
 * are read by the caller and passed in `envFiles` (container name -> lines).
 */
/** A task's secrets as the engine applies them, per container: variables, and binds of files written on the node. */
export interface SecretParts {
  env: Map<string, string[]>;
  binds: Map<string, string[]>;
}

export function planTask(
  task: DesiredTask,
  spec: TaskDefinitionSpec,
  o: MappingOptions,
  envFiles: Map<string, string[]> = new Map(),
  secrets: SecretParts = { env: new Map(), binds: new Map() },
): TaskPlan {
  const warnings: string[] = notAppliedContainerFields(spec).map((f) => `${f}: not applied on Berth nodes`);
  const mode = spec.networkMode ?? 'bridge';
  const labels = baseLabels(task);
  const volumes = new Map<string, { mount: 'bind' | 'volume'; source: string }>();
  const volumeSpecs: VolumeSpec[] = [];
  for (const v of spec.volumes ?? []) {
    if (!v.name) continue;
    const planned = planVolume(task, v, labels, warnings);
    volumes.set(v.name, planned.mount);
    if (planned.create) volumeSpecs.push(planned.create);
  }
  let pause: CreateSpec | undefined;
  if (mode === 'awsvpc') {
    // ECS gives an awsvpc task its own network interface; here the task gets its own
    // namespace (a pause container on the bridge) that every container joins, so they
    // reach each other on localhost and the task's ports are published from it.
    const exposedPorts: CreateSpec['exposedPorts'] = {};
    const portBindings: NonNullable<HostConfig['PortBindings']> = {};
    for (const c of spec.containerDefinitions) {
      for (const pm of c.portMappings ?? []) {
        const key = `${pm.containerPort}/${pm.protocol ?? 'tcp'}`;
        exposedPorts[key] = {};
        (portBindings[key] ??= []).push({ HostIp: o.bindIp, HostPort: String(pm.hostPort ?? pm.containerPort) });
      }
    }
    pause = {
      name: pauseNameFor(task.taskId),
      image: o.pauseImage,
      entrypoint: ['/pause'],
      env: [],
      labels: { ...labels, [LABEL_CONTAINER_NAME]: PAUSE_CONTAINER_NAME, [LABEL_ROLE]: 'pause' },
      exposedPorts,
      hostConfig: {
        NetworkMode: 'bridge',
        ...(Object.keys(portBindings).length > 0 ? { PortBindings: portBindings } : {}),
        // Docker refuses DNS settings on a container that joins another's namespace: they belong to the holder.
        ...dnsOf(spec.containerDefinitions),
      },
      stopTimeoutSec: 1,
    };
  }
  const containers = new Map<string, CreateSpec>();
  for (const c of spec.containerDefinitions) {
    containers.set(
      c.name,
      toCreateSpec(task, spec, c, o, { volumes, envFileLines: envFiles.get(c.name) ?? [], warnings, secretEnv: secrets.env.get(c.name), secretBinds: secrets.binds.get(c.name) }),
    );
  }
  return { volumes: volumeSpecs, pause, containers, warnings };
}

function planVolume(task: DesiredTask, v: Volume, labels: Record<string, string>, warnings: string[]): { mount: { mount: 'bind' | 'volume'; source: string }; create?: VolumeSpec } {
  const name = v.name!;
  if (v.host?.sourcePath) return { mount: { mount: 'bind', source: v.host.sourcePath } };
  const dvc = v.dockerVolumeConfiguration;
  if (dvc?.scope === 'shared') {
    return {
      mount: { mount: 'volume', source: name },
      create: { name, driver: dvc.driver ?? 'local', driverOpts: dvc.driverOpts ?? {}, labels: { ...(dvc.labels ?? {}), [LABEL_MANAGED]: 'true' }, shared: true, autoprovision: dvc.autoprovision === true },
    };
  }
  for (const aws of ['efsVolumeConfiguration', 'fsxWindowsFileServerVolumeConfiguration']) {
    if (v[aws]) warnings.push(`volumes[${name}].${aws}: ignored off AWS; the task gets an empty volume (use dockerVolumeConfiguration with the local driver's NFS options instead)`);
  }
  // Task scope (ECS's default, and the "empty" volume without host or configuration): one per task, removed with it.
  return {
    mount: { mount: 'volume', source: taskVolumeName(task.taskId, name) },
    create: {
      name: taskVolumeName(task.taskId, name),
      driver: dvc?.driver ?? 'local',
      driverOpts: dvc?.driverOpts ?? {},
      labels: { ...(dvc?.labels ?? {}), [LABEL_MANAGED]: 'true', [LABEL_TASK_ID]: task.taskId },
      shared: false,
      autoprovision: true,
    },
  };
}

function baseLabels(task: DesiredTask): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_TASK_ID]: task.taskId,
    [LABEL_TASK_ARN]: task.taskArn,
    [LABEL_CLUSTER]: task.cluster,
    [LABEL_FAMILY]: task.family,
    [LABEL_REVISION]: String(task.revision),
  };
}

interface ContainerCtx {
  volumes: Map<string, { mount: 'bind' | 'volume'; source: string }>;
  envFileLines: string[];
  warnings: string[];
  /** NAME=value of the container's secrets (never logged). */
  secretEnv?: string[];
  /** Read-only binds of its file secrets. */
  secretBinds?: string[];
}

/** One ECS container definition -> the engine's create options. Pure. */
export function toCreateSpec(
  task: DesiredTask,
  spec: TaskDefinitionSpec,
  c: ContainerDefinition,
  o: MappingOptions,
  ctx: ContainerCtx = { volumes: new Map(), envFileLines: [], warnings: [] },
): CreateSpec {
  const at = `containerDefinitions[${c.name}]`;
  const mode = spec.networkMode ?? 'bridge';
  const networkMode = mode === 'awsvpc' ? `container:${pauseNameFor(task.taskId)}` : mode;
  const exposedPorts: CreateSpec['exposedPorts'] = {};
  const portBindings: NonNullable<HostConfig['PortBindings']> = {};
  if (mode === 'bridge' || mode === 'host') {
    for (const pm of c.portMappings ?? []) {
      const key = `${pm.containerPort}/${pm.protocol ?? 'tcp'}`;
      exposedPorts[key] = {};
      if (mode === 'bridge') (portBindings[key] ??= []).push({ HostIp: o.bindIp, HostPort: pm.hostPort ? String(pm.hostPort) : '' });
    }
  }
  const hostConfig: HostConfig = { NetworkMode: networkMode };
  if (Object.keys(portBindings).length > 0) hostConfig.PortBindings = portBindings;
  if (c.memory) hostConfig.Memory = c.memory * MIB;
  if (c.memoryReservation) hostConfig.MemoryReservation = c.memoryReservation * MIB;
  // Docker's minimum is 2 shares; ECS's 0 means "no reservation", i.e. Docker's default.
  if (c.cpu && c.cpu > 0) hostConfig.CpuShares = Math.max(2, c.cpu);

  const lp = c.linuxParameters;
  if (c.memory) {
    // Swap only as linuxParameters.maxSwap allows: a memory limit should mean what it says.
    hostConfig.MemorySwap = (c.memory + (lp?.maxSwap ?? 0)) * MIB;
    if (lp?.swappiness !== undefined) hostConfig.MemorySwappiness = lp.swappiness;
  }
  if (lp?.capabilities?.add?.length) hostConfig.CapAdd = lp.capabilities.add;
  if (lp?.capabilities?.drop?.length) hostConfig.CapDrop = lp.capabilities.drop;
  if (lp?.devices?.length) {
    hostConfig.Devices = lp.devices.map((d) => ({
      PathOnHost: d.hostPath,
      PathInContainer: d.containerPath ?? d.hostPath,
      CgroupPermissions: permissionsOf(d.permissions),
    }));
  }
  if (lp?.initProcessEnabled) hostConfig.Init = true;
  if (lp?.sharedMemorySize) hostConfig.ShmSize = lp.sharedMemorySize * MIB;
  if (lp?.tmpfs?.length) {
    hostConfig.Tmpfs = Object.fromEntries(lp.tmpfs.map((t) => [t.containerPath, [...(t.mountOptions ?? []), `size=${t.size}m`].join(',')]));
  }
  if (c.ulimits?.length) hostConfig.Ulimits = c.ulimits.map((u) => ({ Name: u.name, Soft: u.softLimit, Hard: u.hardLimit }));
  if (c.privileged) hostConfig.Privileged = true;
  if (c.readonlyRootFilesystem) hostConfig.ReadonlyRootfs = true;
  if (mode !== 'awsvpc') Object.assign(hostConfig, dnsOf([c]));
  if (c.dockerSecurityOptions?.length) hostConfig.SecurityOpt = c.dockerSecurityOptions;
  if (c.systemControls?.length) hostConfig.Sysctls = Object.fromEntries(c.systemControls.map((s) => [s.namespace, s.value]));

  const binds: string[] = [];
  const mounts: NonNullable<HostConfig['Mounts']> = [];
  for (const mp of c.mountPoints ?? []) {
    const v = mp.sourceVolume ? ctx.volumes.get(mp.sourceVolume) : undefined;
    if (!v || !mp.containerPath) {
      ctx.warnings.push(`${at}.mountPoints: volume ${JSON.stringify(mp.sourceVolume)} is not a volume of the task; not mounted`);
      continue;
    }
    // Binds (not Mounts) for host paths: Docker creates a missing source directory, as ECS documents.
    if (v.mount === 'bind') binds.push(`${v.source}:${mp.containerPath}${mp.readOnly ? ':ro' : ''}`);
    else mounts.push({ Type: 'volume', Source: v.source, Target: mp.containerPath, ReadOnly: mp.readOnly === true });
  }
  binds.push(...(ctx.secretBinds ?? []));
  if (binds.length > 0) hostConfig.Binds = binds;
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  if (c.volumesFrom?.length) {
    hostConfig.VolumesFrom = c.volumesFrom.filter((v) => v.sourceContainer).map((v) => `${dockerNameFor(task.taskId, v.sourceContainer!)}${v.readOnly ? ':ro' : ''}`);
  }

  const logc = c.logConfiguration;
  if (logc?.logDriver) {
    if (LOCAL_LOG_DRIVERS.has(logc.logDriver)) hostConfig.LogConfig = { Type: logc.logDriver, Config: logc.options ?? {} };
    else ctx.warnings.push(`${at}.logConfiguration.logDriver: ${logc.logDriver} is not available on Berth nodes; the container logs with json-file`);
    if (logc.secretOptions && logc.secretOptions.length > 0) ctx.warnings.push(`${at}.logConfiguration.secretOptions: ignored (log drivers get no secrets on Berth nodes)`);
  }

  const env = [...ctx.envFileLines, ...(c.environment ?? []).map((kv) => `${kv.name}=${kv.value}`), ...(ctx.secretEnv ?? [])];
  for (const f of c.environmentFiles ?? []) {
    if (!f.value.startsWith('/')) ctx.warnings.push(`${at}.environmentFiles: ${f.value}: S3 files are not read off AWS; put the file on the node and give its absolute path`);
  }

  const out: CreateSpec = {
    name: dockerNameFor(task.taskId, c.name),
    image: c.image,
    cmd: c.command && c.command.length > 0 ? c.command : undefined,
    entrypoint: c.entryPoint && c.entryPoint.length > 0 ? c.entryPoint : undefined,
    env,
    labels: { ...(c.dockerLabels ?? {}), ...baseLabels(task), [LABEL_CONTAINER_NAME]: c.name },
    exposedPorts,
    hostConfig,
    stopTimeoutSec: typeof c.stopTimeout === 'number' && c.stopTimeout >= 0 ? c.stopTimeout : DEFAULT_STOP_TIMEOUT_SEC,
  };
  if (c.workingDirectory) out.workingDir = c.workingDirectory;
  if (c.user) out.user = c.user;
  if (c.hostname && mode === 'bridge') out.hostname = c.hostname;
  if (c.interactive) out.openStdin = true;
  if (c.pseudoTerminal) out.tty = true;
  if (c.disableNetworking) out.networkDisabled = true;
  const hc = c.healthCheck;
  if (hc && hc.command.length > 0) {
    out.healthcheck = {
      Test: hc.command,
      Interval: (hc.interval ?? HEALTH_DEFAULTS.interval) * NS,
      Timeout: (hc.timeout ?? HEALTH_DEFAULTS.timeout) * NS,
      Retries: hc.retries ?? HEALTH_DEFAULTS.retries,
      StartPeriod: (hc.startPeriod ?? HEALTH_DEFAULTS.startPeriod) * NS,
    };
  }
  return out;
}

function dnsOf(defs: ContainerDefinition[]): Pick<HostConfig, 'Dns' | 'DnsSearch' | 'ExtraHosts'> {
  const dns = [...new Set(defs.flatMap((c) => c.dnsServers ?? []))];
  const search = [...new Set(defs.flatMap((c) => c.dnsSearchDomains ?? []))];
  const hosts = [...new Set(defs.flatMap((c) => (c.extraHosts ?? []).map((h) => `${h.hostname}:${h.ipAddress}`)))];
  return { ...(dns.length ? { Dns: dns } : {}), ...(search.length ? { DnsSearch: search } : {}), ...(hosts.length ? { ExtraHosts: hosts } : {}) };
}

function permissionsOf(p: ('read' | 'write' | 'mknod')[] | undefined): string {
  if (!p || p.length === 0) return 'rwm';
  return `${p.includes('read') ? 'r' : ''}${p.includes('write') ? 'w' : ''}${p.includes('mknod') ? 'm' : ''}`;
}

/** Lines of an environment file (KEY=VALUE; blank lines and # comments skipped, as ECS and Docker do). */
export function parseEnvFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && l.includes('='));
}

export function isEssential(c: ContainerDefinition): boolean {
  return c.essential !== false;
}
