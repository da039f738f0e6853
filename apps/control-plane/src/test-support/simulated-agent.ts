import type { AgentServiceClient, ConnectRequest, ConnectResponse, DesiredState, Hello, ProxySnapshot, TargetHealth, TaskStatus } from '@berth/proto';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { hello as baseHello } from './scripted-agent.js';

/** What a simulated node does with a task it is asked to run. */
export type TaskOutcome = 'run' | 'exit';

export interface SimulatedAgentOptions {
  hello?: Partial<Hello>;
  /** Delay between PENDING and RUNNING (ms). */
  startDelayMs?: number;
  /** Decides per task (by its definition) whether it runs or exits right after starting. */
  outcome?: (def: { family: string; containerDefinitions: { name: string; healthCheck?: unknown }[] }) => TaskOutcome;
  heartbeatMs?: number;
  /** Publishes each container port of a task on a host port from 32768 up, bound to this address (as the agent's --bind-ip). */
  publishOn?: string;
}

interface Known {
  status: string;
  containers: string[];
  checked: Set<string>;
  ports?: { name: string; containerPort: number; hostPort: number }[];
}

let nextHostPort = 32768;

/**
 * A node agent without Docker, speaking the real protocol over real gRPC: it
 * hellos, heartbeats, acks every desired state, and takes its tasks through
 * PENDING -> RUNNING (health HEALTHY where the definition has a check) or
 * straight to an exit, and reports STOPPED when asked to stop. For control-plane
 * tests and benchmarks of services.
 */
export class SimulatedAgent {
  readonly stream: ClientDuplexStream<ConnectRequest, ConnectResponse>;
  nodeId = '';
  /** Proxy snapshots received (acked at once), newest last. */
  readonly snapshots: ProxySnapshot[] = [];
  /** Desired states received, newest last. */
  readonly desired: DesiredState[] = [];
  private readonly tasks = new Map<string, Known>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly welcomed: Promise<string>;
  ended = false;

  constructor(
    client: AgentServiceClient,
    private readonly o: SimulatedAgentOptions = {},
  ) {
    this.stream = client.connect();
    let welcome!: (id: string) => void;
    this.welcomed = new Promise((r) => (welcome = r));
    this.stream.on('data', (m: ConnectResponse) => {
      const msg = m.message;
      if (msg?.$case === 'welcome') {
        this.nodeId = msg.value.nodeId;
        welcome(msg.value.nodeId);
      } else if (msg?.$case === 'desiredState') this.onDesired(msg.value);
      else if (msg?.$case === 'proxySnapshot') {
        this.snapshots.push(msg.value);
        this.send({ $case: 'proxyAck', value: { version: msg.value.version, error: '' } });
      }
    });
    this.stream.on('error', () => (this.ended = true));
    this.stream.on('end', () => (this.ended = true));
    this.send({ $case: 'hello', value: baseHello(o.hello) });
    this.heartbeat = setInterval(() => this.send({ $case: 'heartbeat', value: { cpuPercent: 1, memoryUsedMib: 100, memoryTotalMib: 4096, diskUsedMib: 1, diskTotalMib: 100, load1: 0, load5: 0, load15: 0, dockerReachable: true } }), o.heartbeatMs ?? 500);
    this.heartbeat.unref();
  }

  /** Resolves with the node id once the control plane welcomed this agent. */
  ready(): Promise<string> {
    return this.welcomed;
  }

  /** Task ids this node believes run (not stopped). */
  running(): string[] {
    return [...this.tasks].filter(([, k]) => k.status === 'RUNNING').map(([id]) => id);
  }

  /** What this node's proxy says of its servers. */
  reportTargetHealth(targets: TargetHealth[]): void {
    this.send({ $case: 'targetHealth', value: { targets } });
  }

  /** The host port a task's container port is published on. */
  hostPort(taskId: string, containerPort: number): number | undefined {
    return this.tasks.get(taskId)?.ports?.find((p) => p.containerPort === containerPort)?.hostPort;
  }

  private send(message: ConnectRequest['message']): void {
    if (!this.ended) this.stream.write({ message });
  }

  private report(id: string, lastStatus: string, k: Known, stop?: { code: string; reason: string; exitCode: number }): void {
    const status: TaskStatus = {
      taskId: id,
      lastStatus,
      containers: k.containers.map((name) => ({
        name,
        runtimeId: `sim-${id.slice(0, 8)}-${name}`,
        lastStatus,
        exitCode: lastStatus === 'STOPPED' ? (stop?.exitCode ?? 0) : undefined,
        reason: '',
        networkBindings: (k.ports ?? []).filter((p) => p.name === name && lastStatus === 'RUNNING').map((p) => ({ bindIp: this.o.publishOn!, containerPort: p.containerPort, hostPort: p.hostPort, protocol: 'tcp' })),
        healthStatus: k.checked.has(name) ? (lastStatus === 'RUNNING' ? 'HEALTHY' : 'UNKNOWN') : '',
        restartCount: 0,
      })),
      stopCode: stop?.code ?? '',
      stoppedReason: stop?.reason ?? '',
      at: new Date(),
      warnings: [],
      healthStatus: k.checked.size > 0 && lastStatus === 'RUNNING' ? 'HEALTHY' : 'UNKNOWN',
    };
    this.send({ $case: 'taskStatus', value: { tasks: [status] } });
  }

  private applied = 0;

  private onDesired(d: DesiredState): void {
    // As the real agent: a desired state not newer than the one applied is stale (a change must bump the generation).
    if (d.generation <= this.applied) return;
    this.applied = d.generation;
    const wanted = new Set<string>();
    for (const t of d.tasks) {
      wanted.add(t.taskId);
      let k = this.tasks.get(t.taskId);
      if (t.desiredStatus === 'STOPPED') {
        if (k && k.status !== 'STOPPED') {
          k.status = 'STOPPED';
          this.report(t.taskId, 'STOPPED', k, { code: '', reason: '', exitCode: 143 });
        } else if (!k) {
          k = { status: 'STOPPED', containers: [], checked: new Set() };
          this.tasks.set(t.taskId, k);
          this.report(t.taskId, 'STOPPED', k);
        }
        continue;
      }
      if (k) continue;
      const def = JSON.parse(t.taskDefinitionJson) as { family: string; containerDefinitions: { name: string; healthCheck?: unknown; portMappings?: { containerPort: number }[] }[] };
      const known: Known = { status: 'PENDING', containers: def.containerDefinitions.map((c) => c.name), checked: new Set(def.containerDefinitions.filter((c) => c.healthCheck).map((c) => c.name)) };
      if (this.o.publishOn) known.ports = def.containerDefinitions.flatMap((c) => (c.portMappings ?? []).map((m) => ({ name: c.name, containerPort: m.containerPort, hostPort: nextHostPort++ })));
      this.tasks.set(t.taskId, known);
      this.report(t.taskId, 'PENDING', known);
      const outcome = this.o.outcome?.(def) ?? 'run';
      const go = () => {
        if (known.status !== 'PENDING') return;
        if (outcome === 'exit') {
          known.status = 'STOPPED';
          this.report(t.taskId, 'STOPPED', known, { code: 'EssentialContainerExited', reason: 'Essential container in task exited', exitCode: 1 });
          return;
        }
        known.status = 'RUNNING';
        this.report(t.taskId, 'RUNNING', known);
      };
      if (this.o.startDelayMs) setTimeout(go, this.o.startDelayMs).unref();
      else go();
    }
    for (const id of [...this.tasks.keys()]) if (!wanted.has(id)) this.tasks.delete(id);
    this.desired.push(d);
    this.send({ $case: 'ack', value: { generation: d.generation } });
  }

  /** The task's essential container exits (as if it crashed). */
  crash(taskId: string): void {
    const k = this.tasks.get(taskId);
    if (!k || k.status === 'STOPPED') return;
    k.status = 'STOPPED';
    this.report(taskId, 'STOPPED', k, { code: 'EssentialContainerExited', reason: 'Essential container in task exited', exitCode: 137 });
  }

  end(): void {
    clearInterval(this.heartbeat);
    this.ended = true;
    this.stream.end();
  }
}
