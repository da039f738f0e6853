import { performance } from 'node:perf_hooks';
import { arns, newSessionId, BerthError, secretReferences } from '@berth/domain';
import {
  agentProtocolRange,
  BERTH_VERSION,
  negotiateProtocol,
  OWN_PROTOCOL_RANGE,
  type ProtocolRange,
  type ConnectRequest,
  type ConnectResponse,
  type ContainerStatsBatch,
  type DesiredTask,
  type Heartbeat,
  type Hello,
  type TaskStatus,
} from '@berth/proto';
import { appendEvents, desiredTasksForNode, getNode, getNodeCertificate, saveNodeUsage, setAckedGeneration, type NodeRecord, type TaskRecord } from '@berth/store';
import { AGENT_ROLE } from '@berth/transport/pki';
import { normalizeSerial } from '../services/join.js';
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AppContext } from '../services/context.js';
import { nodeDisconnectedOp, registerNodeOp } from '../services/nodes.js';
import { resolveTaskSecrets } from '../services/secrets.js';
import { applyTaskStatusReports, type ReportedTaskStatus } from '../services/tasks.js';
import type { SessionRegistry } from './session-registry.js';
import type { Metrics } from '../metrics/metrics.js';
import { safeDetails } from '../grpc/errors.js';
import type { LogsChunk, LogsRequest } from '@berth/proto';
import { LogsRouter, type LogsConsumer } from '../services/task-logs.js';


export interface SessionSettings {
  heartbeatIntervalMs: number;
  /** A node's usage is written to Postgres at most this often (flash wear, write amplification). */
  usageWriteIntervalMs: number;
  /** The first message must be a hello within this time. */
  helloTimeoutMs: number;
  /** Agents must present a node certificate from the cluster CA (mTLS; on whenever TLS is). */
  requireAgentCert?: boolean;
  /** The protocol versions served (default this release's; tests stand in for other releases). */
  protocol?: ProtocolRange;
  /** Where heartbeat handling times are recorded (GET /metrics). */
  metrics?: Metrics;
}

type Call = ServerDuplexStream<ConnectRequest, ConnectResponse>;

class ProtocolError extends Error {}

/**
 * One agent's stream. Messages are handled strictly in order (a queue), so a
 * status report is never applied before the hello that registered its node.
 * Anything the session cannot understand closes this stream only, with a
 * logged reason; other sessions are untouched.
 */
export class AgentSession {
  readonly sessionId: string;
  private node: NodeRecord | undefined;
  private log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private helloTimer: NodeJS.Timeout | undefined;
  private pushing = false;
  private pushAgain = false;
  private lastUsageWrite = 0;
  /** Set by fail(): why this session ends and when the agent was last heard from. */
  private failure: { reason: string; lastContact?: Date } | undefined;
  lastHeartbeatAt = 0;
  /** The agent's latest per-container usage batch. */
  containerStats: ContainerStatsBatch | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly registry: SessionRegistry,
    private readonly call: Call,
    private readonly settings: SessionSettings,
  ) {
    this.sessionId = newSessionId(ctx.random);
    this.log = ctx.log.child({ session: this.sessionId, peer: call.getPeer() });
    this.helloTimer = setTimeout(() => void this.fail(status.INVALID_ARGUMENT, 'no hello received in time'), settings.helloTimeoutMs);
    call.on('data', (msg: ConnectRequest) => {
      const metrics = settings.metrics;
      const arrived = metrics && msg.message?.$case === 'heartbeat' ? performance.now() : undefined;
      this.queue = this.queue
        .then(() => this.handle(msg))
        .then(() => {
          if (arrived === undefined || !metrics) return;
          metrics.heartbeats++;
          metrics.heartbeatHandling.observe((performance.now() - arrived) / 1000);
        })
        .catch((err) => this.onHandlerError(err));
    });
    call.on('end', () => void this.close('agent ended the stream'));
    call.on('error', (err) => void this.close(`stream error: ${err.message}`));
    call.on('cancelled', () => void this.close('stream cancelled'));
  }

  get nodeId(): string | undefined {
    return this.node?.id;
  }

  private async handle(msg: ConnectRequest): Promise<void> {
    if (this.closed) return;
    const m = msg.message;
    if (!m) throw new ProtocolError('empty message (no hello, heartbeat, taskStatus or ack)');
    if (m.$case !== 'hello' && !this.node) throw new ProtocolError(`the first message must be a hello, got ${m.$case}`);
    switch (m.$case) {
      case 'hello':
        return this.onHello(m.value);
      case 'heartbeat':
        return this.onHeartbeat(m.value);
      case 'taskStatus':
        return this.onTaskStatus(m.value.tasks);
      case 'ack':
        await setAckedGeneration(this.ctx.db.sql, this.node!.id, m.value.generation);
        return;
      case 'stats':
        // Latest only, in memory: usage is for display, not state.
        this.containerStats = m.value;
        return;
      case 'logs':
        return this.onLogsChunk(m.value);
      default:
        throw new ProtocolError('unknown message');
    }
  }

  private async onHello(h: Hello): Promise<void> {
    if (this.node) throw new ProtocolError('a second hello on the same stream');
    clearTimeout(this.helloTimer);
    const protocol = negotiateProtocol(agentProtocolRange(h), this.settings.protocol ?? OWN_PROTOCOL_RANGE, BERTH_VERSION);
    if (!protocol.ok) {
      this.log.warn({ agentVersion: h.agentVersion, upgrade: protocol.upgrade }, protocol.message);
      void this.fail(status.FAILED_PRECONDITION, protocol.message);
      return;
    }
    const f = h.facts;
    if (!f) throw new ProtocolError('hello without node facts');
    const identity = await this.identify(h);
    if (!identity) return;
    const node = await registerNodeOp(
      this.ctx,
      {
        nodeId: identity.nodeId,
        cluster: identity.cluster,
        agentVersion: h.agentVersion,
        protocolVersion: protocol.version,
        facts: {
          hostname: f.hostname,
          os: f.os,
          osVersion: f.osVersion,
          kernel: f.kernel,
          arch: f.arch,
          cpuCores: f.cpuCores,
          cpuModel: f.cpuModel,
          memoryMib: f.memoryMib,
          diskTotalMib: f.diskTotalMib,
          dockerVersion: f.dockerVersion,
        },
        labels: { ...identity.labels, ...h.labels },
        registeredCpu: f.registeredCpu,
        registeredMemory: f.registeredMemoryMib,
      },
      this.sessionId,
    );
    if (this.closed) return;
    this.node = node;
    this.log = this.log.child({ nodeId: node.id });
    const previous = this.registry.add(node.id, this);
    void previous?.close('replaced by a newer session of the same node');
    this.lastHeartbeatAt = this.ctx.clock.now().getTime();
    this.write({
      message: {
        $case: 'welcome',
        value: {
          nodeId: node.id,
          sessionId: this.sessionId,
          heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
          protocolVersion: protocol.version,
          controlPlaneVersion: BERTH_VERSION,
        },
      },
    });
    this.log.info(
      { hostname: node.hostname, agentVersion: h.agentVersion, inventory: h.inventory.length, appliedGeneration: h.appliedGeneration },
      'agent connected',
    );
    this.pushDesiredState();
  }

  /**
   * Who the agent is. With mTLS the node certificate says it (CN = node id,
   * OU = cluster): a hello naming another node or cluster is refused, as is a
   * revoked certificate. A second live session of the same node (a cloned SD
   * card: both heartbeat) is refused and raised as an event; a session whose
   * heartbeats stopped is taken over (the agent reconnected).
   */
  private async identify(h: Hello): Promise<{ nodeId: string; cluster: string; labels: Record<string, string> } | undefined> {
    let nodeId = h.nodeId;
    let cluster = h.cluster;
    let labels: Record<string, string> = {};
    if (this.settings.requireAgentCert) {
      const peer = this.call.getAuthContext?.().sslPeerCertificate;
      if (!peer) {
        void this.fail(status.UNAUTHENTICATED, 'this control plane requires a node certificate: join with a token (berth-agent join --server HOST:7400 --token TOKEN; berth token create makes one)');
        return undefined;
      }
      const subject = peer.subject as unknown as Record<string, string>;
      if (subject.O !== AGENT_ROLE) {
        void this.fail(status.PERMISSION_DENIED, `the certificate is for ${JSON.stringify(subject.O)}, not a node agent`);
        return undefined;
      }
      const record = await getNodeCertificate(this.ctx.db.sql, normalizeSerial(peer.serialNumber));
      if (!record || record.revokedAt) {
        void this.fail(status.PERMISSION_DENIED, `the node certificate of ${subject.CN} is ${record ? 'revoked' : 'unknown to this control plane'}; join again with a new token`);
        return undefined;
      }
      if (h.nodeId && h.nodeId !== record.nodeId) {
        void this.fail(status.PERMISSION_DENIED, `the hello names node ${h.nodeId}, but the certificate is node ${record.nodeId}`);
        return undefined;
      }
      if (h.cluster && h.cluster !== record.cluster) {
        void this.fail(status.PERMISSION_DENIED, `the hello names cluster ${h.cluster}, but node ${record.nodeId} joined cluster ${record.cluster}`);
        return undefined;
      }
      nodeId = record.nodeId;
      cluster = record.cluster;
      labels = record.labels;
    }
    const live = nodeId ? this.registry.get(nodeId) : undefined;
    const now = this.ctx.clock.now().getTime();
    if (live && live !== this && live.registered && now - live.lastHeartbeatAt < 2 * this.settings.heartbeatIntervalMs) {
      await appendEvents(this.ctx.db.sql, [
        { cluster: live.clusterName ?? cluster, kind: 'node.duplicate-session', subject: nodeId, message: `node ${nodeId}: a second agent with the same identity tried to connect while the first is alive (a copied data directory or SD card?); refused` },
      ]);
      void this.fail(status.FAILED_PRECONDITION, `node ${nodeId} already has a live session: another agent uses this identity (a copied data directory or SD card?); refused`);
      return undefined;
    }
    return { nodeId, cluster, labels };
  }

  get clusterName(): string | undefined {
    return this.node?.cluster;
  }

  private async onHeartbeat(hb: Heartbeat): Promise<void> {
    this.lastHeartbeatAt = this.ctx.clock.now().getTime();
    // Liveness is held in memory; usage reaches Postgres only every usageWriteIntervalMs.
    if (this.lastHeartbeatAt - this.lastUsageWrite < this.settings.usageWriteIntervalMs) return;
    this.lastUsageWrite = this.lastHeartbeatAt;
    await saveNodeUsage(
      this.ctx.db.sql,
      this.node!.id,
      {
        cpuPercent: hb.cpuPercent,
        memoryUsedMib: hb.memoryUsedMib,
        memoryTotalMib: hb.memoryTotalMib,
        diskUsedMib: hb.diskUsedMib,
        diskTotalMib: hb.diskTotalMib,
        load1: hb.load1,
        dockerReachable: hb.dockerReachable,
      },
      this.ctx.clock.now(),
    );
  }

  private async onTaskStatus(tasks: TaskStatus[]): Promise<void> {
    const reports: ReportedTaskStatus[] = tasks.map((t) => ({
      taskId: t.taskId,
      lastStatus: t.lastStatus,
      stopCode: t.stopCode,
      stoppedReason: t.stoppedReason,
      at: t.at,
      warnings: t.warnings,
      containers: t.containers.map((c) => ({
        name: c.name,
        image: '',
        runtimeId: c.runtimeId,
        lastStatus: c.lastStatus,
        exitCode: c.exitCode,
        reason: c.reason || undefined,
        healthStatus: c.healthStatus || undefined,
        restartCount: c.restartCount || undefined,
        networkBindings: c.networkBindings.map((b) => ({ bindIP: b.bindIp, containerPort: b.containerPort, hostPort: b.hostPort, protocol: b.protocol })),
      })),
    }));
    if (await applyTaskStatusReports(this.ctx, this.node!.id, reports)) this.pushDesiredState();
  }

  /**
   * Sends the node's full desired set with its current generation. Coalesced:
   * calls during a push cause exactly one more push afterwards.
   */
  pushDesiredState(): void {
    if (!this.node || this.closed) return;
    if (this.pushing) {
      this.pushAgain = true;
      return;
    }
    this.pushing = true;
    void (async () => {
      try {
        do {
          this.pushAgain = false;
          const node = await getNode(this.ctx.db.sql, this.node!.id);
          if (!node || this.closed) return;
          const tasks = await desiredTasksForNode(this.ctx.db.sql, node.id);
          const desired: DesiredTask[] = [];
          for (const t of tasks) {
            desired.push({
              taskId: t.id,
              taskArn: arns.task(this.ctx.arn, t.cluster, t.id),
              cluster: t.cluster,
              family: t.family,
              revision: t.revision,
              desiredStatus: t.desiredStatus,
              taskDefinitionJson: JSON.stringify(t.spec),
              ...(await this.secretsFor(t)),
            });
          }
          this.write({ message: { $case: 'desiredState', value: { generation: node.desiredGeneration, tasks: desired } } });
        } while (this.pushAgain);
      } catch (err) {
        this.log.error({ err }, 'could not send the desired state; the agent will get it on the next change or resync');
      } finally {
        this.pushing = false;
      }
    })();
  }

  /**
   * A task's secret values, decrypted for this node only while the task is
   * being started (before RUNNING): a running container has them already, and
   * a value that is not sent cannot leak.
   */
  private async secretsFor(t: TaskRecord): Promise<Pick<DesiredTask, 'secrets' | 'secretsError'>> {
    const none = { secrets: [], secretsError: '' };
    if (t.desiredStatus !== 'RUNNING' || !['PENDING', 'ACTIVATING'].includes(t.lastStatus)) return none;
    if (!secretReferences(t.spec.containerDefinitions).length) return none;
    try {
      const values = await resolveTaskSecrets(this.ctx, t.spec);
      return { secrets: values.map((v) => ({ containerName: v.container, kind: v.use, target: v.target, value: v.value })), secretsError: '' };
    } catch (err) {
      this.log.warn({ taskId: t.id, reason: (err as Error).message }, 'task secrets could not be given; its node fails the task');
      return { secrets: [], secretsError: (err as Error).message };
    }
  }

  private write(msg: ConnectResponse): void {
    if (!this.closed) this.call.write(msg);
  }

  private onHandlerError(err: unknown): void {
    if (err instanceof ProtocolError) return void this.fail(status.INVALID_ARGUMENT, err.message);
    if (err instanceof BerthError) {
      return void this.fail(err.kind === 'not-found' || err.kind === 'conflict' ? status.FAILED_PRECONDITION : status.INVALID_ARGUMENT, err.message);
    }
    this.log.error({ err }, 'agent message failed');
    void this.fail(status.UNAVAILABLE, 'the control plane could not process a message; reconnect');
  }

  /** Ends this stream with a status and a logged reason. */
  /** `lastContact`: when the agent was last heard from, if earlier than now (a silent agent). */
  fail(code: status, details: string, lastContact?: Date): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.log.warn({ code: status[code], reason: details }, 'closing agent stream');
    // The emitted error closes this session through the 'error' handler: it records this reason.
    this.failure = { reason: details, lastContact };
    this.call.emit('error', { code, details: safeDetails(details) });
    return this.close(details, lastContact);
  }

  /** Ends the session; resolves once the disconnect is recorded. */
  get registered(): boolean {
    return this.node !== undefined;
  }

  close(reason: string, lastContact?: Date): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.failure) ({ reason, lastContact } = this.failure);
    this.closed = true;
    clearTimeout(this.helloTimer);
    try {
      this.call.end();
    } catch {
      // already ended
    }
    const node = this.node;
    if (!node) return Promise.resolve();
    this.registry.remove(node.id, this);
    this.log.info({ reason }, 'agent disconnected');
    return nodeDisconnectedOp(this.ctx, node, this.sessionId, reason, lastContact).catch((err) => this.log.error({ err }, 'could not record the disconnect'));
  }

  // ---- logs: streams asked of this agent, its chunks routed back by request id ----

  private logStreams: LogsRouter | undefined;

  /**
   * Asks the agent for a container's logs; its chunks go to `consumer` until
   * the one with end = true, or until this session closes (then
   * consumer.sessionClosed). False when the session is not open.
   */
  requestLogs(r: LogsRequest, consumer: LogsConsumer): boolean {
    if (this.closed || !this.node) return false;
    this.logsRouter().add(r.requestId, consumer);
    this.write({ message: { $case: 'logsRequest', value: r } });
    return true;
  }

  /** The reader went away: forget the stream and tell the agent to stop it. */
  cancelLogs(requestId: string): void {
    if (!this.logStreams?.remove(requestId)) return;
    this.write({ message: { $case: 'logsCancel', value: { requestId } } });
  }

  private onLogsChunk(c: LogsChunk): void {
    // Chunks for a stream already cancelled (or never asked for) are dropped.
    if (!this.logStreams?.route(c)) this.log.debug({ requestId: c.requestId, end: c.end }, 'log chunk for no open stream dropped');
  }

  private logsRouter(): LogsRouter {
    if (this.logStreams) return this.logStreams;
    const router = new LogsRouter();
    this.logStreams = router;
    // Every way this session ends goes through close(), which ends the call (finish) or follows a cancel/error.
    let reason = 'the agent session ended';
    const ended = () => router.closeAll(reason);
    this.call.once('cancelled', () => ((reason = 'the agent stream was cancelled'), ended()));
    this.call.once('error', (err: { details?: string; message?: string }) => ((reason = err.details || err.message || reason), ended()));
    this.call.once('end', () => ((reason = 'the agent ended its stream'), ended()));
    this.call.once('finish', ended);
    this.call.once('close', ended);
    return router;
  }
}
