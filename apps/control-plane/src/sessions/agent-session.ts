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
  type ProxySnapshot,
  type TargetHealth,
  type TaskStatus,
} from '@berth/proto';
import {
  appendEvents,
  databaseUnavailableReason,
  desiredTasksForNode,
  getNode,
  getNodeCertificate,
  isDatabaseClosed,
  saveNodeUsage,
  saveTargetHealth,
  setAckedGeneration,
  setProxyAck,
  type NodeRecord,
  type TaskRecord,
} from '@berth/store';
import { Backoff } from '@berth/transport';
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
import { HeldWrites, type HeldBatch } from './held-writes.js';

/**
 * Tasks whose status reports one session holds at most while the database is
 * away (a node runs far fewer); past it the stream is closed, and the agent
 * sends every task's status again after it reconnects.
 */
export const MAX_HELD_TASKS = 10_000;
/** Held writes, desired-state sends and disconnects are tried again after 250 ms, doubling up to this. */
export const WRITE_RETRY_MAX_MS = 5_000;

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
  /** Tasks whose reports are held at most while the database is away (default MAX_HELD_TASKS). */
  maxHeldTasks?: number;
  /** The longest wait between tries of a write the database did not take (default WRITE_RETRY_MAX_MS). */
  writeRetryMaxMs?: number;
}

type Call = ServerDuplexStream<ConnectRequest, ConnectResponse>;

class ProtocolError extends Error {}

/**
 * One agent's stream. Messages are handled strictly in order (a queue), so a
 * status report is never applied before the hello that registered its node.
 * Anything the session cannot understand closes this stream only, with a
 * logged reason; other sessions are untouched.
 *
 * After the hello, no message waits for the database: heartbeats count when
 * they arrive, and status reports, acks and usage go to HeldWrites, written
 * by one write at a time (what arrives meanwhile goes in the next). While the
 * database is away the writes are held (bounded: per task, per status) and
 * tried again with backoff, so the stream stays open, the queue stays short,
 * and the reports reach the database when it is back. The agent is never
 * told a report was saved (the protocol has no such ack): held reports lost
 * with a closed stream are sent again by the agent after its next welcome.
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
  /** Messages received and not handled yet. */
  queued = 0;
  private readonly held = new HeldWrites();
  private flushing = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly writeRetry: Backoff;
  /** Why held writes wait (the database's unavailability), while they do. */
  private waitingForDatabase: string | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private readonly pushRetry: Backoff;
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
    const retry = () => new Backoff({ maxMs: settings.writeRetryMaxMs ?? WRITE_RETRY_MAX_MS, random: () => ctx.random.next() });
    this.writeRetry = retry();
    this.pushRetry = retry();
    call.on('data', (msg: ConnectRequest) => {
      const metrics = settings.metrics;
      const heartbeat = msg.message?.$case === 'heartbeat';
      // The agent is alive when its heartbeat arrives, whatever the messages before it wait for.
      if (heartbeat && this.node) this.lastHeartbeatAt = ctx.clock.now().getTime();
      const arrived = metrics && heartbeat ? performance.now() : undefined;
      this.queued++;
      if (metrics) metrics.agentMessagesQueued++;
      this.queue = this.queue
        .then(() => this.handle(msg))
        .then(() => {
          if (arrived === undefined || !metrics) return;
          metrics.heartbeats++;
          metrics.heartbeatHandling.observe((performance.now() - arrived) / 1000);
        })
        .catch((err) => this.onHandlerError(err))
        .finally(() => {
          this.queued--;
          if (metrics) metrics.agentMessagesQueued--;
        });
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
        this.held.setAck(m.value.generation);
        return this.flushHeld();
      case 'stats':
        // Latest only, in memory: usage is for display, not state.
        this.containerStats = m.value;
        return;
      case 'logs':
        return this.onLogsChunk(m.value);
      case 'proxyAck':
        if (m.value.error) this.log.warn({ version: m.value.version, reason: m.value.error }, 'the node could not apply its proxy snapshot; it serves the previous one');
        await setProxyAck(this.ctx.db.sql, this.node!.id, Number(m.value.version), m.value.error);
        return;
      case 'targetHealth':
        return this.onTargetHealth(m.value.targets);
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
        address: h.address,
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
    this.ctx.traffic?.sessionStarted(node.id);
  }

  /** The node's proxy says how its targets are: saved (replacing its last report), and traffic looks again. */
  private async onTargetHealth(targets: TargetHealth[]): Promise<void> {
    const reports = targets.flatMap((t) => {
      const at = t.serverId.lastIndexOf(':');
      const port = Number(t.serverId.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port)) return [];
      return [{ targetGroupId: t.backendId, targetId: t.serverId.slice(0, at), port, state: t.state, reason: t.reason }];
    });
    // One transaction: a sync reading between the delete and the insert would see no report at all,
    // take every target for initial and the tasks behind them for not healthy.
    const nodeId = this.node!.id;
    await this.ctx.db.sql.begin((tx) => saveTargetHealth(tx, nodeId, reports, this.ctx.clock.now()));
    this.ctx.trafficChanged?.();
  }

  /** What the node's proxy serves (the traffic controller decides; sent as is). */
  sendProxySnapshot(snapshot: ProxySnapshot): void {
    this.write({ message: { $case: 'proxySnapshot', value: snapshot } });
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

  private onHeartbeat(hb: Heartbeat): void {
    this.lastHeartbeatAt = this.ctx.clock.now().getTime();
    // Liveness is held in memory; usage reaches Postgres only every usageWriteIntervalMs.
    if (this.lastHeartbeatAt - this.lastUsageWrite < this.settings.usageWriteIntervalMs) return;
    this.lastUsageWrite = this.lastHeartbeatAt;
    this.held.setUsage(
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
    this.flushHeld();
  }

  /** Status reports held now, waiting for the database (GET /metrics). */
  get heldStatusReports(): number {
    return this.held.size;
  }

  private onTaskStatus(tasks: TaskStatus[]): void {
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
    this.held.addStatuses(reports);
    const limit = this.settings.maxHeldTasks ?? MAX_HELD_TASKS;
    if (this.held.tasks > limit) {
      void this.fail(status.RESOURCE_EXHAUSTED, `status reports of more than ${limit} tasks are waiting for the database; reconnect (the agent sends every task's status again)`);
      return;
    }
    this.flushHeld();
  }

  /**
   * Writes what is held, one write at a time: what arrives during a write
   * goes in the next. A database that is away keeps it held, tried again with
   * backoff; any other failure ends the stream (the agent resends).
   */
  private flushHeld(): void {
    if (this.flushing || this.flushTimer || this.closed || !this.node) return;
    const batch = this.held.take();
    if (!batch) return;
    this.flushing = true;
    void this.writeHeld(this.node.id, batch)
      .then(
        (stopped) => {
          this.writeRetry.reset();
          if (this.waitingForDatabase) {
            this.log.info({ statusReports: batch.statuses.length, ack: batch.ack }, 'the database is back: held status reports saved');
            this.waitingForDatabase = undefined;
          }
          if (stopped) this.pushDesiredState();
          if (batch.statuses.length > 0) this.ctx.traffic?.taskStatusChanged();
        },
        (err) => this.heldWriteFailed(batch, err),
      )
      .finally(() => {
        this.flushing = false;
        this.flushHeld();
      });
  }

  /** Returns whether the node's desired set changed (a task reached STOPPED). */
  private async writeHeld(nodeId: string, b: HeldBatch): Promise<boolean> {
    if (b.usage) await saveNodeUsage(this.ctx.db.sql, nodeId, b.usage.usage, b.usage.at);
    if (b.ack !== undefined) await setAckedGeneration(this.ctx.db.sql, nodeId, b.ack);
    return b.statuses.length > 0 && (await applyTaskStatusReports(this.ctx, nodeId, b.statuses));
  }

  private heldWriteFailed(batch: HeldBatch, err: unknown): void {
    if (this.closed) return;
    const reason = databaseUnavailableReason(err);
    if (!reason || isDatabaseClosed(err)) return this.onHandlerError(err);
    this.held.restore(batch);
    const wait = this.writeRetry.next();
    if (!this.waitingForDatabase) {
      this.log.warn({ reason, statusReports: this.held.size, retryMs: wait }, 'the database is unavailable: status reports held until it is back');
    }
    this.waitingForDatabase = reason;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushHeld();
    }, wait);
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
            // A stopping task whose targets still drain stays running on its node until they have.
            const held = this.ctx.traffic?.stopHeld(t) ?? false;
            desired.push({
              taskId: t.id,
              taskArn: arns.task(this.ctx.arn, t.cluster, t.id),
              cluster: t.cluster,
              family: t.family,
              revision: t.revision,
              desiredStatus: held ? 'RUNNING' : t.desiredStatus,
              taskDefinitionJson: JSON.stringify(t.spec),
              ...(await this.secretsFor(t)),
            });
          }
          this.write({ message: { $case: 'desiredState', value: { generation: node.desiredGeneration, tasks: desired } } });
          this.pushRetry.reset();
        } while (this.pushAgain);
      } catch (err) {
        const reason = databaseUnavailableReason(err);
        if (reason && !isDatabaseClosed(err) && !this.closed) {
          // Level-triggered: the agent gets the set as it is once the database answers again.
          const wait = this.pushRetry.next();
          if (this.pushRetry.attempts === 1) this.log.warn({ reason, retryMs: wait }, 'could not read the desired state: the database is unavailable; trying again');
          clearTimeout(this.pushTimer);
          this.pushTimer = setTimeout(() => {
            this.pushTimer = undefined;
            this.pushDesiredState();
          }, wait);
        } else if (!this.closed) {
          this.log.error({ err }, 'could not send the desired state; the agent will get it on the next change or resync');
        }
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
    const reason = databaseUnavailableReason(err);
    if (reason) {
      // A hello the database could not register: the agent tries again with its backoff.
      return void this.fail(status.UNAVAILABLE, `the database is unavailable (${reason}); reconnect later`);
    }
    this.log.error({ err }, 'agent message failed');
    void this.fail(status.UNAVAILABLE, 'the control plane could not process a message; reconnect');
  }

  /**
   * Ends this stream with a status and a logged reason; resolves once the
   * disconnect is recorded. `lastContact`: when the agent was last heard
   * from, if earlier than now (a silent agent).
   */
  fail(code: status, details: string, lastContact?: Date): Promise<void> {
    if (this.closed) return this.closing ?? Promise.resolve();
    this.log.warn({ code: status[code], reason: details }, 'closing agent stream');
    // The emitted error closes this session through the 'error' handler: it records this reason.
    this.failure = { reason: details, lastContact };
    this.call.emit('error', { code, details: safeDetails(details) });
    return this.close(details, lastContact);
  }

  get registered(): boolean {
    return this.node !== undefined;
  }

  /** Ends the session; resolves once the disconnect is recorded. */
  close(reason: string, lastContact?: Date): Promise<void> {
    // Closed already (fail()'s emitted error closes it first): the same wait for the disconnect record,
    // so a liveness tick that failed this session sees the node disconnected in the same tick.
    if (this.closing) return this.closing;
    this.closing = this.doClose(reason, lastContact);
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private doClose(reason: string, lastContact?: Date): Promise<void> {
    if (this.failure) ({ reason, lastContact } = this.failure);
    this.closed = true;
    clearTimeout(this.helloTimer);
    clearTimeout(this.flushTimer);
    clearTimeout(this.pushTimer);
    try {
      this.call.end();
    } catch {
      // already ended
    }
    const node = this.node;
    if (!node) return Promise.resolve();
    this.registry.remove(node.id, this);
    const held = this.held.take();
    if (held && held.statuses.length > 0) {
      this.log.info({ statusReports: held.statuses.length }, 'held status reports dropped with the stream; the agent sends them again after it reconnects');
    }
    this.log.info({ reason }, 'agent disconnected');
    return this.recordDisconnect(node, reason, lastContact ?? this.ctx.clock.now(), new Backoff({ maxMs: this.settings.writeRetryMaxMs ?? WRITE_RETRY_MAX_MS, random: () => this.ctx.random.next() }));
  }

  /**
   * Records the disconnect (as of `at`); while the database is away it is
   * tried again in the background (the returned promise does not wait), so a
   * node that left during an outage is not left looking connected. A later
   * session of the node makes the late write a no-op. A late record counts
   * from when it is written: the agent could not reconnect (its hello needs
   * the database) before then, so its grace starts then.
   */
  private recordDisconnect(node: NodeRecord, reason: string, at: Date, backoff: Backoff): Promise<void> {
    const since = backoff.attempts === 0 ? at : this.ctx.clock.now();
    return nodeDisconnectedOp(this.ctx, node, this.sessionId, reason, since).catch((err) => {
      const unavailable = databaseUnavailableReason(err);
      if (!unavailable || isDatabaseClosed(err)) return void this.log.error({ err }, 'could not record the disconnect');
      const wait = backoff.next();
      if (backoff.attempts === 1) this.log.warn({ reason: unavailable, retryMs: wait }, 'could not record the disconnect: the database is unavailable; trying again');
      setTimeout(() => void this.recordDisconnect(node, reason, at, backoff), wait).unref();
    });
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
