import { AgentServiceClient } from '@berth/proto';
import { clientChannelOptions } from '@berth/transport';
import { credentials } from '@grpc/grpc-js';
import { SimAgent, type SimAgentOptions } from './sim-agent.js';

export interface FleetOptions extends Omit<SimAgentOptions, 'client' | 'hostname'> {
  /** The control plane's gRPC address (HOST:PORT), plaintext (a control plane started with --insecure). */
  server: string;
  agents: number;
  /**
   * HTTP/2 connections the agents' streams share (default one per 250 agents). Real agents have one
   * connection each; sharing keeps 10,000 agents in one process while every agent keeps its own stream.
   */
  connections?: number;
  /** Host names are PREFIX-00001, ... (default sim). */
  namePrefix?: string;
}

/**
 * N simulated agents in one process (see SimAgent). Start them spread over a time, then
 * kill, partition, heal and revive any of them by index.
 */
export class Fleet {
  readonly agents: SimAgent[];
  private readonly clients: AgentServiceClient[];

  constructor(o: FleetOptions) {
    const n = o.connections ?? Math.max(1, Math.ceil(o.agents / 250));
    // A channel of its own per client (no shared subchannel), so the streams spread over n connections.
    this.clients = Array.from({ length: n }, () => new AgentServiceClient(o.server, credentials.createInsecure(), { ...clientChannelOptions, 'grpc.use_local_subchannel_pool': 1 }));
    const prefix = o.namePrefix ?? 'sim';
    this.agents = Array.from({ length: o.agents }, (_, i) => new SimAgent({ ...o, client: this.clients[i % n]!, hostname: `${prefix}-${String(i + 1).padStart(5, '0')}` }));
  }

  /** Starts every agent, spread evenly over `spreadMs` (a fleet does not boot in one instant). */
  async start(spreadMs = 0): Promise<void> {
    const gap = this.agents.length > 1 ? spreadMs / this.agents.length : 0;
    for (const a of this.agents) {
      a.start();
      if (gap >= 1) await new Promise((r) => setTimeout(r, gap));
    }
  }

  count(state: SimAgent['state']): number {
    return this.agents.filter((a) => a.state === state).length;
  }

  kill(indexes: number[]): void {
    for (const i of indexes) this.agents[i]!.kill();
  }

  revive(indexes: number[]): void {
    for (const i of indexes) this.agents[i]!.revive();
  }

  partition(indexes: number[]): void {
    for (const i of indexes) this.agents[i]!.partition();
  }

  heal(indexes: number[]): void {
    for (const i of indexes) this.agents[i]!.heal();
  }

  close(): void {
    for (const a of this.agents) a.close();
    for (const c of this.clients) c.close();
  }
}
