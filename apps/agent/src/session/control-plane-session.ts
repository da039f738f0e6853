import { AgentServiceClient, type ConnectRequest, type ConnectResponse, type DesiredState, type Hello, type LogsRequest, type ProxySnapshot, type Welcome } from '@berth/proto';
import { Backoff, BACKOFF_STABLE_AFTER_MS, clientChannelOptions, clientCredentials, type ClientTls } from '@berth/transport';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';

export interface SessionHandlers {
  /** Built fresh for every connection (inventory and applied generation change). */
  hello(): Promise<Hello>;
  onWelcome(w: Welcome): void;
  onDesiredState(d: DesiredState): void;
  onDisconnected(): void;
  /** The control plane asks for a container's logs (answered with LogsChunk messages). */
  onLogsRequest?(r: LogsRequest): void;
  onLogsCancel?(requestId: string): void;
  /** Everything this node's proxy serves (answered with a ProxySnapshotAck once applied). */
  onProxySnapshot?(s: ProxySnapshot): void;
}

/**
 * The stream's lifecycle, and nothing else: connect, say hello, hand messages
 * to the handlers, reconnect with backoff and jitter. A dropped stream never
 * touches containers.
 */
export class ControlPlaneSession {
  private client: AgentServiceClient;
  private stream: ClientDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  private readonly backoff = new Backoff();
  private connectedAt = 0;
  private welcomed = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wasConnected: boolean | undefined;
  /** Why the current stream is being ended on purpose (see reintroduce). */
  private reintroducing: string | undefined;

  constructor(
    readonly target: string,
    private readonly handlers: SessionHandlers,
    private readonly log: Logger,
    tls: ClientTls = { insecure: true },
  ) {
    this.client = new AgentServiceClient(target, clientCredentials(tls), clientChannelOptions);
  }

  /**
   * New credentials (a renewed certificate): the next connection uses them;
   * the current stream is ended gracefully so that it is the next one soon.
   */
  useCredentials(tls: ClientTls): void {
    const old = this.client;
    this.client = new AgentServiceClient(this.target, clientCredentials(tls), clientChannelOptions);
    this.reintroduce('a renewed node certificate');
    setTimeout(() => old.close(), 5_000).unref();
  }

  /**
   * Ends the current stream gracefully so that the next one (at once: backoff reset) says hello
   * again, with what the hello says now (new credentials, the engine's version). From here the
   * session counts as down: nothing more is written on the ending stream (send() is false, the
   * caller keeps what it wanted to send) and the handlers hear onDisconnected, as for any drop.
   */
  reintroduce(reason: string): void {
    this.backoff.reset();
    const stream = this.stream;
    if (!stream) return;
    this.reintroducing = reason;
    this.stream = undefined; // what still arrives on it is not handled
    const wasUp = this.welcomed;
    this.welcomed = false;
    if (wasUp) this.handlers.onDisconnected();
    stream.end();
    // A control plane that does not close its side in time is not waited for.
    setTimeout(() => stream.cancel(), 5_000).unref();
  }

  get connected(): boolean {
    return this.welcomed;
  }

  start(): void {
    void this.connect();
  }

  /** Sends when the session is up; false otherwise (the caller keeps the message). */
  send(msg: ConnectRequest['message']): boolean {
    if (!this.welcomed || !this.stream) return false;
    this.stream.write({ message: msg });
    return true;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let hello: Hello;
    try {
      hello = await this.handlers.hello();
    } catch (err) {
      this.log.error({ err }, 'could not build the hello; retrying');
      return this.retry();
    }
    const stream = this.client.connect();
    this.stream = stream;
    this.welcomed = false;
    this.connectedAt = Date.now();
    let ended = false;
    const onEnd = (err: Partial<ServiceError> | undefined) => {
      if (ended) return;
      ended = true;
      if (this.stream === stream) this.stream = undefined;
      const wasUp = this.welcomed;
      this.welcomed = false;
      if (wasUp) this.handlers.onDisconnected();
      if (this.stopped) return;
      if (Date.now() - this.connectedAt > BACKOFF_STABLE_AFTER_MS) this.backoff.reset();
      const reason = err?.details || err?.message || 'stream ended';
      const reintroducing = this.reintroducing;
      this.reintroducing = undefined;
      if (reintroducing) {
        this.log.info({ server: this.target, reason: reintroducing, ended: err ? reason : undefined }, 'saying hello to the control plane again');
      } else if (err?.code === status.FAILED_PRECONDITION || err?.code === status.INVALID_ARGUMENT) {
        this.log.error({ reason }, 'the control plane refused this agent');
      } else if (this.wasConnected !== false) {
        this.log.warn({ server: this.target, reason }, 'control plane unreachable; containers keep running, retrying with backoff');
      } else {
        this.log.debug({ reason }, 'still unreachable');
      }
      if (!reintroducing) this.wasConnected = false;
      this.retry();
    };
    stream.on('data', (m: ConnectResponse) => {
      const msg = m.message;
      if (!msg || this.stream !== stream) return;
      if (msg.$case === 'welcome') {
        this.welcomed = true;
        this.wasConnected = true;
        this.log.info({ server: this.target, nodeId: msg.value.nodeId, controlPlane: msg.value.controlPlaneVersion }, 'connected to the control plane');
        this.handlers.onWelcome(msg.value);
      } else if (msg.$case === 'desiredState') {
        this.handlers.onDesiredState(msg.value);
      } else if (msg.$case === 'logsRequest') {
        this.handlers.onLogsRequest?.(msg.value);
      } else if (msg.$case === 'logsCancel') {
        this.handlers.onLogsCancel?.(msg.value.requestId);
      } else if (msg.$case === 'proxySnapshot') {
        this.handlers.onProxySnapshot?.(msg.value);
      }
    });
    stream.on('error', (err: ServiceError) => onEnd(err));
    stream.on('end', () => onEnd(undefined));
    stream.on('status', (s) => {
      if (s.code !== status.OK) onEnd(s as Partial<ServiceError>);
    });
    stream.write({ message: { $case: 'hello', value: hello } });
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  /** Ends the stream first, then closes the client (grpc-js raises CANCELLED otherwise). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const stream = this.stream;
    if (stream) {
      const done = new Promise<void>((resolve) => {
        stream.on('status', () => resolve());
        stream.on('error', () => resolve());
        setTimeout(resolve, 2000).unref();
      });
      stream.end();
      await done;
    }
    this.client.close();
  }
}
