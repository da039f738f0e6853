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
}

export interface ContainerEvent {
  id: string;
  action: string;
  taskId?: string;
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
  hostConfig: {
    NetworkMode: string;
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    Memory?: number;
    MemoryReservation?: number;
    CpuShares?: number;
  };
  stopTimeoutSec: number;
}

export interface ContainerRuntime {
  /** The engine version; throws when the engine cannot be reached. */
  version(): Promise<string>;
  /** Every container with Berth's labels, whatever its state. */
  list(): Promise<ManagedContainer[]>;
  /** Pulls the image when it is not present. */
  ensureImage(image: string): Promise<void>;
  /** Creates a container; if one with the same name exists, returns that one's id. */
  create(spec: CreateSpec): Promise<string>;
  start(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInspection | undefined>;
  /** SIGTERM, then SIGKILL after timeoutSec. No error when already stopped. */
  stop(id: string, timeoutSec: number): Promise<void>;
  /** No error when already gone. */
  remove(id: string): Promise<void>;
  /** Subscribes to die/start/oom events of Berth's containers; returns an unsubscribe function. */
  subscribe(onEvent: (e: ContainerEvent) => void, onError: (err: Error) => void): () => void;
}
