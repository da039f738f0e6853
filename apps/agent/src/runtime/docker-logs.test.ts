import { describe, expect, it } from 'vitest';
import { demuxDockerLogs, dockerLogsQuery, initialDemuxState, type DemuxState, type LogFrame } from './docker-logs.js';

/** One multiplexed frame: type, three zero bytes, length (uint32 BE), payload. */
function frame(type: 1 | 2, text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Feeds the chunks through the demultiplexer; returns every frame and the final state. */
function feed(chunks: Buffer[]): { frames: LogFrame[]; state: DemuxState } {
  let state = initialDemuxState();
  const frames: LogFrame[] = [];
  for (const c of chunks) {
    const r = demuxDockerLogs(state, c);
    state = r.state;
    frames.push(...r.frames);
  }
  return { frames, state };
}

/** What each stream received, whatever the piece boundaries. */
function byStream(frames: LogFrame[]): { stdout: string; stderr: string; order: string } {
  const out = { stdout: '', stderr: '', order: '' };
  for (const f of frames) {
    out[f.stream] += f.data.toString();
    if (!out.order.endsWith(f.stream[3]!)) out.order += f.stream[3]; // o / e: stream changes in order
  }
  return out;
}

describe('demuxDockerLogs', () => {
  const whole = Buffer.concat([frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, 'world\n'), frame(1, 'again\n')]);

  it('splits a whole buffer into stdout and stderr frames, joining adjacent frames of one stream', () => {
    const { frames, state } = feed([whole]);
    expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
      ['stdout', 'world\nagain\n'],
    ]);
    expect(state).toMatchObject({ header: Buffer.alloc(0), remaining: 0, raw: false });
  });

  it('gives the same output however the bytes are split: inside headers, inside payloads, one byte at a time', () => {
    const expected = { stdout: 'hello\nworld\nagain\n', stderr: 'oops\n', order: 'oeo' };
    for (let cut = 1; cut < whole.length; cut++) {
      expect(byStream(feed([whole.subarray(0, cut), whole.subarray(cut)]).frames)).toEqual(expected);
    }
    const bytes = [...whole].map((b) => Buffer.from([b]));
    expect(byStream(feed(bytes).frames)).toEqual(expected);
    // Three-way splits through the second header.
    for (let a = 8; a < 20; a++) {
      for (let b = a + 1; b < 26; b++) expect(byStream(feed([whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)]).frames)).toEqual(expected);
    }
  });

  it('hands out a large payload as it arrives, and carries the rest of the frame over', () => {
    const big = Buffer.alloc(100_000, 0x61);
    const f = frame(2, big);
    const first = demuxDockerLogs(initialDemuxState(), f.subarray(0, 50_008));
    expect(first.frames).toEqual([{ stream: 'stderr', data: big.subarray(0, 50_000) }]);
    expect(first.state).toMatchObject({ stream: 'stderr', remaining: 50_000 });
    const second = demuxDockerLogs(first.state, f.subarray(50_008));
    expect(second.frames[0]!.data.length).toBe(50_000);
    expect(second.state.remaining).toBe(0);
  });

  it('keeps a partial header for the next chunk without changing the state it was given', () => {
    const s0 = initialDemuxState();
    const r = demuxDockerLogs(s0, frame(1, 'x').subarray(0, 5));
    expect(r.frames).toEqual([]);
    expect(r.state.header.length).toBe(5);
    expect(s0.header.length).toBe(0);
    expect(demuxDockerLogs(r.state, frame(1, 'x').subarray(5)).frames).toEqual([{ stream: 'stdout', data: Buffer.from('x') }]);
  });

  it('passes binary payloads through untouched, and skips empty frames', () => {
    const bin = Buffer.from([0x00, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a]);
    expect(feed([Buffer.concat([frame(1, ''), frame(1, bin)])]).frames).toEqual([{ stream: 'stdout', data: bin }]);
  });

  it('treats a stream that is not multiplexed (a TTY container) as raw stdout', () => {
    const { frames, state } = feed([Buffer.from('plain text\n'), Buffer.from('more\n')]);
    expect(state.raw).toBe(true);
    expect(byStream(frames)).toEqual({ stdout: 'plain text\nmore\n', stderr: '', order: 'o' });
  });
});

describe('dockerLogsQuery', () => {
  it('asks for both streams, tail and since in unix seconds, and leaves out what was not given', () => {
    expect(dockerLogsQuery({ follow: true, timestamps: false })).toEqual({ stdout: true, stderr: true, timestamps: false });
    expect(dockerLogsQuery({ follow: false, timestamps: true, tail: 0, since: new Date('2026-01-01T00:00:10.900Z') })).toEqual({
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: 0,
      since: Date.parse('2026-01-01T00:00:10Z') / 1000,
    });
  });
});
