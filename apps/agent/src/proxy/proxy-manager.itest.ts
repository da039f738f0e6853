import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxySnapshot, TargetHealth } from '@berth/proto';
import { requireOrSkip } from '@berth/testing';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { action, backend, forward, frontend, server, snapshot } from './fixtures.test-helpers.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import { checkConfig, findHaproxy, isAlive } from './haproxy-process.js';
import { ProxyManager } from './proxy-manager.js';
import { writeAtomically } from './snapshot-file.js';

// The real HAProxy (Debian's haproxy package). Under CI=true a missing one fails the suite.
let bin = '';
try {
  bin = findHaproxy(process.env.BERTH_TEST_HAPROXY ?? 'haproxy');
} catch {
  bin = '';
}
const run = requireOrSkip('HAProxy', bin !== '', 'apt install haproxy');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function freePort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A tiny backend: answers its name; /health per `healthy`; /stream sends 10 chunks over `ms`. */
interface Backend {
  name: string;
  port: number;
  healthy: boolean;
  server: Server;
}
async function startBackend(name: string): Promise<Backend> {
  const b = { name, port: 0, healthy: true } as Backend;
  b.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') {
      res.writeHead(b.healthy ? 200 : 503).end(b.healthy ? 'ok' : 'sick');
      return;
    }
    res.setHeader('x-server', name);
    if (req.url?.startsWith('/stream')) {
      const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 1000);
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => {
        res.write(`chunk${n}\n`);
        if (++n === 10) {
          clearInterval(t);
          res.end();
        }
      }, ms / 10);
      return;
    }
    res.end(name);
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

async function hit(port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.headers.get('x-server') ?? `status ${res.status}`;
}

/** n requests, `parallel` at a time: how many each server answered. */
async function spread(port: number, n: number, parallel = 20): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let left = n;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) {
        const who = await hit(port);
        counts[who] = (counts[who] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

/** A streaming request, started: resolves once its headers are in, with who answers and the whole body later. */
async function openStream(port: number, ms: number): Promise<{ server: string; body: Promise<string> }> {
  const res = await fetch(`http://127.0.0.1:${port}/stream?ms=${ms}`);
  return { server: res.headers.get('x-server') ?? '', body: res.text() };
}

describe.runIf(run)('ProxyManager with the real HAProxy', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-proxy-'));
  const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  const reports: TargetHealth[][] = [];
  const newManager = () => new ProxyManager({ dataDir, haproxy: bin, log, onHealth: (t) => reports.push(t), pollMs: 200 });
  let manager = newManager();
  const backends: Backend[] = [];
  let a1: Backend, a2: Backend, a3: Backend, b1: Backend;
  let p1 = 0;
  let p2 = 0;
  let current: ProxySnapshot;
  const tgA = (servers: Backend[], draining: string[] = []) =>
    backend({ id: 'tg-a', servers: servers.map((b) => server('127.0.0.1', b.port, { state: draining.includes(b.name) ? 'draining' : 'active' })), healthCheck: { protocol: 'HTTP', path: '/health', port: 0, intervalSeconds: 1, timeoutSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200-299' } });

  /** New servers take traffic only once their checks pass (rise 2 at 1 s): wait for the manager to say so. */
  const healthy = (ports: number[], ms = 10_000) =>
    waitFor(`servers ${ports.join(', ')} healthy`, () => (ports.every((p) => manager.health().some((t) => t.serverId === `127.0.0.1:${p}` && t.state === 'healthy')) ? true : undefined), ms);

  afterAll(async () => {
    await manager.stop({ stopHaproxy: true });
    for (const b of backends) b.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('accepts every construct the renderer writes (haproxy -c)', async () => {
    const s = snapshot(
      1,
      [
        frontend({
          id: 'l 1',
          port: 1,
          rules: [
            { priority: 1, hostHeaders: ['*.example.com', 'a.test'], pathPatterns: ['/api/*', '/v?/x*y', '/exact'], httpRequestMethods: ['GET'], sourceIps: ['10.0.0.0/8', '127.0.0.1/32'], httpHeaders: [{ name: 'X-Env', values: ['prod*', "it's"] }], queryStrings: ['v=2', '=beta*'], action: forward(['tg-a', 90], ['tg-b', 10]) },
            { priority: 2, hostHeaders: [], pathPatterns: ['/teapot'], httpRequestMethods: [], sourceIps: [], httpHeaders: [], queryStrings: [], action: action({ type: 'fixed-response', statusCode: 418, contentType: 'text/plain', messageBody: 'a "b" $c #d \\e' }) },
            { priority: 3, hostHeaders: [], pathPatterns: ['/old'], httpRequestMethods: [], sourceIps: [], httpHeaders: [], queryStrings: [], action: action({ type: 'redirect', statusCode: 301, location: 'https://x.test/100%' }) },
          ],
          defaultAction: forward(['tg-a', 1]),
        }),
        frontend({ id: 'tcp', port: 2, protocol: 'TCP', defaultAction: forward(['tg-tcp', 3], ['tg-tcp2', 1]) }),
      ],
      [tgA([]), backend({ id: 'tg-b', slowStartSeconds: 30, servers: [server('127.0.0.1', 3)] }), backend({ id: 'tg-tcp', protocol: 'TCP', healthCheck: undefined, servers: [server('127.0.0.1', 4)] }), backend({ id: 'tg-tcp2', protocol: 'TCP', algorithm: 'leastconn', servers: [] })],
    );
    const file = join(dataDir, 'check.cfg');
    writeAtomically(file, renderHaproxyConfig(s, { statsSocket: join(dataDir, 'check.sock') }));
    expect(await checkConfig(bin, file)).toBeUndefined();
  });

  it('serves a snapshot: one HTTP listener balancing over two servers', async () => {
    for (const n of ['a1', 'a2', 'a3', 'b1']) backends.push(await startBackend(n));
    [a1, a2, a3, b1] = backends as [Backend, Backend, Backend, Backend];
    p1 = await freePort();
    current = snapshot(1, [frontend({ id: 'l1', port: p1, defaultAction: forward(['tg-a', 1]) })], [tgA([a1, a2])]);
    await manager.start();
    await manager.apply(current);
    expect(manager.current()?.version).toBe(1);
    // Not before its first checks pass: a new server gets no traffic until it is healthy.
    expect(await hit(p1)).toBe('status 503');
    await healthy([a1.port, a2.port]);
    const counts = await spread(p1, 40, 4);
    expect(counts).toEqual({ a1: 20, a2: 20 });
  });

  it('adds a server without a reload (same worker)', async () => {
    const worker = await manager.runtime.workerPid();
    const master = manager.pid();
    current = { ...current, version: 2, backends: [tgA([a1, a2, a3])] };
    await manager.apply(current);
    expect(await manager.runtime.workerPid()).toBe(worker);
    expect(manager.pid()).toBe(master);
    expect((await spread(p1, 20, 2)).a3).toBeUndefined();
    await healthy([a3.port]);
    const counts = await waitFor('a3 to take requests', async () => {
      const c = await spread(p1, 30, 3);
      return (c.a3 ?? 0) > 0 ? c : undefined;
    });
    expect(counts).toEqual({ a1: 10, a2: 10, a3: 10 });
  });

  it('takes an unhealthy server out and reports it unhealthy with HAProxy\'s reason', async () => {
    a2.healthy = false;
    const seen = await waitFor('a2 reported unhealthy', () => reports.at(-1)?.find((t) => t.serverId === `127.0.0.1:${a2.port}` && t.state === 'unhealthy'), 10_000);
    expect(seen).toEqual({ backendId: 'tg-a', serverId: `127.0.0.1:${a2.port}`, state: 'unhealthy', reason: 'L7STS 503' });
    a2.healthy = true; // for what follows: it comes back after 2 good checks
    expect(reports.at(-1)!.filter((t) => t.state === 'unhealthy').map((t) => t.serverId)).toEqual([`127.0.0.1:${a2.port}`]);
    const counts = await spread(p1, 30, 3);
    expect(counts.a2).toBeUndefined();
    expect((counts.a1 ?? 0) + (counts.a3 ?? 0)).toBe(30);
  });

  it('drains a server: no new requests to it, the open one finishes', async () => {
    const open = await openStream(p1, 1500);
    const drained = backends.find((b) => b.name === open.server)!;
    const worker = await manager.runtime.workerPid();
    current = { ...current, version: 3, backends: [tgA([a1, a2, a3], [drained.name])] };
    await manager.apply(current);
    expect(await manager.runtime.workerPid()).toBe(worker);
    const counts = await spread(p1, 30, 3);
    expect(counts[drained.name]).toBeUndefined();
    expect(await open.body).toBe(Array.from({ length: 10 }, (_, i) => `chunk${i}\n`).join(''));
    expect(manager.health().find((t) => t.serverId === `127.0.0.1:${drained.port}`)?.state).toBe('draining');
    // Undrained again, then a3 removed: set to maintenance and deleted once it has no sessions.
    current = { ...current, version: 4, backends: [tgA([a1, a2])] };
    await manager.apply(current);
    expect(await manager.runtime.workerPid()).toBe(worker);
    await waitFor('a3 deleted from HAProxy', async () => !(await manager.runtime.showStat()).some((r) => r.svname === `127.0.0.1:${a3.port}`));
    await waitFor('a2 healthy again', () => manager.health().find((t) => t.serverId === `127.0.0.1:${a2.port}`)?.state === 'healthy');
    expect(await spread(p1, 20, 2)).toEqual({ a1: 10, a2: 10 });
  });

  it('adds a second listener with a 90/10 weighted forward by a seamless reload: an open stream on the first survives', async () => {
    const open = await openStream(p1, 2000);
    const worker = await manager.runtime.workerPid();
    p2 = await freePort();
    current = {
      ...current,
      version: 5,
      frontends: [...current.frontends, frontend({ id: 'l2', port: p2, defaultAction: forward(['tg-a', 90], ['tg-b', 10]) })],
      backends: [tgA([a1, a2]), backend({ id: 'tg-b', servers: [server('127.0.0.1', b1.port)] })],
    };
    await manager.apply(current);
    expect(await manager.runtime.workerPid()).not.toBe(worker);
    // a1 and a2 were healthy and stay up through the reload; b1 is new and waits for its checks.
    expect(['a1', 'a2']).toContain(await hit(p1));
    await healthy([b1.port]);
    expect(await open.body).toBe(Array.from({ length: 10 }, (_, i) => `chunk${i}\n`).join(''));
    const n = 10_000;
    const counts = await spread(p2, n, 50);
    const b = (counts.b1 ?? 0) / n;
    console.log(`weighted 90/10 over ${n} requests: tg-a ${(((counts.a1 ?? 0) + (counts.a2 ?? 0)) / n * 100).toFixed(2)}%, tg-b ${(b * 100).toFixed(2)}%`);
    expect((counts.a1 ?? 0) + (counts.a2 ?? 0) + (counts.b1 ?? 0)).toBe(n);
    expect(Math.abs(b - 0.1)).toBeLessThan(0.01);
  });

  it('refuses a snapshot whose listener port is taken, with the reason, and keeps serving the previous one', async () => {
    const taken = createTcpServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(manager.apply({ ...current, version: 6, frontends: [...current.frontends, frontend({ id: 'l3', port, defaultAction: forward(['tg-a', 1]) })] })).rejects.toThrow(`listener l3: 127.0.0.1:${port} is in use by another process`);
    } finally {
      taken.close();
    }
    expect(manager.current()?.version).toBe(5);
    expect(['a1', 'a2']).toContain(await hit(p1));
  });

  it('restarts a killed HAProxy (worker or master) within about a second, serving the same snapshot', async () => {
    for (const victim of ['worker', 'master'] as const) {
      const master = manager.pid()!;
      const pid = victim === 'worker' ? await manager.runtime.workerPid() : master;
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(`a new HAProxy after killing the ${victim}`, () => manager.pid() !== undefined && manager.pid() !== master);
      const answering = await waitFor('the listener to answer', async () => (await hit(p1).catch(() => undefined))?.startsWith('a') || undefined);
      const took = Date.now() - killedAt;
      console.log(`killed the HAProxy ${victim}: serving again after ${took} ms`);
      expect(answering).toBe(true);
      expect(took).toBeLessThan(2_000);
      expect(isAlive(master) && victim === 'master').toBe(false);
      expect(['a1', 'a2', 'b1']).toContain(await hit(p2));
    }
  });

  it('a new manager on the same data directory adopts the running HAProxy and serves the persisted snapshot', async () => {
    const master = manager.pid();
    await manager.stop(); // the agent stops: HAProxy keeps serving
    expect(isAlive(master)).toBe(true);
    expect(['a1', 'a2']).toContain(await hit(p1));
    manager = newManager();
    await manager.start();
    expect(manager.current()?.version).toBe(5);
    expect(manager.pid()).toBe(master);
    // Adopted: what was up stays up (no 503 while checks start over).
    expect(['a1', 'a2']).toContain(await hit(p1));
    expect(['a1', 'a2', 'b1']).toContain(await hit(p2));
  });

  it('a new manager with HAProxy gone starts it from the persisted snapshot', async () => {
    await manager.stop({ stopHaproxy: true });
    await expect(hit(p1)).rejects.toThrow();
    manager = newManager();
    await manager.start();
    expect(manager.pid()).toBeDefined();
    // A fresh HAProxy knows no health yet: servers are down until their checks pass.
    await healthy([a1.port, a2.port]);
    expect(['a1', 'a2']).toContain(await hit(p1));
  });

  it('an empty snapshot stops HAProxy', async () => {
    const master = manager.pid();
    await manager.apply(snapshot(7, [], []));
    expect(isAlive(master)).toBe(false);
    await expect(hit(p1)).rejects.toThrow();
    await sleep(600);
    expect(manager.pid()).toBeUndefined(); // not restarted
  });
});
