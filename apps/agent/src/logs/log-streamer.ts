import type { LogsChunk, LogsRequest } from '@berth/proto';
import type { Logger } from 'pino';

/** A piece of a container's output (what the runtime's log reader yields). */
export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface LogOpenOptions {
  tail?: number;
  since?: Date;
  follow: boolean;
  timestamps: boolean;
}

export interface LogStreamerDeps {
  /** The task's container by name (empty: the runtime's choice), or why there is none. */
  find(taskId: string, containerName: string): Promise<{ id: string; containerName: string } | { error: string }>;
  /** Reads a container's logs; must end soon after `signal` aborts. */
  open(containerId: string, opts: LogOpenOptions, signal: AbortSignal): AsyncIterable<LogFrame>;
  /** Sends a chunk to the control plane; false when the session is down. */
  send(chunk: LogsChunk): boolean;
  log: Logger;
}

export interface LogStreamerLimits {
  /** Concurrent streams on this node; one more is refused. */
  maxStreams: number;
  /** Largest data in one chunk. */
  maxChunkBytes: number;
  /** Small frames of one stream are joined for at most this long (0: sent as they come). */
  coalesceMs: number;
}

export const DEFAULT_LOG_STREAMER_LIMITS: LogStreamerLimits = { maxStreams: 8, maxChunkBytes: 64 * 1024, coalesceMs: 50 };

interface Active {
  abort: AbortController;
}

/**
 * Serves the control plane's log requests: finds the container, reads its
 * logs and sends them back as LogsChunk messages of at most 64 KiB, joining
 * small frames of one stream for up to ~50 ms. Every stream ends with exactly
 * one `end` chunk (with `error` when it failed), unless the session went down
 * (nothing can be sent then; the stream just stops). At most 8 streams at once.
 */
export class LogStreamer {
  private readonly active = new Map<string, Active>();
  private readonly limits: LogStreamerLimits;

  constructor(
    private readonly deps: LogStreamerDeps,
    limits: Partial<LogStreamerLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LOG_STREAMER_LIMITS, ...limits };
  }

  /** Streams in progress. */
  get size(): number {
    return this.active.size;
  }

  start(r: LogsRequest): void {
    const log = this.deps.log.child({ logsRequest: r.requestId, taskId: r.taskId, container: r.containerName });
    if (this.active.has(r.requestId)) {
      log.warn('log request id already streaming; duplicate ignored');
      return;
    }
    if (this.active.size >= this.limits.maxStreams) {
      log.warn({ streams: this.active.size }, 'log request refused: too many log streams');
      this.deps.send(endChunk(r.requestId, r.containerName, `too many log streams on this node (at most ${this.limits.maxStreams} at once); try again when one ends`));
      return;
    }
    const entry: Active = { abort: new AbortController() };
    this.active.set(r.requestId, entry);
    void this.run(r, entry.abort.signal, log).finally(() => {
      if (this.active.get(r.requestId) === entry) this.active.delete(r.requestId);
    });
  }

  /** The reader went away: stop that stream (its end chunk is still sent, and dropped by the control plane). */
  cancel(requestId: string): void {
    this.active.get(requestId)?.abort.abort();
  }

  /** The session ended: stop every stream. */
  cancelAll(): void {
    for (const a of this.active.values()) a.abort.abort();
  }

  private async run(r: LogsRequest, signal: AbortSignal, log: Logger): Promise<void> {
    let containerName = r.containerName;
    let sessionDown = false;
    const send = (c: LogsChunk): boolean => {
      if (sessionDown) return false;
      if (this.deps.send(c)) return true;
      sessionDown = true;
      return false;
    };
    // The stream is stopped from inside too (session down); `signal` is the caller's.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });

    const out = new ChunkWriter(this.limits, (stream, data) => {
      if (!send({ requestId: r.requestId, data, stream, end: false, error: '', containerName })) {
        log.debug('session down; log stream stopped');
        stop.abort();
      }
    });

    let error = '';
    try {
      const found = await this.deps.find(r.taskId, r.containerName);
      if ('error' in found) {
        error = found.error;
      } else if (!stop.signal.aborted) {
        containerName = found.containerName || containerName;
        const opts: LogOpenOptions = { tail: r.tail, since: r.since, follow: r.follow, timestamps: r.timestamps };
        for await (const frame of this.deps.open(found.id, opts, stop.signal)) {
          if (stop.signal.aborted) break;
          out.push(frame.stream, frame.data);
        }
      }
    } catch (err) {
      if (!stop.signal.aborted) {
        error = (err as Error).message || String(err);
        log.warn({ reason: error }, 'log stream failed');
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (!sessionDown) out.flush();
    out.close();
    send(endChunk(r.requestId, containerName, error));
    log.debug({ cancelled: signal.aborted, sessionDown, error: error || undefined }, 'log stream ended');
  }
}

function endChunk(requestId: string, containerName: string, error: string): LogsChunk {
  return { requestId, data: Buffer.alloc(0), stream: '', end: true, error, containerName };
}

/**
 * Joins small frames of one stream and cuts large ones: hands out pieces of
 * at most maxChunkBytes, never mixing streams, each held at most coalesceMs.
 */
export class ChunkWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingStream: 'stdout' | 'stderr' = 'stdout';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly limits: Pick<LogStreamerLimits, 'maxChunkBytes' | 'coalesceMs'>,
    private readonly emit: (stream: 'stdout' | 'stderr', data: Buffer) => void,
  ) {}

  push(stream: 'stdout' | 'stderr', data: Buffer): void {
    if (this.closed || data.length === 0) return;
    if (this.pendingBytes > 0 && stream !== this.pendingStream) this.flush();
    this.pendingStream = stream;
    this.pending.push(data);
    this.pendingBytes += data.length;
    const max = this.limits.maxChunkBytes;
    if (this.pendingBytes >= max) {
      const all = Buffer.concat(this.pending);
      let pos = 0;
      for (; all.length - pos >= max && !this.closed; pos += max) this.emit(stream, all.subarray(pos, pos + max));
      const rest = all.subarray(pos);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    if (this.pendingBytes === 0) return this.clearTimer();
    if (this.limits.coalesceMs <= 0) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.limits.coalesceMs);
  }

  flush(): void {
    this.clearTimer();
    if (this.closed || this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.emit(this.pendingStream, data);
  }

  /** Drops what is pending and stops emitting. */
  close(): void {
    this.clearTimer();
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
