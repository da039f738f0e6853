import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './tcp-proxy.js';

/** An echo server on 127.0.0.1 behind the proxy. */
describe('TcpProxy', () => {
  let echo: Server;
  let proxy: TcpProxy;
  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = await TcpProxy.start((echo.address() as { port: number }).port);
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  const open = async () => {
    const s = connect(proxy.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return s;
  };
  const roundTrip = (s: Socket, text: string, ms = 300) =>
    new Promise<string | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), ms);
      s.once('data', (d) => {
        clearTimeout(t);
        resolve(String(d));
      });
      s.write(text);
    });

  it('forwards, cuts, blackholes and restores', async () => {
    const a = await open();
    expect(await roundTrip(a, 'hello')).toBe('hello');

    proxy.blackhole();
    let closed = false;
    a.on('close', () => (closed = true));
    expect(await roundTrip(a, 'lost')).toBeUndefined();
    expect(closed).toBe(false);
    const hung = await open();
    expect(await roundTrip(hung, 'also lost')).toBeUndefined();

    proxy.restore();
    // A connection made during the blackhole was only delayed: it passes now.
    expect(await new Promise((r) => hung.once('data', (d) => r(String(d))))).toBe('also lost');
    const b = await open();
    expect(await roundTrip(b, 'again')).toBe('again');
    expect(await roundTrip(a, 'still lost')).toBeUndefined();

    proxy.cut();
    await new Promise((r) => b.once('close', r));
    const c = connect(proxy.port, '127.0.0.1');
    c.on('error', () => {});
    await new Promise((r) => c.once('close', r));
    proxy.restore();
    const d = await open();
    expect(await roundTrip(d, 'back')).toBe('back');
    for (const s of [a, hung, d]) s.destroy();
  });
});
