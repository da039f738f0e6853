import { BerthError, conflict, invalid, notFound, resourceId } from '@berth/domain';
import type { GetTaskLogsResponse, LogsChunk, LogsRequest } from '@berth/proto';
import { getNode, getTasks, type TaskRecord } from '@berth/store';
import type { Logger } from 'pino';
import { requireCluster } from './clusters.js';
import type { AppContext } from './context.js';

/**
 * Most bytes of logs held for one slow reader. The agent cannot be paused (its
 * one stream also carries heartbeats and status), so a reader that falls this
 * far behind is ended with RESOURCE_EXHAUSTED instead of growing memory.
 */
export const MAX_LOGS_BUFFER_BYTES = 8 * 1024 * 1024;

/** Where one log stream's chunks go, until the last one (end = true) or the session closes. */
export interface LogsConsumer {
  chunk(c: LogsChunk): void;
  /** The agent session ended before the stream did. */
  sessionClosed(reason: string): void;
}

/** Log streams in flight on one agent session, by request id. */
export class LogsRouter {
  private readonly consumers = new Map<string, LogsConsumer>();

  add(requestId: string, consumer: LogsConsumer): void {
    if (this.consumers.has(requestId)) throw new Error(`log request ${requestId} is already open`);
    this.consumers.set(requestId, consumer);
  }

  /** Forgets a stream; true when it was open. */
  remove(requestId: string): boolean {
    return this.consumers.delete(requestId);
  }

  /**
   * Hands a chunk to its consumer; the last chunk (end) also closes the
   * stream. False for an unknown id: a late chunk after a cancel, dropped.
   */
  route(c: LogsChunk): boolean {
    const consumer = this.consumers.get(c.requestId);
    if (!consumer) return false;
    if (c.end) this.consumers.delete(c.requestId);
    consumer.chunk(c);
    return true;
  }

  /** The session ended: every open stream is told, and forgotten. */
  closeAll(reason: string): void {
    const all = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of all) c.sessionClosed(reason);
  }

  get size(): number {
    return this.consumers.size;
  }
}

/** What the log operation needs of an agent session (AgentSession implements it). */
export interface LogsSession {
  /** Sends the request and routes its chunks to `consumer`; false when the session is closed. */
  requestLogs(r: LogsRequest, consumer: LogsConsumer): boolean;
  /** Stops a stream: the consumer is forgotten and the agent gets a LogsCancel. */
  cancelLogs(requestId: string): void;
}

export interface TaskLogsInput {
  cluster?: string;
  /** Task id or ARN. */
  task: string;
  /** Empty: the task's first essential container. */
  containerName?: string;
  tail?: number;
  since?: Date;
  follow: boolean;
  timestamps: boolean;
}

/** Where the operation writes: the gRPC call, or a fake in tests. */
export interface LogsOutput {
  /** Sends one response; false when the receiver's buffer is full (wait for drain). */
  write(r: GetTaskLogsResponse): boolean;
  onDrain(fn: () => void): void;
  /** The receiver has accepted the request: the stream is open (headers sent). */
  opened(): void;
}

/** The task as found, which container's logs are wanted, and the session of its node. */
export interface ResolvedLogsTarget {
  task: TaskRecord;
  containerName: string;
  nodeId: string;
  session: LogsSession;
}

/** The reader fell more than the buffer cap behind (RESOURCE_EXHAUSTED at the edge). */
export class LogsBufferFull extends Error {
  constructor(readonly bytes: number) {
    super(
      `the reader is too slow: more than ${bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`} of logs are waiting to be sent; ask for less (--tail, --since) or read faster`,
    );
    this.name = 'LogsBufferFull';
  }
}

function taskIdOf(ref: string): string {
  const id = resourceId(ref ?? '');
  if (!/^[0-9a-f]{32}$/.test(id)) throw invalid(`task: must be a task id (32 hex characters) or a task ARN, got ${JSON.stringify(ref ?? '')}`);
  return id;
}

/** Request ids from the injected randomness (repeatable in tests). */
export function newLogsRequestId(ctx: AppContext): string {
  return `logs-${Buffer.from(ctx.random.bytes(8)).toString('hex')}`;
}

/**
 * Finds the task, the container and the live session of the node it runs on,
 * or says clearly why its logs cannot be read.
 */
export async function resolveLogsTarget(
  ctx: AppContext,
  sessions: { get(nodeId: string): LogsSession | undefined },
  input: TaskLogsInput,
): Promise<ResolvedLogsTarget> {
  const cluster = await requireCluster(ctx, input.cluster);
  const id = taskIdOf(input.task);
  const [task] = await getTasks(ctx.db.sql, cluster, [id]);
  if (!task) throw notFound(`task ${id} not found in cluster ${cluster}`);

  const names = task.spec.containerDefinitions.map((c) => c.name);
  let containerName = input.containerName ?? '';
  if (containerName) {
    if (!names.includes(containerName)) {
      throw invalid(`container: task ${id} has no container ${JSON.stringify(containerName)}; its containers are: ${names.join(', ')}`);
    }
  } else {
    containerName = (task.spec.containerDefinitions.find((c) => c.essential !== false) ?? task.spec.containerDefinitions[0])?.name ?? '';
  }

  if (!task.nodeId) throw conflict(`task ${id} is ${task.lastStatus} and not placed on a node yet; it has no logs`);
  const session = sessions.get(task.nodeId);
  if (!session) {
    const node = await getNode(ctx.db.sql, task.nodeId);
    const where = node?.hostname ? `${task.nodeId} (${node.hostname})` : task.nodeId;
    if (node?.agentConnected) {
      // Registered as connected, but not to this control plane: another replica holds its session.
      throw new BerthError('unavailable', `node ${where} is connected to another control-plane replica; ask that one for the logs`);
    }
    const stopped = task.lastStatus === 'STOPPED' ? ` (task ${id} is STOPPED; logs of stopped tasks are not kept on the node once its containers are removed)` : '';
    throw conflict(`node ${where} is disconnected; logs are on that machine${stopped}`);
  }
  return { task, containerName, nodeId: task.nodeId, session };
}

/**
 * GetTaskLogs: asks the task's node for a container's logs and forwards the
 * chunks to `out` until the agent ends the stream, `signal` aborts (the caller
 * went away: the agent gets a LogsCancel), or the session drops (UNAVAILABLE).
 * Resolves on a clean end (and on abort); rejects with a BerthError or
 * LogsBufferFull.
 */
export async function streamTaskLogs(
  ctx: AppContext,
  sessions: { get(nodeId: string): LogsSession | undefined },
  input: TaskLogsInput,
  out: LogsOutput,
  signal: AbortSignal,
  maxBufferBytes = MAX_LOGS_BUFFER_BYTES,
): Promise<void> {
  const target = await resolveLogsTarget(ctx, sessions, input);
  if (signal.aborted) return;
  const requestId = newLogsRequestId(ctx);
  const log = ctx.log.child({ logsRequest: requestId, taskId: target.task.id, nodeId: target.nodeId });
  return forwardLogs(
    {
      session: target.session,
      nodeId: target.nodeId,
      taskStopped: target.task.lastStatus === 'STOPPED',
      request: {
        requestId,
        taskId: target.task.id,
        containerName: target.containerName,
        tail: input.tail,
        since: input.since,
        follow: input.follow,
        timestamps: input.timestamps,
      },
    },
    out,
    signal,
    log,
    maxBufferBytes,
  );
}

export interface ForwardTarget {
  session: LogsSession;
  nodeId: string;
  /** The task is STOPPED: an agent error most likely means its containers are gone. */
  taskStopped: boolean;
  request: LogsRequest;
}

/**
 * The streaming half of GetTaskLogs, without the database: sends the request
 * on the session and pipes its chunks to `out`, holding at most
 * `maxBufferBytes` for a reader that does not keep up.
 */
export function forwardLogs(t: ForwardTarget, out: LogsOutput, signal: AbortSignal, log: Logger, maxBufferBytes = MAX_LOGS_BUFFER_BYTES): Promise<void> {
  const { session, request } = t;
  const { requestId, taskId, containerName } = request;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    // Responses the receiver has not taken yet (write() said false), and their bytes.
    const queue: GetTaskLogsResponse[] = [];
    let queued = 0;
    let blocked = false;
    let endAfterFlush = false;

    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      queue.length = 0;
      queued = 0;
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => {
      if (done) return;
      session.cancelLogs(requestId);
      log.debug('log reader went away; stream cancelled');
      finish();
    };
    const waitForDrain = () => {
      blocked = true;
      out.onDrain(() => {
        blocked = false;
        flush();
      });
    };
    const flush = () => {
      while (queue.length > 0 && !done) {
        const r = queue.shift()!;
        queued -= r.data.length;
        if (!out.write(r)) return waitForDrain();
      }
      if (endAfterFlush) finish();
    };
    const deliver = (r: GetTaskLogsResponse) => {
      if (!blocked) {
        if (!out.write(r)) waitForDrain();
        return;
      }
      queue.push(r);
      queued += r.data.length;
      if (queued > maxBufferBytes) {
        session.cancelLogs(requestId);
        log.warn({ bufferedBytes: queued }, 'log reader too slow; stream ended');
        finish(new LogsBufferFull(maxBufferBytes));
      }
    };

    const consumer: LogsConsumer = {
      chunk: (c) => {
        if (done) return;
        if (c.data.length > 0) deliver({ data: c.data, stream: c.stream, containerName: c.containerName || containerName });
        if (done || !c.end) return;
        if (c.error) {
          const why = t.taskStopped
            ? `task ${taskId} is STOPPED and its container ${containerName} could not be read on node ${t.nodeId} (logs of stopped tasks are not kept on the node once its containers are removed): ${c.error}`
            : `node ${t.nodeId} could not read the logs of task ${taskId} container ${containerName}: ${c.error}`;
          finish(conflict(why));
          return;
        }
        // What was handed to `out` is flushed by it before it ends; only our own queue must drain first.
        endAfterFlush = true;
        if (queue.length === 0) finish();
      },
      sessionClosed: (reason) => {
        finish(new BerthError('unavailable', `the agent of node ${t.nodeId} disconnected while streaming logs (${reason}); try again when it is back`));
      },
    };

    signal.addEventListener('abort', onAbort, { once: true });
    if (!session.requestLogs(request, consumer)) {
      finish(new BerthError('unavailable', `the agent of node ${t.nodeId} disconnected; logs are on that machine, try again when it is back`));
      return;
    }
    out.opened();
    log.debug({ container: containerName, follow: request.follow, tail: request.tail }, 'log stream opened');
  });
}
