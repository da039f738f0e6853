import type Docker from 'dockerode';
import { LABEL_CONTAINER_NAME, LABEL_MANAGED, LABEL_TASK_ID } from './labels.js';

/** A piece of a container's output, from one stream. */
export interface LogFrame {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface DockerLogsOptions {
  /** Only the last N lines; absent: all. */
  tail?: number;
  /** Only lines after this time. */
  since?: Date;
  follow: boolean;
  timestamps: boolean;
}

/**
 * Where the demultiplexer is in Docker's stream: a frame header in pieces,
 * or payload bytes still owed to a frame. `raw` once the stream turned out not
 * to be multiplexed (a TTY container): everything is then stdout.
 */
export interface DemuxState {
  /** Header bytes seen so far (fewer than 8). */
  header: Buffer;
  stream: 'stdout' | 'stderr';
  /** Payload bytes of the current frame not yet seen. */
  remaining: number;
  raw: boolean;
}

export const DOCKER_FRAME_HEADER_BYTES = 8;

export function initialDemuxState(): DemuxState {
  return { header: Buffer.alloc(0), stream: 'stdout', remaining: 0, raw: false };
}

/**
 * Docker's multiplexed log format (containers without a TTY): frames of an
 * 8-byte header (stream type: 0 stdin, 1 stdout, 2 stderr; three zero bytes;
 * payload length as uint32 big-endian) and the payload. A header or a payload
 * may be split across chunks: the state carries the split over. Payload is
 * handed out as it arrives (a large frame is never held whole); adjacent
 * pieces of the same stream in one chunk are joined. Pure: same state and
 * chunk, same result; the input state is not changed.
 *
 * A header that cannot be one (unknown type, non-zero padding) means the
 * stream is raw (a TTY container): from there on everything is stdout.
 */
export function demuxDockerLogs(state: DemuxState, chunk: Buffer): { state: DemuxState; frames: LogFrame[] } {
  const frames: LogFrame[] = [];
  const emit = (stream: 'stdout' | 'stderr', data: Buffer) => {
    if (data.length === 0) return;
    const last = frames[frames.length - 1];
    if (last && last.stream === stream) last.data = Buffer.concat([last.data, data]);
    else frames.push({ stream, data });
  };
  if (state.raw) {
    emit('stdout', chunk);
    return { state, frames };
  }
  let { header, stream, remaining } = state;
  let pos = 0;
  while (pos < chunk.length) {
    if (remaining > 0) {
      const take = Math.min(remaining, chunk.length - pos);
      emit(stream, chunk.subarray(pos, pos + take));
      pos += take;
      remaining -= take;
      continue;
    }
    const need = DOCKER_FRAME_HEADER_BYTES - header.length;
    const got = chunk.subarray(pos, pos + need);
    header = header.length === 0 ? Buffer.from(got) : Buffer.concat([header, got]);
    pos += got.length;
    if (header.length < DOCKER_FRAME_HEADER_BYTES) break;
    const type = header[0]!;
    if (type > 2 || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
      // Not a frame header: the stream is raw. What was taken as a header is output too.
      emit('stdout', Buffer.concat([header, chunk.subarray(pos)]));
      return { state: { header: Buffer.alloc(0), stream: 'stdout', remaining: 0, raw: true }, frames };
    }
    stream = type === 2 ? 'stderr' : 'stdout';
    remaining = header.readUInt32BE(4);
    header = Buffer.alloc(0);
  }
  return { state: { header, stream, remaining, raw: false }, frames };
}

/** Docker's query options for a log read (undefined ones left out). */
export function dockerLogsQuery(opts: DockerLogsOptions): { stdout: true; stderr: true; timestamps: boolean; tail?: number; since?: number } {
  const q: { stdout: true; stderr: true; timestamps: boolean; tail?: number; since?: number } = { stdout: true, stderr: true, timestamps: opts.timestamps };
  if (opts.tail !== undefined) q.tail = opts.tail;
  // Whole seconds: the engine's `since` is a unix time; a second early shows a line or two more, never fewer.
  if (opts.since) q.since = Math.floor(opts.since.getTime() / 1000);
  return q;
}

/**
 * A container's logs as frames. Without follow, the engine answers with the
 * whole log as one buffer; with follow, a stream that stays open while the
 * container runs. Aborting `signal` ends the generator quietly (the engine
 * connection is destroyed).
 */
export async function* dockerLogs(docker: Docker, containerId: string, opts: DockerLogsOptions, signal: AbortSignal): AsyncGenerator<LogFrame> {
  if (signal.aborted) return;
  const container = docker.getContainer(containerId);
  const query = { ...dockerLogsQuery(opts), abortSignal: signal };
  let state = initialDemuxState();
  try {
    if (!opts.follow) {
      const out: unknown = await container.logs({ ...query, follow: false });
      // docker-modem hands back a Buffer (or a string/object if the body happened to parse as text or JSON).
      const buf = Buffer.isBuffer(out) ? out : Buffer.from(typeof out === 'string' ? out : JSON.stringify(out ?? ''));
      yield* demuxDockerLogs(state, buf).frames;
      return;
    }
    const stream = (await container.logs({ ...query, follow: true })) as NodeJS.ReadableStream & { destroy?(): void };
    const stop = () => stream.destroy?.();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of stream) {
        if (signal.aborted) return;
        const r = demuxDockerLogs(state, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        state = r.state;
        yield* r.frames;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}

/**
 * The Berth-managed container of a task by its container name (by labels, so
 * it is found whatever its state). An `error` says why there is none.
 */
export async function findTaskContainer(docker: Docker, taskId: string, containerName: string): Promise<{ id: string; containerName: string } | { error: string }> {
  const labels = [`${LABEL_MANAGED}=true`, `${LABEL_TASK_ID}=${taskId}`];
  if (containerName) labels.push(`${LABEL_CONTAINER_NAME}=${containerName}`);
  const found = await docker.listContainers({ all: true, filters: { label: labels } });
  // Task containers only: helper containers (the namespace holder) have a container name starting with '.'.
  const c = found.find((x) => !(x.Labels[LABEL_CONTAINER_NAME] ?? '').startsWith('.'));
  if (!c) {
    const which = containerName ? `container ${containerName}` : 'container';
    return { error: `no ${which} of task ${taskId} on this node (not started yet, or removed: logs of stopped tasks are not kept once their containers are removed)` };
  }
  return { id: c.Id, containerName: c.Labels[LABEL_CONTAINER_NAME] ?? containerName };
}
