import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentServiceService, ControlServiceService, PROTOCOL_VERSION } from '@berth/proto';
import { seededRandom } from '@berth/scheduler';
import { credentials, makeGenericClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';
import { hello } from './test-support/scripted-agent.js';

/**
 * Fuzzing the two ways in for a fixed time (BERTH_FUZZ_SECONDS, default 6 per
 * part): random bytes as every control request and as agent stream frames,
 * and well-formed but absurd requests. The control plane must answer each
 * with a client error (never INTERNAL or UNKNOWN, never a crash), stay
 * healthy, and change no state on absurd input.
 */
const SECONDS = Number(process.env.BERTH_FUZZ_SECONDS ?? 6);
const log = pino({ level: 'silent' });
const CLIENT_ERRORS = new Set([status.INVALID_ARGUMENT, status.NOT_FOUND, status.FAILED_PRECONDITION, status.ALREADY_EXISTS, status.OUT_OF_RANGE, status.UNIMPLEMENTED]);

/** A client that sends raw bytes to every method of a service (no serialization). */
function rawClient(def: Record<string, { path: string; requestStream: boolean; responseStream: boolean }>, target: string): Client & Record<string, (...args: unknown[]) => unknown> {
  const raw: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(def)) {
    raw[name] = { ...m, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  }
  const Ctor = makeGenericClientConstructor(raw as never, 'Raw');
  return new Ctor(target, credentials.createInsecure()) as never;
}

describe('fuzz', () => {
  let cp: ControlPlane;
  let dataDir: string;
  let target: string;
  const rnd = seededRandom(Number(process.env.BERTH_FUZZ_SEED ?? 20261125));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-fuzz-'));
    cp = await startControlPlane({
      listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 1000, resyncIntervalMs: 60_000,
      random: { next: Math.random, bytes: (n) => randomBytes(n) }, log,
    });
    target = `127.0.0.1:${cp.grpcPort}`;
  });
  afterAll(async () => {
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const snapshot = async () => {
    const out: Record<string, number> = {};
    for (const t of ['clusters', 'nodes', 'task_definitions', 'tasks', 'services', 'deployments', 'secrets', 'roles']) {
      out[t] = Number((await cp.db.sql`SELECT count(*)::int AS n FROM ${cp.db.sql(t)}`)[0]!.n);
    }
    return out;
  };
  const bytes = (max: number) => Buffer.from(Array.from({ length: Math.floor(rnd() * max) }, () => Math.floor(rnd() * 256)));
  const healthy = async () => (await fetch(`http://127.0.0.1:${cp.httpPort}/readyz`)).ok;

  it('random bytes as every control request: client errors only, still healthy', async () => {
    const client = rawClient(ControlServiceService as never, target);
    const unary = Object.entries(ControlServiceService).filter(([, m]) => !m.requestStream && !m.responseStream).map(([n]) => n);
    const seen = new Map<number, number>();
    const until = Date.now() + SECONDS * 1000;
    let calls = 0;
    while (Date.now() < until) {
      const method = unary[Math.floor(rnd() * unary.length)]!;
      const payload = bytes(rnd() < 0.1 ? 4096 : 64);
      const code = await new Promise<number>((resolve) =>
        (client[method] as (r: Buffer, o: object, cb: (e: ServiceError | null) => void) => void)(payload, { deadline: new Date(Date.now() + 5000) }, (err) => resolve(err ? err.code : status.OK)),
      );
      seen.set(code, (seen.get(code) ?? 0) + 1);
      expect([status.INTERNAL, status.UNKNOWN, status.DEADLINE_EXCEEDED, status.UNAVAILABLE], `${method} answered ${status[code]}`).not.toContain(code);
      calls++;
    }
    client.close();
    expect(calls).toBeGreaterThan(50);
    expect(await healthy()).toBe(true);
  }, (SECONDS + 30) * 1000);

  it('well-formed but absurd control requests: refused, nothing written', async () => {
    const before = await snapshot();
    const control = rawClient(ControlServiceService as never, target);
    const absurdStrings = ['', ' ', '../../etc/passwd', 'a/b', '\u0000', '\u202e', 'x'.repeat(70_000), '{"__proto__":{"polluted":1}}', 'arn:aws:ecs:x:y:cluster/', 'default; DROP TABLE tasks', '%s%n', '🚀'];
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const absurd: [string, () => object][] = [
      ['createCluster', () => ({ clusterName: pick(absurdStrings) })],
      ['registerTaskDefinition', () => ({ taskDefinitionJson: pick([...absurdStrings, JSON.stringify({ family: 'x', containerDefinitions: [{ name: '../x', image: 'a b', memory: -1 }] }), '['.repeat(5000), JSON.stringify({ family: 'f', containerDefinitions: [{ name: 'a', image: 'i', memory: 1e308, secrets: [{ name: 'X', valueFrom: 'berth:secret/../../x' }] }] })]) })],
      ['runTask', () => ({ cluster: pick(absurdStrings), taskDefinition: pick(absurdStrings), count: pick([0, 11, 4294967295]) })],
      ['stopTask', () => ({ task: pick(absurdStrings) })],
      ['createService', () => ({ serviceJson: pick([...absurdStrings, JSON.stringify({ serviceName: 'x', taskDefinition: 'nope', desiredCount: 1e9 }), JSON.stringify({ serviceName: '../x' })]) })],
      ['updateService', () => ({ updateJson: pick([...absurdStrings, JSON.stringify({ service: 'nope', desiredCount: -5 })]) })],
      ['deleteService', () => ({ service: pick(absurdStrings) })],
      ['putSecret', () => ({ name: pick(absurdStrings), value: Buffer.alloc(Math.floor(rnd() * 3) * 40_000) })],
      ['deleteSecret', () => ({ name: pick(absurdStrings) })],
      ['putRole', () => ({ name: pick(absurdStrings), secrets: [pick(absurdStrings)] })],
      ['updateContainerInstancesState', () => ({ containerInstances: [pick(absurdStrings)], status: pick(['ACTIVE', 'BOGUS', '']) })],
      ['deregisterContainerInstance', () => ({ containerInstance: pick(absurdStrings) })],
      ['describeTasks', () => ({ tasks: Array.from({ length: pick([0, 101]) }, () => pick(absurdStrings)) })],
      ['listTasks', () => (rnd() < 0.5 ? { nextToken: pick(absurdStrings.filter((x) => x.trim() !== '')) } : { desiredStatus: pick(absurdStrings.filter((x) => x.trim() !== '')) })],
      ['updateClusterSettings', () => ({ cluster: 'default', settings: [{ name: 'nodeLostGraceSeconds', value: pick(['-1', '1e9', 'NaN', 'abc']) }] })],
    ];
    const proto = await import('@berth/proto');
    const until = Date.now() + SECONDS * 1000;
    let calls = 0;
    while (Date.now() < until) {
      const [method, make] = pick(absurd);
      const type = (proto as unknown as Record<string, { encode(m: unknown): { finish(): Uint8Array }; fromPartial(o: unknown): unknown }>)[`${method[0]!.toUpperCase()}${method.slice(1)}Request`]!;
      const payload = Buffer.from(type.encode(type.fromPartial(make())).finish());
      const code = await new Promise<number>((resolve) =>
        (control[method] as (r: Buffer, o: object, cb: (e: ServiceError | null) => void) => void)(payload, { deadline: new Date(Date.now() + 5000) }, (err) => resolve(err ? err.code : status.OK)),
      );
      // ECS batch operations answer OK with per-item failures (e.g. a node that does not exist).
      const ok = CLIENT_ERRORS.has(code) || (code === status.OK && method === 'updateContainerInstancesState');
      expect(ok, `${method} answered ${status[code]}`).toBe(true);
      calls++;
    }
    control.close();
    expect(calls).toBeGreaterThan(50);
    expect(await snapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await healthy()).toBe(true);
  }, (SECONDS + 30) * 1000);

  it('random frames and absurd messages on the agent stream: the stream is refused, nothing written, still healthy', async () => {
    const before = await snapshot();
    const agent = rawClient(AgentServiceService as never, target);
    const proto = await import('@berth/proto');
    const until = Date.now() + SECONDS * 1000;
    let streams = 0;
    while (Date.now() < until) {
      const stream = (agent.connect as () => { write(b: Buffer): void; end(): void; on(e: string, f: (x: unknown) => void): void })();
      const ended = new Promise<void>((resolve) => {
        stream.on('error', () => resolve());
        stream.on('status', () => resolve());
        stream.on('data', () => undefined);
      });
      const frames = rnd() < 0.5
        ? [bytes(256), bytes(256)]
        : [
            // A hello that is absurd: an unknown protocol, another node's id, an unknown cluster, huge numbers.
            Buffer.from(proto.ConnectRequest.encode({ message: { $case: 'hello', value: hello({ protocolVersion: rnd() < 0.5 ? 9999 : PROTOCOL_VERSION, nodeId: rnd() < 0.5 ? '../../x' : 'n-' + 'f'.repeat(200), cluster: rnd() < 0.5 ? 'no-such-cluster' : '../x', facts: { ...hello().facts!, registeredCpu: 2 ** 31, registeredMemoryMib: 0 } }) } }).finish()),
            Buffer.from(proto.ConnectRequest.encode({ message: { $case: 'taskStatus', value: { tasks: [{ taskId: 'f'.repeat(32), lastStatus: 'RUNNING', containers: [], stopCode: '', stoppedReason: '', warnings: [], healthStatus: '', at: new Date(0) }] } } }).finish()),
          ];
      for (const f of frames) stream.write(f);
      stream.end();
      await Promise.race([ended, new Promise((r) => setTimeout(r, 3000))]);
      streams++;
    }
    agent.close();
    expect(streams).toBeGreaterThan(10);
    expect(await snapshot()).toEqual(before);
    expect(await healthy()).toBe(true);
  }, (SECONDS + 60) * 1000);
});
