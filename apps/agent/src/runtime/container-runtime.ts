/**
 * The agent's view of a container engine. DockerRuntime implements it with
 * dockerode; the engine above it never sees Docker's types.
 */
export interface ManagedContainer {
  id: string;
  taskId: string;
  containerName: string;
  /** created, running, exited, dead, paused, restarting, removing */
  state: string;
  /** When exited: the code, read from the list (no inspect needed). */
  exitCode?: number;
  /** healthy, unhealthy, starting; undefined without a health check. */
  health?: 'healthy' | 'unhealthy' | 'starting';
  /** 'pause' for the awsvpc namespace holder. */
  role?: string;
}

export interface PortBinding {
  bindIp: string;
  containerPort: number;
  hostPort: number;
  protocol: string;
}

export interface ContainerInspection {
  id: string;
  state: string;
  exitCode?: number;
  oomKilled: boolean;
  error?: string;
  ports: PortBinding[];
  health?: 'healthy' | 'unhealthy' | 'starting';
  startedAt?: Date;
  finishedAt?: Date;
}

export interface ContainerEvent {
  id: string;
  action: string;
  taskId?: string;
}

/** Docker's HostConfig, the part Berth sets. Field names are the engine's. */
export interface HostConfig {
  NetworkMode: string;
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
  Memory?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  CpuShares?: number;
  CapAdd?: string[];
  CapDrop?: string[];
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  Init?: boolean;
  ShmSize?: number;
  Tmpfs?: Record<string, string>;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  Dns?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  SecurityOpt?: string[];
  Sysctls?: Record<string, string>;
  Binds?: string[];
  Mounts?: { Type: 'volume' | 'bind'; Source: string; Target: string; ReadOnly: boolean }[];
  VolumesFrom?: string[];
  LogConfig?: { Type: string; Config: Record<string, string> };
}

/** Options to create one container, engine-neutral enough to test without Docker. */
export interface CreateSpec {
  name: string;
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  env: string[];
  labels: Record<string, string>;
  exposedPorts: Record<string, Record<string, never>>;
  hostConfig: HostConfig;
  stopTimeoutSec: number;
  workingDir?: string;
  user?: string;
  hostname?: string;
  openStdin?: boolean;
  tty?: boolean;
  networkDisabled?: boolean;
  /** Durations in nanoseconds, as the engine takes them. */
  healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
}

export interface VolumeSpec {
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
  /** Outlives the task (ECS scope "shared"). */
  shared: boolean;
  /** Create it when missing (always for task scope). */
  autoprovision: boolean;
}

export interface EngineInfo {
  version: string;
  /** The engine's architecture as users write it (amd64, arm64, arm). */
  arch: string;
  /** Docker's data root, for disk figures. */
  rootDir: string;
}

export interface ContainerUsage {
  /** Cumulative CPU time (ns) of the container and of the whole machine, and the online CPUs. */
  cpuTotalNs: number;
  systemNs: number;
  onlineCpus: number;
  memoryBytes: number;
  memoryLimitBytes: number;
}

export type PullPolicy = 'always' | 'if-not-present' | 'never';

/** Credentials for one pull (never stored). */
export interface RegistryAuth {
  username: string;
  password: string;
}

export interface ContainerRuntime {
  /** The engine version; throws when the engine cannot be reached. */
  version(): Promise<string>;
  info(): Promise<EngineInfo>;
  /** Every container with Berth's labels, whatever its state. */
  list(): Promise<ManagedContainer[]>;
  /** Makes the image present according to the policy (pulling with these registry credentials, if any). */
  ensureImage(image: string, policy: PullPolicy, auth?: RegistryAuth): Promise<void>;
  /** Creates the volume unless it exists; a missing shared volume without autoprovision is an error. */
  ensureVolume(v: VolumeSpec): Promise<void>;
  /** Removes a task's task-scoped volumes. */
  removeTaskVolumes(taskId: string): Promise<void>;
  /** The awsvpc namespace holder's image, built locally when missing. */
  ensurePauseImage(image: string): Promise<void>;
  /** Creates a container; if one with the same name exists, returns that one's id. */
  create(spec: CreateSpec): Promise<string>;
  start(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInspection | undefined>;
  /**
   * SIGTERM, then SIGKILL after timeoutSec (absent: the container's own stop timeout, given at create).
   * No error when already stopped.
   */
  stop(id: string, timeoutSec?: number): Promise<void>;
  /** No error when already gone. */
  remove(id: string): Promise<void>;
  /** One usage sample (no streaming, no wait for a second sample). */
  usage(id: string): Promise<ContainerUsage | undefined>;
  /** Subscribes to die/start/oom/health events of Berth's containers; returns an unsubscribe function. */
  subscribe(onEvent: (e: ContainerEvent) => void, onError: (err: Error) => void): () => void;
}
