import type { LogsChunk, LogsRequest } from '@berth/proto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ChunkWriter, LogStreamer, type LogFrame, type LogOpenOptions, type LogStreamerDeps } from './log-streamer.js';

const log = pino({ level: 'silent' });

const request = (requestId: string, over: Partial<LogsRequest> = {}): LogsRequest => ({
  requestId,
  taskId: 't'.repeat(32),
  containerName: 'app',
  tail: undefined,
  since: undefined,
  follow: true,
  timestamps: false,
  ...over,
});

/** A log source the test feeds by hand; it ends when told or when its signal aborts. */
class Source implements AsyncIterable<LogFrame> {
  private queue: (LogFrame | Error | 'end')[] = [];
  private wake: (() => void) | undefined;
  signal: AbortSignal | undefined;
  opts: LogOpenOptions | undefined;

  push(stream: 'stdout' | 'stderr', text: string | Buffer) {
    this.queue.push({ stream, data: typeof text === 'string' ? Buffer.from(text) : text });
    this.wake?.();
  }
  fail(message: string) {
    this.queue.push(new Error(message));
    this.wake?.();
  }
  end() {
    this.queue.push('end');
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogFrame> {
    for (;;) {
      if (this.signal?.aborted) return;
      const next = this.queue.shift();
      if (next === 'end') return;
      if (next instanceof Error) throw next;
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      this.wake = undefined;
    }
  }
}

function setup(opts: { limits?: ConstructorParameters<typeof LogStreamer>[1]; find?: LogStreamerDeps['find']; sendOk?: () => boolean } = {}) {
  const sent: LogsChunk[] = [];
  const sources = new Map<string, Source>();
  const opened: string[] = [];
  const deps: LogStreamerDeps = {
    find: opts.find ?? (async (_taskId, name) => ({ id: `c-${name}`, containerName: name })),
    open: (id, o, signal) => {
      opened.push(id);
      const s = new Source();
      s.signal = signal;
      s.opts = o;
      sources.set(id, s);
      return s;
    },
    send: (c) => {
      if (opts.sendOk && !opts.sendOk()) return false;
      sent.push(c);
      return true;
    },
    log,
  };
  const streamer = new LogStreamer(deps, { coalesceMs: 0, ...opts.limits });
  const source = async (id = 'c-app') => {
    for (let i = 0; i < 100 && !sources.has(id); i++) await tick();
    return sources.get(id)!;
  };
  const ended = async (requestId: string) => {
    for (let i = 0; i < 200; i++) {
      const end = sent.find((c) => c.requestId === requestId && c.end);
      if (end) return end;
      await tick();
    }
    throw new Error(`no end chunk for ${requestId}`);
  };
  return { streamer, sent, source, opened, ended, sources };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 1));
const data = (sent: LogsChunk[], id = 'r1') => sent.filter((c) => c.requestId === id && !c.end).map((c) => [c.stream, c.data.toString()]);

describe('LogStreamer', () => {
  it("sends a container's output as chunks and ends with one end chunk naming the container", async () => {
    const { streamer, sent, source, ended } = setup();
    streamer.start(request('r1', { tail: 10, since: new Date(5000), timestamps: true }));
    const s = await source();
    expect(s.opts).toEqual({ tail: 10, since: new Date(5000), follow: true, timestamps: true });
    s.push('stdout', 'hello\n');
    s.push('stderr', 'oops\n');
    s.end();
    const end = await ended('r1');
    expect(data(sent)).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
    ]);
    expect(end).toEqual({ requestId: 'r1', data: Buffer.alloc(0), stream: '', end: true, error: '', containerName: 'app' });
    expect(sent.filter((c) => c.end)).toHaveLength(1);
    expect(sent.every((c) => c.containerName === 'app')).toBe(true);
    expect(streamer.size).toBe(0);
  });

  it('cuts large output into chunks of at most 64 KiB', async () => {
    const { streamer, sent, source, ended } = setup();
    streamer.start(request('r1'));
    const s = await source();
    const big = Buffer.alloc(150 * 1024, 0x62);
    s.push('stdout', big);
    s.end();
    await ended('r1');
    const sizes = sent.filter((c) => !c.end).map((c) => c.data.length);
    expect(sizes).toEqual([64 * 1024, 64 * 1024, 22 * 1024]);
    expect(Buffer.concat(sent.map((c) => c.data)).equals(big)).toBe(true);
  });

  it('joins small frames of one stream within the coalescing window, and never across streams', async () => {
    const { streamer, sent, source, ended } = setup({ limits: { coalesceMs: 30 } });
    streamer.start(request('r1'));
    const s = await source();
    for (let i = 0; i < 5; i++) s.push('stdout', `line ${i}\n`);
    s.push('stderr', 'err\n');
    s.push('stdout', 'after\n');
    await new Promise((r) => setTimeout(r, 80)); // the window passes while the source is quiet: sent without an end
    expect(data(sent)).toEqual([
      ['stdout', 'line 0\nline 1\nline 2\nline 3\nline 4\n'],
      ['stderr', 'err\n'],
      ['stdout', 'after\n'],
    ]);
    expect(sent.some((c) => c.end)).toBe(false);
    s.end();
    await ended('r1');
  });

  it('ends with the reason when the container cannot be found or the read fails', async () => {
    const { streamer, sent, source, ended } = setup({
      find: async (_t, name) => (name === 'gone' ? { error: 'no container gone of task t on this node' } : { id: `c-${name}`, containerName: name }),
    });
    streamer.start(request('missing', { containerName: 'gone' }));
    expect(await ended('missing')).toMatchObject({ end: true, error: 'no container gone of task t on this node', containerName: 'gone' });

    streamer.start(request('r1'));
    const s = await source();
    s.push('stdout', 'partial\n');
    s.fail('(HTTP code 500) server error - engine went away');
    expect(await ended('r1')).toMatchObject({ error: '(HTTP code 500) server error - engine went away' });
    expect(data(sent)).toEqual([['stdout', 'partial\n']]);
  });

  it('stops a stream on cancel: the source sees the abort, and the end chunk carries no error', async () => {
    const { streamer, sent, source, ended } = setup();
    streamer.start(request('r1'));
    const s = await source();
    s.push('stdout', 'one\n');
    await tick();
    streamer.cancel('r1');
    expect(s.signal!.aborted).toBe(true);
    s.push('stdout', 'two\n');
    expect(await ended('r1')).toMatchObject({ end: true, error: '' });
    expect(data(sent)).toEqual([['stdout', 'one\n']]);
    streamer.cancel('r1'); // unknown by now: nothing happens
    streamer.cancel('never');
  });

  it('refuses a ninth concurrent stream, and takes new ones once others end', async () => {
    const { streamer, source, ended, sent } = setup({ find: async (_t, name) => ({ id: `c-${name}`, containerName: name }) });
    for (let i = 0; i < 8; i++) streamer.start(request(`r${i}`, { containerName: `c${i}` }));
    expect(streamer.size).toBe(8);
    streamer.start(request('r8', { containerName: 'c8' }));
    expect(await ended('r8')).toMatchObject({ end: true, error: expect.stringContaining('too many log streams') });
    expect(sent.filter((c) => c.requestId === 'r8')).toHaveLength(1);

    (await source('c-c0')).end();
    await ended('r0');
    streamer.start(request('r9', { containerName: 'c9' }));
    expect(await source('c-c9')).toBeDefined();
    expect(streamer.size).toBe(8);
    streamer.cancelAll();
    for (let i = 1; i < 10; i++) if (i !== 8) await ended(`r${i}`);
    expect(streamer.size).toBe(0);
  });

  it('stops a stream whose chunks cannot be sent (session down), without trying to send more', async () => {
    let up = true;
    let attempts = 0;
    const { streamer, sent, source } = setup({ sendOk: () => (attempts++, up) });
    streamer.start(request('r1'));
    const s = await source();
    s.push('stdout', 'a\n');
    await tick();
    up = false;
    s.push('stdout', 'b\n');
    for (let i = 0; i < 50 && streamer.size > 0; i++) await tick();
    expect(streamer.size).toBe(0);
    expect(s.signal!.aborted).toBe(true);
    expect(data(sent)).toEqual([['stdout', 'a\n']]);
    expect(attempts).toBe(2); // 'a', then 'b' failed; no end chunk tried on a dead session
  });

  it('ignores a second request with an id already streaming', async () => {
    const { streamer, source, opened } = setup();
    streamer.start(request('r1'));
    await source();
    streamer.start(request('r1'));
    await tick();
    expect(opened).toEqual(['c-app']);
    streamer.cancelAll();
  });
});

describe('ChunkWriter', () => {
  it('flushes on a stream change, on size, and on flush(); drops what is pending on close', () => {
    const got: string[] = [];
    const w = new ChunkWriter({ maxChunkBytes: 4, coalesceMs: 1000 }, (s, d) => got.push(`${s}:${d.toString()}`));
    w.push('stdout', Buffer.from('ab'));
    w.push('stdout', Buffer.from('cdefghi'));
    expect(got).toEqual(['stdout:abcd', 'stdout:efgh']);
    w.push('stderr', Buffer.from('x'));
    expect(got).toEqual(['stdout:abcd', 'stdout:efgh', 'stdout:i']);
    w.flush();
    expect(got.at(-1)).toBe('stderr:x');
    w.push('stdout', Buffer.from('zz'));
    w.close();
    w.flush();
    expect(got).toHaveLength(4);
  });
});
