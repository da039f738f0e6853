// Mixed releases during an upgrade: an agent one protocol version behind or ahead of the
// control plane keeps working (the newest common version is chosen), and where the two have
// no version in common the agent is refused with a message naming the side to upgrade.
// A control plane of another release is stood in for by its protocol range.
import { BERTH_VERSION, PROTOCOL_VERSION, type ProtocolRange } from '@berth/proto';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, controlCall, startOnBackend, type BackendEnv } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
const N = PROTOCOL_VERSION;

describe.each(BACKENDS)('agents and control planes of neighbouring releases on $name', (backend) => {
  let env: BackendEnv | undefined;
  beforeAll(async () => {
    env = await backend.setup();
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  async function withControlPlane(protocol: ProtocolRange, fn: (connect: (h: Parameters<typeof hello>[0]) => ScriptedAgent, call: ReturnType<typeof controlCall>) => Promise<void>) {
    const { cp, control, agents } = await startOnBackend(env!, log, { protocol });
    const call = controlCall(() => control);
    const opened: ScriptedAgent[] = [];
    try {
      await fn((h) => {
        const a = new ScriptedAgent(agents);
        opened.push(a);
        a.send({ $case: 'hello', value: hello(h) });
        return a;
      }, call);
    } finally {
      for (const a of opened) a.end();
      control.close();
      agents.close();
      await cp.close();
    }
  }

  it('an agent of release N works with a control plane of N+1 (which still speaks N)', async () => {
    if (!env) return;
    await withControlPlane({ min: N, max: N + 1 }, async (connect, call) => {
      const agent = connect({ protocolVersion: N, minProtocolVersion: N, agentVersion: 'N' });
      const welcome = await agent.next('welcome');
      expect(welcome).toMatchObject({ protocolVersion: N, controlPlaneVersion: BERTH_VERSION });
      const { containerInstances } = await call<{ containerInstances: { agentVersion: string }[] }>('describeContainerInstances', { cluster: '', containerInstances: [welcome.nodeId] });
      expect(containerInstances[0]!.agentVersion).toBe('N');
    });
  });

  it('an agent of release N+1 works with a control plane of N (the agent still speaks N)', async () => {
    if (!env) return;
    await withControlPlane({ min: N, max: N }, async (connect) => {
      const agent = connect({ protocolVersion: N + 1, minProtocolVersion: N });
      expect(await agent.next('welcome')).toMatchObject({ protocolVersion: N });
    });
  });

  it('an agent from before the minimum field is taken at its one version', async () => {
    if (!env) return;
    await withControlPlane({ min: N, max: N + 1 }, async (connect) => {
      const agent = connect({ protocolVersion: N, minProtocolVersion: 0 });
      expect(await agent.next('welcome')).toMatchObject({ protocolVersion: N });
    });
  });

  it("a control plane that dropped the agent's version refuses it: upgrade the agent", async () => {
    if (!env) return;
    await withControlPlane({ min: N + 1, max: N + 2 }, async (connect) => {
      const end = await connect({ protocolVersion: N, minProtocolVersion: N }).closed();
      expect(end.code).toBe(status.FAILED_PRECONDITION);
      expect(end.details).toContain(`the agent speaks protocol ${N} and this control plane (${BERTH_VERSION}) speaks ${N + 1}-${N + 2}: upgrade the agent`);
    });
  });

  it('an agent newer than anything the control plane speaks is refused: upgrade the control plane', async () => {
    if (!env) return;
    await withControlPlane({ min: N, max: N }, async (connect) => {
      const end = await connect({ protocolVersion: N + 2, minProtocolVersion: N + 1 }).closed();
      expect(end.code).toBe(status.FAILED_PRECONDITION);
      expect(end.details).toMatch(/upgrade the control plane/);
    });
  });
});
