import { AgentServiceService, type ConnectRequest, type ConnectResponse, type Hello } from '@berth/proto';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlaneSession } from './control-plane-session.js';

/** A control plane on 127.0.0.1 that welcomes every hello and records the streams. */
async function fakeControlPlane() {
  const server = new Server();
  const calls: { hello: Hello; call: ServerDuplexStream<ConnectRequest, ConnectResponse>; ended: boolean; received: string[] }[] = [];
  server.addService(AgentServiceService, {
    connect: (call: ServerDuplexStream<ConnectRequest, ConnectResponse>) => {
      call.on('data', (m: ConnectRequest) => {
        const msg = m.message;
        if (msg?.$case === 'hello') {
          calls.push({ hello: msg.value, call, ended: false, received: [] });
          call.write({ message: { $case: 'welcome', value: { nodeId: 'n-1', sessionId: `s-${calls.length}`, heartbeatIntervalMs: 1000, protocolVersion: 1, controlPlaneVersion: 'test' } } });
        } else if (msg) {
          calls.find((c) => c.call === call)?.received.push(msg.$case);
        }
      });
      call.on('end', () => {
        const c = calls.find((x) => x.call === call);
        if (c) c.ended = true;
        call.end();
      });
      call.on('error', () => undefined);
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, calls, target: `127.0.0.1:${port}` };
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('ControlPlaneSession', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  it('reintroduce: ends the stream at once for its callers and says hello again with what the hello says now', async () => {
    const cp = await fakeControlPlane();
    cleanup.push(() => void cp.server.forceShutdown());
    let version = 'first';
    const events: string[] = [];
    const session = new ControlPlaneSession(
      cp.target,
      {
        hello: async (): Promise<Hello> => ({ protocolVersion: 1, minProtocolVersion: 1, agentVersion: version, nodeId: 'n-1', cluster: 'default', facts: undefined, labels: {}, inventory: [], appliedGeneration: 0, address: '' }),
        onWelcome: () => events.push('welcome'),
        onDesiredState: () => undefined,
        onDisconnected: () => events.push('disconnected'),
      },
      pino({ level: 'silent' }),
    );
    cleanup.push(() => session.stop());
    session.start();
    await until('welcomed', () => session.connected);
    expect(session.send({ $case: 'ack', value: { generation: 1 } })).toBe(true);

    version = 'second';
    session.reintroduce('the engine is back');
    // Down for its callers at once: nothing more is written on the ending stream.
    expect(session.connected).toBe(false);
    expect(session.send({ $case: 'ack', value: { generation: 2 } })).toBe(false);
    expect(events).toEqual(['welcome', 'disconnected']);

    await until('a second hello, welcomed', () => cp.calls.length === 2 && session.connected);
    expect(cp.calls.map((c) => c.hello.agentVersion)).toEqual(['first', 'second']);
    expect(cp.calls[0]!.ended).toBe(true);
    expect(cp.calls[0]!.received).toEqual(['ack']);
    expect(events).toEqual(['welcome', 'disconnected', 'welcome']);
    expect(session.send({ $case: 'ack', value: { generation: 3 } })).toBe(true);
    await until('the ack on the new stream', () => cp.calls[1]!.received.length === 1);
  });

  it('reintroduce with no stream (between attempts) changes nothing but the wait', async () => {
    const session = new ControlPlaneSession('127.0.0.1:1', { hello: async () => ({}) as Hello, onWelcome: () => undefined, onDesiredState: () => undefined, onDisconnected: () => undefined }, pino({ level: 'silent' }));
    expect(() => session.reintroduce('nothing to end')).not.toThrow();
    expect(session.connected).toBe(false);
    await session.stop();
  });

  it('hands a proxy snapshot to its handler; the ack and target health go back on the stream', async () => {
    const cp = await fakeControlPlane();
    cleanup.push(() => void cp.server.forceShutdown());
    const got: number[] = [];
    const session = new ControlPlaneSession(
      cp.target,
      {
        hello: async (): Promise<Hello> => ({ protocolVersion: 1, minProtocolVersion: 1, agentVersion: 'x', nodeId: 'n-1', cluster: 'default', facts: undefined, labels: {}, inventory: [], appliedGeneration: 0, address: '' }),
        onWelcome: () => undefined,
        onDesiredState: () => undefined,
        onDisconnected: () => undefined,
        onProxySnapshot: (s) => {
          got.push(s.version);
          session.send({ $case: 'proxyAck', value: { version: s.version, error: '' } });
          session.send({ $case: 'targetHealth', value: { targets: [{ backendId: 'tg', serverId: '127.0.0.1:1', state: 'healthy', reason: 'L7OK 200' }] } });
        },
      },
      pino({ level: 'silent' }),
    );
    cleanup.push(() => session.stop());
    session.start();
    await until('welcomed', () => session.connected);
    cp.calls[0]!.call.write({ message: { $case: 'proxySnapshot', value: { version: 4, frontends: [], backends: [] } } });
    await until('the ack and the health', () => cp.calls[0]!.received.length === 2);
    expect(got).toEqual([4]);
    expect(cp.calls[0]!.received).toEqual(['proxyAck', 'targetHealth']);
  });
});
