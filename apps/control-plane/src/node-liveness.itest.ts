import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@berth/domain';
import { AgentServiceClient, type DesiredState } from '@berth/proto';
import { getNode, listEvents, setNodeStatus } from '@berth/store';
import { credentials, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';
import type { AppContext } from './services/context.js';
import { describeTasksOp, runTaskOp } from './services/tasks.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

/** The liveness timeline (connected, disconnected, lost, back) on an injected clock. */
describe('node liveness', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-liveness-'));
  const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  const random = { next: Math.random, bytes: (n: number) => randomBytes(n) };
  let now = Date.parse('2026-06-01T12:00:00Z');
  const clock: Clock = { now: () => new Date(now) };
  const advance = (ms: number) => (now += ms);
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let ctx: AppContext;

  const start = async () => {
    cp = await startControlPlane({ listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 1000, reconnectAllowanceMs: 0, resyncIntervalMs: 60_000, clock, random, log });
    agents = new AgentServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
    ctx = { db: cp.db, arn: { region: 'local', account: '000000000000' }, clock, random, log, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
  };
  const stop = async () => {
    agents.close();
    await cp.close();
  };

  beforeAll(start);
  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const heartbeat = (a: ScriptedAgent) =>
    a.send({ $case: 'heartbeat', value: { cpuPercent: 1, memoryUsedMib: 1, memoryTotalMib: 1, diskUsedMib: 1, diskTotalMib: 1, load1: 0, load5: 0, load15: 0, dockerReachable: true } });

  async function connectWithTask(nodeId = '') {
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ nodeId }) });
    const welcome = await agent.next('welcome');
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'svc', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 16 }] }));
    const { tasks } = await runTaskOp(ctx, { taskDefinition: 'svc' });
    const taskId = tasks[0]!.id;
    await agent.next('desiredState', (d: DesiredState) => d.tasks.some((t) => t.taskId === taskId));
    agent.send({ $case: 'taskStatus', value: { tasks: [{ taskId, lastStatus: 'RUNNING', stopCode: '', stoppedReason: '', at: clock.now(), containers: [], warnings: [], healthStatus: '' }] } });
    await waitUntil(async () => (await task(taskId)).lastStatus === 'RUNNING');
    return { agent, nodeId: welcome.nodeId, taskId };
  }
  const task = async (id: string) => (await describeTasksOp(ctx, { tasks: [id] })).found[0]!;
  const waitUntil = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
  };

  it('goes connected -> disconnected -> lost, and a node that returns runs nothing twice', async () => {
    const { agent, nodeId, taskId } = await connectWithTask();

    advance(2000);
    await cp.liveness.tick();
    expect((await getNode(cp.db.sql, nodeId))!.agentConnected).toBe(true);
    heartbeat(agent);
    await new Promise((r) => setTimeout(r, 100));

    // Two intervals without a heartbeat: the stream is closed and the node is disconnected.
    advance(3500);
    await cp.liveness.tick();
    const end = await agent.closed();
    expect(end.code).toBe(status.UNAVAILABLE);
    expect(end.details).toMatch(/no heartbeat for 4 s/);
    expect((await getNode(cp.db.sql, nodeId))!.agentConnected).toBe(false);
    // Disconnected is not dead: the task is left as it was.
    expect((await task(taskId)).lastStatus).toBe('RUNNING');

    // The grace (10 s by default) counts from the last heartbeat, 3.5 s before the stream was closed.
    advance(5_000);
    await cp.liveness.tick();
    expect((await task(taskId)).lastStatus).toBe('RUNNING');

    // Past the grace: lost.
    advance(1500);
    await cp.liveness.tick();
    const lost = await task(taskId);
    expect(lost).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'NodeLost' });
    expect(lost.stoppedReason).toMatch(new RegExp(`Node ${nodeId} lost: no contact with its agent for more than 10 s`));

    // The node comes back still running the container: its desired set no longer has the task.
    const back = new ScriptedAgent(agents);
    back.send({ $case: 'hello', value: hello({ nodeId, inventory: [{ taskId, containerName: 'app', runtimeId: 'c1', state: 'running', exitCode: undefined }] }) });
    expect((await back.next('welcome')).nodeId).toBe(nodeId);
    const desired = await back.next('desiredState');
    expect(desired.tasks.map((t) => t.taskId)).not.toContain(taskId);
    // A late RUNNING report from before the loss cannot revive the task.
    back.send({ $case: 'taskStatus', value: { tasks: [{ taskId, lastStatus: 'RUNNING', stopCode: '', stoppedReason: '', at: clock.now(), containers: [], warnings: [], healthStatus: '' }] } });
    await new Promise((r) => setTimeout(r, 200));
    expect((await task(taskId)).lastStatus).toBe('STOPPED');
    back.end();
    await waitUntil(async () => !(await getNode(cp.db.sql, nodeId))!.agentConnected);
    // Deregistered, so it does not count as a node recently out of contact in the tests below.
    await setNodeStatus(cp.db.sql, nodeId, 'INACTIVE');
  });

  it('gives every node a fresh grace when the control plane restarts', async () => {
    const { agent, nodeId, taskId } = await connectWithTask();
    agent.end();
    await waitUntil(async () => !(await getNode(cp.db.sql, nodeId))!.agentConnected);
    advance(25_000);
    await stop();
    await start();
    // 34 s since the agent left, but only 9 s since this control plane started.
    advance(9_000);
    await cp.liveness.tick();
    expect((await task(taskId)).lastStatus).toBe('RUNNING');
    advance(2_000);
    await cp.liveness.tick();
    expect((await task(taskId)).stopCode).toBe('NodeLost');
  });

  it('keeps stopped tasks describable for an hour, then prunes them', async () => {
    const { agent, taskId } = await connectWithTask();
    agent.send({ $case: 'taskStatus', value: { tasks: [{ taskId, lastStatus: 'STOPPED', stopCode: '', stoppedReason: '', at: clock.now(), containers: [], warnings: [], healthStatus: '' }] } });
    await waitUntil(async () => (await task(taskId)).lastStatus === 'STOPPED');
    advance(59 * 60_000);
    await cp.pruner.prune();
    expect((await describeTasksOp(ctx, { tasks: [taskId] })).found).toHaveLength(1);
    advance(2 * 60_000);
    const pruned = await cp.pruner.prune();
    expect(pruned.tasks).toBeGreaterThanOrEqual(1);
    expect((await describeTasksOp(ctx, { tasks: [taskId] })).missing).toEqual([taskId]);
    agent.end();
  });

  it('holds back node loss while most of the cluster is out of contact at once, and says why', async () => {
    const a = await connectWithTask();
    a.agent.end();
    const b = await connectWithTask();
    b.agent.end();
    const c = await connectWithTask();
    await waitUntil(async () => !(await getNode(cp.db.sql, b.nodeId))!.agentConnected);
    const mark = (await listEvents(cp.db.sql, 'default', 0, 10_000)).at(-1)?.id ?? 0;
    const keepAlive = setInterval(() => heartbeat(c.agent), 200);
    try {
      // Two of three nodes silent for longer than the grace: the control plane is the likelier side cut off.
      advance(11_000);
      heartbeat(c.agent);
      await new Promise((r) => setTimeout(r, 100));
      await cp.liveness.tick();
      expect((await task(a.taskId)).lastStatus).toBe('RUNNING');
      expect((await task(b.taskId)).lastStatus).toBe('RUNNING');
      const events = await listEvents(cp.db.sql, 'default', mark, 10_000);
      const held = events.filter((e) => e.kind === 'cluster.node-loss-held');
      expect(held).toHaveLength(1);
      expect(held[0]!.message).toMatch(/node loss held back: [23] of [34] nodes are out of contact at once \(more than 50%\)/);
      // (The node of the test before went away minutes ago on this clock: it counts as out of contact too.)
      await cp.liveness.tick();
      expect((await listEvents(cp.db.sql, 'default', mark, 10_000)).filter((e) => e.kind === 'cluster.node-loss-held')).toHaveLength(1);

      // One comes back: one of three out of contact is judged again, after a fresh grace (the
      // others may still be waiting out their reconnect backoff).
      const back = new ScriptedAgent(agents);
      back.send({ $case: 'hello', value: hello({ nodeId: a.nodeId }) });
      await back.next('welcome');
      await cp.liveness.tick();
      expect((await listEvents(cp.db.sql, 'default', mark, 10_000)).some((e) => e.kind === 'cluster.node-loss-resumed')).toBe(true);
      expect((await task(b.taskId)).lastStatus).toBe('RUNNING');
      advance(10_500);
      heartbeat(c.agent);
      heartbeat(back);
      await new Promise((r) => setTimeout(r, 100));
      await cp.liveness.tick();
      expect((await task(a.taskId)).lastStatus).toBe('RUNNING');
      expect((await task(b.taskId)).stopCode).toBe('NodeLost');
      back.end();
    } finally {
      clearInterval(keepAlive);
      c.agent.end();
    }
  });
});
