import { BerthError } from '@berth/domain';
import type { GetTaskLogsResponse, LogsChunk, LogsRequest } from '@berth/proto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { forwardLogs, LogsBufferFull, LogsRouter, type LogsConsumer, type LogsOutput, type LogsSession } from './task-logs.js';

const log = pino({ level: 'silent' });

function fakeSession() {
  const s = {
    consumer: undefined as LogsConsumer | undefined,
    cancelled: [] as string[],
    up: true,
    requestLogs(_r: LogsRequest, c: LogsConsumer) {
      if (!s.up) return false;
      s.consumer = c;
      return true;
    },
    cancelLogs(id: string) {
      s.cancelled.push(id);
    },
    chunk(data: string, more: Partial<LogsChunk> = {}) {
      s.consumer!.chunk({ requestId: 'r1', data: Buffer.from(data), stream: 'stdout', end: false, error: '', containerName: '', ...more });
    },
  };
  return s satisfies LogsSession;
}

/** An output whose receiver takes `room` responses, then is full until drain(). */
function fakeOutput(room = Infinity) {
  const o = {
    written: [] as GetTaskLogsResponse[],
    room,
    opened: false,
    drains: [] as (() => void)[],
    write(r: GetTaskLogsResponse) {
      o.written.push(r);
      o.room--;
      return o.room > 0;
    },
    onDrain(fn: () => void) {
      o.drains.push(fn);
    },
    drain(room: number) {
      o.room = room;
      const fns = o.drains.splice(0);
      fns.forEach((f) => f());
    },
    open() {
      o.opened = true;
    },
  };
  const out: LogsOutput = { write: o.write, onDrain: o.onDrain, opened: o.open };
  return { o, out };
}

const request: LogsRequest = { requestId: 'r1', taskId: 't'.repeat(32), containerName: 'app', tail: undefined, since: undefined, follow: true, timestamps: false };
const target = (session: LogsSession) => ({ session, nodeId: 'n-1', taskStopped: false, request });

describe('forwardLogs', () => {
  it('forwards chunks, names the container, and resolves on the end chunk', async () => {
    const s = fakeSession();
    const { o, out } = fakeOutput();
    const done = forwardLogs(target(s), out, new AbortController().signal, log);
    expect(o.opened).toBe(true);
    s.chunk('a\n');
    s.chunk('b\n', { stream: 'stderr', containerName: 'other' });
    s.chunk('', { end: true });
    await done;
    expect(o.written.map((w) => [w.stream, w.containerName, w.data.toString()])).toEqual([
      ['stdout', 'app', 'a\n'],
      ['stderr', 'other', 'b\n'],
    ]);
  });

  it('holds chunks while the reader is full, sends them in order on drain, and ends after them', async () => {
    const s = fakeSession();
    const { o, out } = fakeOutput(1);
    let ended = false;
    const done = forwardLogs(target(s), out, new AbortController().signal, log).then(() => (ended = true));
    s.chunk('1');
    s.chunk('2');
    s.chunk('3');
    s.chunk('', { end: true });
    await Promise.resolve();
    expect(o.written.map((w) => w.data.toString())).toEqual(['1']);
    expect(ended).toBe(false);
    o.drain(1);
    expect(o.written.map((w) => w.data.toString())).toEqual(['1', '2']);
    o.drain(10);
    await done;
    expect(o.written.map((w) => w.data.toString())).toEqual(['1', '2', '3']);
  });

  it('ends with LogsBufferFull and cancels the agent stream when a slow reader falls more than the cap behind', async () => {
    const s = fakeSession();
    const { out } = fakeOutput(1);
    const done = forwardLogs(target(s), out, new AbortController().signal, log, 1000);
    s.chunk('x'); // taken; the reader is now full
    for (let i = 0; i < 10; i++) s.chunk('y'.repeat(100)); // 1000 bytes held: at the cap, not over
    expect(s.cancelled).toEqual([]);
    s.chunk('z');
    await expect(done).rejects.toBeInstanceOf(LogsBufferFull);
    await expect(done).rejects.toThrow('the reader is too slow: more than 1000 bytes of logs are waiting to be sent; ask for less (--tail, --since) or read faster');
    expect(s.cancelled).toEqual(['r1']);
  });

  it('cancels the agent stream when the caller goes away', async () => {
    const s = fakeSession();
    const { out } = fakeOutput();
    const abort = new AbortController();
    const done = forwardLogs(target(s), out, abort.signal, log);
    abort.abort();
    await done;
    expect(s.cancelled).toEqual(['r1']);
  });

  it('fails UNAVAILABLE when the session drops, and says why when the agent could not read', async () => {
    const s = fakeSession();
    const { out } = fakeOutput();
    const dropped = forwardLogs(target(s), out, new AbortController().signal, log);
    s.consumer!.sessionClosed('the agent ended its stream');
    await expect(dropped).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('disconnected while streaming logs (the agent ended its stream)') });

    const failed = forwardLogs({ ...target(s), taskStopped: true }, out, new AbortController().signal, log);
    s.chunk('', { end: true, error: 'no such container' });
    const err = await failed.catch((e: BerthError) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).message).toMatch(/STOPPED.*logs of stopped tasks are not kept on the node.*no such container$/);

    s.up = false;
    await expect(forwardLogs(target(s), out, new AbortController().signal, log)).rejects.toMatchObject({ kind: 'unavailable' });
  });
});

describe('LogsRouter', () => {
  it('routes by request id, forgets a stream at its end, and tells every open stream when the session closes', () => {
    const r = new LogsRouter();
    const got: string[] = [];
    const consumer = (name: string): LogsConsumer => ({ chunk: (c) => got.push(`${name}:${c.data.toString()}${c.end ? ':end' : ''}`), sessionClosed: (why) => got.push(`${name}:closed:${why}`) });
    r.add('a', consumer('a'));
    r.add('b', consumer('b'));
    const chunk = (requestId: string, data: string, end = false): LogsChunk => ({ requestId, data: Buffer.from(data), stream: 'stdout', end, error: '', containerName: '' });
    expect(r.route(chunk('a', '1'))).toBe(true);
    expect(r.route(chunk('a', '2', true))).toBe(true);
    expect(r.route(chunk('a', '3'))).toBe(false);
    expect(r.route(chunk('zzz', '?'))).toBe(false);
    r.closeAll('gone');
    expect(r.size).toBe(0);
    expect(got).toEqual(['a:1', 'a:2:end', 'b:closed:gone']);
  });
});
