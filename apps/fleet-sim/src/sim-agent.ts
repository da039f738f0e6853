import {
  BERTH_VERSION,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type AgentServiceClient,
  type ConnectRequest,
  type ConnectResponse,
  type DesiredState,
  type Hello,
  type NodeFacts,
  type TaskStatus,
} from '@berth/proto';
import { Backoff } from '@berth/transport';
import type { ClientDuplexStream } from '@grpc/grpc-js';

/**
 * What a simulated agent is doing:
 * - connecting: a stream is open (or about to be), no welcome yet, or waiting to reconnect;
 * - connected: welcomed, heartbeating;
 * - partitioned: the stream stays open but nothing is read or written (a half-open connection);
 * - killed: the process is gone (the stream cancelled, timers stopped); revive() starts it again.
 */
export type SimAgentState = 'idle' | 'connecting' | 'connected' | 'partitioned' | 'killed';

export interface SimAgentOptions {
  client: AgentServiceClient;
  hostname: string;
  cluster?: string;
  labels?: Record<string, string>;
  facts?: Partial<NodeFacts>;
  /** PENDING -> RUNNING after this long (ms; default 0). */
  startDelayMs?: number;
  /** The share of started tasks whose essential container exits at once (0-1; default 0). */
  failureRate?: number;
  /** Randomness in [0, 1) (failures, backoff jitter); injected for repeatable runs. */
  random?: () => number;
}

interface SimTask {
  status: 'PENDING' | 'RUNNING' | 'STOPPED';
  containers: string[];
  checked: Set<string>;
}

interface TaskDefShape {
  containerDefinitions: { name: string; healthCheck?: unknown }[];
}

/**
 * One node agent without Docker, speaking the real protocol over real gRPC, with the
 * behaviour that matters to the control plane: hello (node id, inventory and the applied
 * generation after a restart), heartbeats at the interval the welcome gives, desired states
 * applied once and in order (stale generations dropped) and acknowledged, task transitions
 * with a start delay and a failure rate, status coalesced per task while disconnected (as the
 * real agent: bounded memory however long it is cut off), and reconnection with the real
 * jittered backoff. Faults on command: kill, partition (stop reading and writing without
 * closing), heal, revive.
 */
export class SimAgent {
  state: SimAgentState = 'idle';
  nodeId = '';
  appliedGeneration = 0;
  readonly tasks = new Map<string, SimTask>();
  /** Status not yet sent, latest per task. */
  readonly pending = new Map<string, TaskStatus>();
  /** The last status sent per task: sent again after every welcome, as the real agent does (a report may have been lost with its stream). */
  private readonly sent = new Map<string, TaskStatus>();
  readonly counters = { connects: 0, welcomes: 0, heartbeats: 0, desiredStates: 0, staleDesiredStates: 0, refusals: 0 };
  lastRefusal = '';
  /** When the last welcome arrived (epoch ms; 0: never). */
  welcomedAt = 0;
  private stream: ClientDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatMs = 5_000;
  private readonly backoff: Backoff;
  private readonly random: () => number;

  constructor(private readonly o: SimAgentOptions) {
    this.random = o.random ?? Math.random;
    this.backoff = new Backoff({ random: this.random });
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'killed') return;
    this.connect();
  }

  /** The process dies: the stream is cancelled, timers stop. Tasks are remembered (the real agent keeps a state file). */
  kill(): void {
    this.state = 'killed';
    this.stopTimers();
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
  }

  /** Starts a killed agent again: it hellos with its node id, inventory and applied generation. */
  revive(): void {
    if (this.state === 'killed') this.connect();
  }

  /** Packets stop both ways; the connection is not closed. */
  partition(): void {
    if (this.state === 'killed') return;
    this.state = 'partitioned';
    this.stopTimers();
    this.stream?.pause();
  }

  /** The partition ends: whatever the stream still holds is read, heartbeats resume (or the agent reconnects if the server closed it). */
  heal(): void {
    if (this.state !== 'partitioned') return;
    if (!this.stream) return this.connect();
    this.state = this.counters.welcomes > 0 ? 'connected' : 'connecting';
    this.stream.resume();
    if (this.state === 'connected') {
      this.startHeartbeat();
      this.flush();
    }
  }

  private stopTimers(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
    this.heartbeatTimer = undefined;
    this.retryTimer = undefined;
  }

  private hello(): Hello {
    return {
      protocolVersion: PROTOCOL_VERSION,
      minProtocolVersion: MIN_SUPPORTED_PROTOCOL_VERSION,
      agentVersion: `${BERTH_VERSION}-sim`,
      nodeId: this.nodeId,
      cluster: this.o.cluster ?? '',
      labels: this.o.labels ?? {},
      inventory: [...this.tasks]
        .filter(([, t]) => t.status !== 'STOPPED')
        .flatMap(([taskId, t]) => t.containers.map((name) => ({ taskId, containerName: name, runtimeId: runtimeId(taskId, name), state: t.status === 'RUNNING' ? 'running' : 'created', exitCode: undefined }))),
      appliedGeneration: this.appliedGeneration,
      address: '',
      facts: {
        hostname: this.o.hostname,
        os: 'linux',
        osVersion: 'Debian GNU/Linux 12 (bookworm)',
        kernel: '6.1.0-sim',
        arch: 'arm64',
        cpuCores: 4,
        cpuModel: 'Cortex-A72',
        memoryMib: 4096,
        diskTotalMib: 30_000,
        dockerVersion: '20.10.24',
        registeredCpu: 4096,
        registeredMemoryMib: 3840,
        deviceModel: 'Raspberry Pi 4 Model B (simulated)',
        ...this.o.facts,
      },
    };
  }

  private connect(): void {
    this.stopTimers();
    this.state = 'connecting';
    this.counters.connects++;
    const stream = this.o.client.connect();
    this.stream = stream;
    let ended = false;
    const onEnd = (err?: { code?: number; details?: string }) => {
      if (ended) return;
      ended = true;
      if (this.stream !== stream) return; // killed or replaced
      this.stream = undefined;
      clearInterval(this.heartbeatTimer);
      if (err?.code === 9 /* FAILED_PRECONDITION */) {
        this.counters.refusals++;
        this.lastRefusal = err.details ?? '';
      }
      if (this.state === 'partitioned') return; // noticed when the partition heals
      this.state = 'connecting';
      this.retryTimer = setTimeout(() => this.connect(), this.backoff.next());
      this.retryTimer.unref();
    };
    stream.on('data', (m: ConnectResponse) => this.onMessage(m));
    stream.on('error', (err: { code?: number; details?: string }) => onEnd(err));
    stream.on('end', () => onEnd());
    stream.on('status', (s: { code: number; details: string }) => {
      if (s.code !== 0) onEnd(s);
    });
    stream.write({ message: { $case: 'hello', value: this.hello() } });
  }

  private onMessage(m: ConnectResponse): void {
    const msg = m.message;
    if (!msg || this.state === 'killed') return;
    if (msg.$case === 'welcome') {
      this.nodeId = msg.value.nodeId;
      this.heartbeatMs = msg.value.heartbeatIntervalMs || this.heartbeatMs;
      this.counters.welcomes++;
      this.welcomedAt = Date.now();
      this.backoff.reset();
      if (this.state === 'partitioned') return;
      this.state = 'connected';
      this.startHeartbeat();
      for (const [id, st] of this.sent) {
        if (!this.tasks.has(id)) this.sent.delete(id);
        else if (!this.pending.has(id)) this.pending.set(id, st);
      }
      this.flush();
    } else if (msg.$case === 'desiredState') {
      this.onDesired(msg.value);
    }
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      this.counters.heartbeats++;
      this.send({ $case: 'heartbeat', value: { cpuPercent: 3 + this.random() * 5, memoryUsedMib: 900, memoryTotalMib: 4096, diskUsedMib: 9_000, diskTotalMib: 30_000, load1: 0.2, load5: 0.2, load15: 0.2, dockerReachable: true } });
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private send(message: ConnectRequest['message']): boolean {
    if (this.state !== 'connected' || !this.stream) return false;
    this.stream.write({ message });
    return true;
  }

  private flush(): void {
    if (this.pending.size === 0) return;
    if (!this.send({ $case: 'taskStatus', value: { tasks: [...this.pending.values()] } })) return;
    for (const [id, st] of this.pending) this.sent.set(id, st);
    this.pending.clear();
  }

  private report(taskId: string, t: SimTask, stop?: { code: string; reason: string; exitCode: number }): void {
    const status = t.status;
    this.pending.set(taskId, {
      taskId,
      lastStatus: status,
      containers: t.containers.map((name) => ({
        name,
        runtimeId: runtimeId(taskId, name),
        lastStatus: status,
        exitCode: status === 'STOPPED' ? (stop?.exitCode ?? 0) : undefined,
        reason: '',
        networkBindings: [],
        healthStatus: t.checked.has(name) ? (status === 'RUNNING' ? 'HEALTHY' : 'UNKNOWN') : '',
        restartCount: 0,
      })),
      stopCode: stop?.code ?? '',
      stoppedReason: stop?.reason ?? '',
      at: new Date(),
      warnings: [],
      healthStatus: t.checked.size > 0 && status === 'RUNNING' ? 'HEALTHY' : 'UNKNOWN',
    });
    this.flush();
  }

  private onDesired(d: DesiredState): void {
    this.counters.desiredStates++;
    // Applied once and in order: an older or repeated generation changes nothing (it is still acknowledged).
    if (d.generation <= this.appliedGeneration) {
      this.counters.staleDesiredStates++;
      this.send({ $case: 'ack', value: { generation: this.appliedGeneration } });
      return;
    }
    const wanted = new Set<string>();
    for (const dt of d.tasks) {
      wanted.add(dt.taskId);
      const known = this.tasks.get(dt.taskId);
      if (dt.desiredStatus === 'STOPPED') {
        const t = known ?? { status: 'STOPPED' as const, containers: [], checked: new Set<string>() };
        if (!known || known.status !== 'STOPPED') {
          const wasRunning = known !== undefined;
          t.status = 'STOPPED';
          this.tasks.set(dt.taskId, t);
          this.report(dt.taskId, t, wasRunning ? { code: '', reason: '', exitCode: 143 } : undefined);
        }
        continue;
      }
      if (known) continue;
      const def = JSON.parse(dt.taskDefinitionJson) as TaskDefShape;
      const t: SimTask = { status: 'PENDING', containers: def.containerDefinitions.map((c) => c.name), checked: new Set(def.containerDefinitions.filter((c) => c.healthCheck).map((c) => c.name)) };
      this.tasks.set(dt.taskId, t);
      this.report(dt.taskId, t);
      const fails = this.random() < (this.o.failureRate ?? 0);
      const go = () => {
        if (t.status !== 'PENDING' || this.state === 'killed') return;
        t.status = fails ? 'STOPPED' : 'RUNNING';
        this.report(dt.taskId, t, fails ? { code: 'EssentialContainerExited', reason: 'Essential container in task exited', exitCode: 1 } : undefined);
      };
      if (this.o.startDelayMs) setTimeout(go, this.o.startDelayMs).unref();
      else go();
    }
    for (const id of [...this.tasks.keys()]) if (!wanted.has(id)) {
      this.tasks.delete(id);
      this.sent.delete(id);
    }
    this.appliedGeneration = d.generation;
    this.send({ $case: 'ack', value: { generation: d.generation } });
  }

  /** Task ids this node runs. */
  running(): string[] {
    return [...this.tasks].filter(([, t]) => t.status === 'RUNNING').map(([id]) => id);
  }

  /** Stops everything (the end of a test or a benchmark). */
  close(): void {
    this.stopTimers();
    const s = this.stream;
    this.stream = undefined;
    this.state = 'killed';
    s?.end();
  }
}

function runtimeId(taskId: string, name: string): string {
  return `sim-${taskId.slice(0, 12)}-${name}`;
}
