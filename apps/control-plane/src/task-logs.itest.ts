import { GetTaskLogsRequest, type AgentServiceClient, type ControlServiceClient, type GetTaskLogsResponse, type LogsRequest } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import { BACKENDS, controlCall, startOnBackend } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

interface LogsResult {
  chunks: GetTaskLogsResponse[];
  code: number;
  details: string;
  /** Response headers arrived: the control plane accepted the request. */
  opened: boolean;
}

describe.each(BACKENDS)('berth logs through the control plane on $name', (backend) => {
  let cp: ControlPlane | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let control: ControlServiceClient;
  let agents: AgentServiceClient;
  const call = controlCall(() => control);

  /** Opens GetTaskLogs; `onChunk` may cancel. Resolves with what arrived and how it ended. */
  const logs = (req: Partial<GetTaskLogsRequest>, onChunk?: (c: GetTaskLogsResponse, cancel: () => void) => void): Promise<LogsResult> =>
    new Promise((resolve) => {
      const stream = control.getTaskLogs(GetTaskLogsRequest.fromPartial(req));
      const result: LogsResult = { chunks: [], code: -1, details: '', opened: false };
      stream.on('metadata', () => (result.opened = true));
      stream.on('data', (c: GetTaskLogsResponse) => {
        result.chunks.push(c);
        onChunk?.(c, () => stream.cancel());
      });
      stream.on('error', () => {});
      stream.on('status', (s) => resolve({ ...result, code: s.code, details: s.details }));
    });

  /** A connected scripted agent with one task of a two-container definition placed on it. */
  const agentWithTask = async () => {
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello() });
    const welcome = await agent.next('welcome');
    await agent.next('desiredState');
    // The task's ids are taken from what the node is sent (the only connected node gets it), not from
    // the RunTask reply, so this test does not depend on every task view field serializing.
    await call('runTask', { cluster: '', taskDefinition: 'logger', count: 1 }).catch((err: ServiceError) => {
      if (!(err.code === status.INTERNAL && /serializing response/.test(err.details))) throw err;
    });
    const desired = await agent.next('desiredState', (d) => d.tasks.length === 1);
    const { taskId, taskArn } = desired.tasks[0]!;
    return { agent, nodeId: welcome.nodeId, taskArn, taskId };
  };

  beforeAll(async () => {
    const env = await backend.setup();
    if (!env) return;
    cleanup = env.cleanup;
    ({ cp, control, agents } = await startOnBackend(env, log));
    // The sidecar comes first but is not essential: the default container is "app".
    await call('registerTaskDefinition', {
      taskDefinitionJson: JSON.stringify({
        family: 'logger',
        containerDefinitions: [
          { name: 'sidecar', image: 'busybox', memory: 16, essential: false },
          { name: 'app', image: 'busybox', memory: 16 },
        ],
      }),
    });
  });
  afterAll(async () => {
    control?.close();
    agents?.close();
    await cp?.close();
    await cleanup?.();
  });

  it("streams a container's logs from the node's agent: the request reaches it, its chunks reach the caller", async () => {
    if (!cp) return;
    const { agent, taskId, taskArn } = await agentWithTask();
    let asked: LogsRequest | undefined;
    agent.onLogsRequest = (r) => {
      asked = r;
      agent.sendLogs(r.requestId, { data: 'hello from app\n', stream: 'stdout', containerName: 'app' });
      agent.sendLogs(r.requestId, { data: Buffer.from([0xff, 0x00, 0x0a]), stream: 'stderr', containerName: 'app' });
      agent.sendLogs(r.requestId, { end: true, containerName: 'app' });
    };
    const since = new Date('2026-01-02T03:04:05Z');
    const r = await logs({ cluster: '', task: taskArn, tail: 50, since, timestamps: true });
    expect(r.code).toBe(status.OK);
    expect(asked).toMatchObject({ taskId, containerName: 'app', tail: 50, since, follow: false, timestamps: true });
    expect(asked!.requestId).toMatch(/^logs-[0-9a-f]{16}$/);
    expect(r.chunks.map((c) => ({ stream: c.stream, containerName: c.containerName, data: [...c.data] }))).toEqual([
      { stream: 'stdout', containerName: 'app', data: [...Buffer.from('hello from app\n')] },
      { stream: 'stderr', containerName: 'app', data: [0xff, 0x00, 0x0a] },
    ]);

    // A named container is passed on; an unknown one is refused with the names there are.
    agent.onLogsRequest = (req) => {
      asked = req;
      agent.sendLogs(req.requestId, { end: true });
    };
    expect((await logs({ task: taskId, containerName: 'sidecar' })).code).toBe(status.OK);
    expect(asked!.containerName).toBe('sidecar');
    expect(await logs({ task: taskId, containerName: 'db' })).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: `container: task ${taskId} has no container "db"; its containers are: sidecar, app`,
    });

    // An agent that cannot read the container ends the stream with its reason.
    agent.onLogsRequest = (req) => agent.sendLogs(req.requestId, { end: true, error: 'no container app for this task on this node' });
    expect(await logs({ task: taskId })).toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: expect.stringContaining('could not read the logs of task') as unknown as string,
    });

    expect(await logs({ task: 'f'.repeat(32) })).toMatchObject({ code: status.NOT_FOUND, details: `task ${'f'.repeat(32)} not found in cluster default` });
    expect((await logs({ task: 'nope' })).code).toBe(status.INVALID_ARGUMENT);
    agent.end();
    await agent.closed();
  });

  it('tells the agent to stop (LogsCancel) when the caller goes away', async () => {
    if (!cp) return;
    const { agent, taskId } = await agentWithTask();
    let requestId = '';
    agent.onLogsRequest = (r) => {
      requestId = r.requestId;
      agent.sendLogs(r.requestId, { data: 'line 1\n', containerName: 'app' });
    };
    const r = await logs({ task: taskId, follow: true }, (_c, cancel) => cancel());
    expect(r.code).toBe(status.CANCELLED);
    expect(r.chunks).toHaveLength(1);
    const cancel = await agent.next('logsCancel');
    expect(cancel.requestId).toBe(requestId);

    // Late chunks for the cancelled stream are dropped; the session stays up.
    agent.sendLogs(requestId, { data: 'line 2\n' });
    agent.sendLogs(requestId, { end: true });
    agent.onLogsRequest = (req) => agent.sendLogs(req.requestId, { end: true });
    expect((await logs({ task: taskId })).code).toBe(status.OK);
    expect(agent.ended).toBeUndefined();
    agent.end();
    await agent.closed();
  });

  it('ends a follower with UNAVAILABLE when the agent drops mid-stream, and says the node is disconnected afterwards', async () => {
    if (!cp) return;
    const { agent, taskId, nodeId } = await agentWithTask();
    agent.onLogsRequest = (r) => {
      agent.sendLogs(r.requestId, { data: 'still going\n', containerName: 'app' });
      setTimeout(() => agent.end(), 100);
    };
    const r = await logs({ task: taskId, follow: true });
    expect(r.chunks.map((c) => c.data.toString())).toEqual(['still going\n']);
    expect(r.opened).toBe(true);
    expect(r.code).toBe(status.UNAVAILABLE);
    expect(r.details).toMatch(new RegExp(`^the agent of node ${nodeId} disconnected while streaming logs`));

    await waitFor('session gone', () => (cp!.sessions.get(nodeId) ? undefined : true));
    // The session leaves the registry before its disconnect is written; until then the node reads as connected elsewhere.
    const after = await waitFor('the node recorded disconnected', async () => {
      const r = await logs({ task: taskId });
      return r.code === status.FAILED_PRECONDITION ? r : undefined;
    }, 10_000).catch(() => logs({ task: taskId }));
    expect(after).toMatchObject({ code: status.FAILED_PRECONDITION, details: `node ${nodeId} (pi-attic) is disconnected; logs are on that machine` });
  });
});
