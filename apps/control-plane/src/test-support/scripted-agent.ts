import type {
  AgentServiceClient} from '@berth/proto';
import {
  MIN_SUPPORTED_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
  type LogsChunk,
  type LogsRequest,
} from '@berth/proto';
import { waitFor } from '@berth/testing';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';

/** A scripted agent: sends what the test says, queues what the control plane answers. */
export class ScriptedAgent {
  readonly stream: ClientDuplexStream<ConnectRequest, ConnectResponse>;
  private readonly inbox: ConnectResponse[] = [];
  private waiters: (() => void)[] = [];
  ended: ServiceError | { code: number; details: string } | undefined;
  /** When set, log requests go here instead of the inbox (answer them with sendLogs). */
  onLogsRequest: ((r: LogsRequest) => void) | undefined;

  constructor(readonly client: AgentServiceClient) {
    this.stream = client.connect();
    this.stream.on('data', (m: ConnectResponse) => {
      if (m.message?.$case === 'logsRequest' && this.onLogsRequest) return this.onLogsRequest(m.message.value);
      this.inbox.push(m);
      this.wake();
    });
    this.stream.on('error', (err: ServiceError) => {
      this.ended = err;
      this.wake();
    });
    this.stream.on('status', (s) => {
      this.ended ??= s;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  send(msg: ConnectRequest['message']) {
    this.stream.write({ message: msg });
  }

  /** Sends one log chunk for a request (end and error as given). */
  sendLogs(requestId: string, chunk: Partial<Omit<LogsChunk, 'requestId' | 'data'>> & { data?: Buffer | string }) {
    const data = typeof chunk.data === 'string' ? Buffer.from(chunk.data) : (chunk.data ?? Buffer.alloc(0));
    this.send({ $case: 'logs', value: { requestId, stream: 'stdout', end: false, error: '', containerName: '', ...chunk, data } });
  }

  /** The next message of a kind, skipping others. */
  async next<K extends 'welcome' | 'desiredState' | 'logsRequest' | 'logsCancel'>(kind: K, match: (v: Extract<NonNullable<ConnectResponse['message']>, { $case: K }>['value']) => boolean = () => true) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.message?.$case === kind && match(m.message.value as never));
      if (i >= 0) return this.inbox.splice(i, 1)[0]!.message!.value as Extract<NonNullable<ConnectResponse['message']>, { $case: K }>['value'];
      if (this.ended) throw new Error(`stream ended (${this.ended.code} ${this.ended.details}) while waiting for ${kind}`);
      if (Date.now() > deadline) throw new Error(`no ${kind} within 10 s`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async closed(): Promise<{ code: number; details: string }> {
    return waitFor('the stream to end', () => this.ended as { code: number; details: string } | undefined, 10_000);
  }

  end() {
    this.stream.end();
  }
}

export const hello = (over: Partial<Hello> = {}): Hello => ({
  protocolVersion: PROTOCOL_VERSION,
  minProtocolVersion: MIN_SUPPORTED_PROTOCOL_VERSION,
  agentVersion: '0.1.0',
  nodeId: '',
  cluster: '',
  labels: { room: 'attic' },
  inventory: [],
  appliedGeneration: 0,
  address: '',
  facts: {
    hostname: 'pi-attic',
    os: 'linux',
    osVersion: 'Debian 12',
    kernel: '6.1',
    arch: 'arm64',
    cpuCores: 4,
    cpuModel: 'Cortex-A72',
    memoryMib: 4096,
    diskTotalMib: 30_000,
    dockerVersion: '20.10.24',
    registeredCpu: 4096,
    registeredMemoryMib: 3840,
    deviceModel: '',
  },
  ...over,
});

