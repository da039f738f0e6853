import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLIENT_KEEPALIVE_TIME_MS, CLIENT_KEEPALIVE_TIMEOUT_MS } from '@berth/transport';
import { faultScale, requireDocker, TcpProxy, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker, LocalCluster, type TaskJson } from './cluster.js';
import { berth, berthJson, BerthProcess } from './processes.js';

/**
 * The link between agents and the control plane fails, with real processes
 * and the real engine: every agent dials through a TcpProxy the test controls
 * (cut: the connection closes; blackhole: packets silently dropped, a
 * half-open connection). The control plane runs with 1 s heartbeats.
 * Long drops are scaled down here; `npm run test:faults:full` runs them at
 * full length (5 min).
 */
const run = requireDocker();
const FAMILY = 'netfault';
const sleeper = (family: string) => ({
  family,
  containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 8, stopTimeout: 1, command: ['sleep', '3600'], linuxParameters: { initProcessEnabled: true } }],
});
const LONG_DROP_MS = faultScale(30_000, 5 * 60_000);

interface NodeJson {
  nodeId: string;
  /** Absent when false (proto3 JSON). */
  agentConnected?: boolean;
}

describe.runIf(run)('network faults between agents and the control plane', () => {
  const cluster = new LocalCluster();
  let proxyA: TcpProxy;
  let proxyB: TcpProxy;
  let agentB: BerthProcess | undefined;
  let td = '';
  let tdB = '';

  beforeAll(async () => {
    await cluster.start();
    // From here on the agent dials through the proxy.
    proxyA = await TcpProxy.start(cluster.grpcPort);
    await cluster.agent!.stop();
    cluster.agentServer = proxyA.address;
    cluster.startAgent();
    await cluster.connected();
    td = await cluster.register(sleeper(FAMILY));
    tdB = await cluster.register(sleeper(`${FAMILY}-svc`));
  });
  afterAll(async () => {
    await berth(cluster.server, ['service', 'rm', 'netfault-web', '--force']).catch(() => undefined);
    await agentB?.stop();
    await cluster.stop();
    await proxyA?.close();
    await proxyB?.close();
    for (const f of [FAMILY, `${FAMILY}-svc`]) {
      for (const id of docker(['ps', '-aq', '--filter', `label=berth.family=${f}`]).split('\n').filter(Boolean)) docker(['rm', '-f', id]);
    }
  });

  const nodes = () => berthJson<{ containerInstances: NodeJson[] }>(cluster.server, ['node', 'ls']).then((r) => r.containerInstances);
  const nodeConnected = async (id: string) => (await nodes()).find((n) => n.nodeId === id)?.agentConnected === true;
  const nodeIdOf = async (t: TaskJson) => ((t as unknown as { containerInstanceArn: string }).containerInstanceArn ?? '').split('/').pop()!;
  const setGrace = async (seconds: number) => expect((await berth(cluster.server, ['cluster', 'update', 'default', '--node-lost-grace', String(seconds)])).code).toBe(0);
  const running = (ids: string[]) =>
    waitFor('every task RUNNING', async () => (await Promise.all(ids.map((id) => cluster.describe(id)))).every((t) => t.lastStatus === 'RUNNING'), 90_000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}`);
    });
  /** "id StartedAt RestartCount" of a task's containers: equal before and after means never touched. */
  const starts = (id: string) => containersOf(id).map((c) => docker(['inspect', '--format', '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}', c.id]));
  const unreachableLogs = () => (cluster.agent!.output.match(/control plane unreachable/g) ?? []).length;
  const connectedLogs = (p: BerthProcess) => (p.output.match(/connected to the control plane/g) ?? []).length;

  /** The stream drops (the connection closes and stays refused) for `ms`: containers untouched, then reconciled, nothing started twice. */
  async function dropFor(ms: number) {
    await setGrace(Math.ceil(ms / 1000) + 120);
    const ids = [await cluster.run(td), await cluster.run(td), await cluster.run(td)];
    await running(ids);
    const nodeId = await nodeIdOf(await cluster.describe(ids[0]!));
    const before = ids.map(starts);
    const eventsBefore = (await cluster.events(2000)).length;

    proxyA.cut();
    await waitFor('the control plane to see the node disconnected', async () => !(await nodeConnected(nodeId)), 15_000);
    // While the link is down, the desired set changes: one task is stopped.
    expect((await berth(cluster.server, ['task', 'stop', ids[2]!, '--reason', 'changed during the drop'])).code).toBe(0);
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // Containers are untouched for the whole drop.
      expect(ids.map(starts)).toEqual(before);
      await new Promise((r) => setTimeout(r, Math.min(5_000, Math.max(0, until - Date.now()))));
    }
    expect(ids.map(starts)).toEqual(before);

    proxyA.restore();
    await waitFor('the agent back', async () => await nodeConnected(nodeId), 60_000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}`);
    });
    // Reconciled: the stopped task's container is gone, the others are the same containers, never restarted.
    await cluster.until(ids[2]!, 'the stopped task STOPPED', (t) => t.lastStatus === 'STOPPED', 30_000);
    await waitFor('its container removed', async () => containersOf(ids[2]!).length === 0, 30_000);
    expect(ids.slice(0, 2).map(starts)).toEqual(before.slice(0, 2));
    for (const id of ids.slice(0, 2)) expect((await cluster.describe(id)).lastStatus).toBe('RUNNING');
    const events = (await cluster.events(2000)).slice(eventsBefore);
    expect(events.filter((e) => e.kind === 'node.lost')).toEqual([]);
    expect(events.filter((e) => /container-restarted/.test(e.kind))).toEqual([]);
    for (const id of ids.slice(0, 2)) await berth(cluster.server, ['task', 'stop', id]);
  }

  it('the stream drops for 5 s: containers untouched; on reconnect the desired set reconciles, nothing started twice', async () => {
    await dropFor(5_000);
  });

  it(`the stream drops for ${LONG_DROP_MS / 1000} s (5 min under test:faults:full): the same`, async () => {
    await dropFor(LONG_DROP_MS);
  }, LONG_DROP_MS + 240_000);

  it('a half-open connection: the control plane notices within 2 heartbeats, the agent within its keepalive, and it reconnects', async () => {
    await setGrace(120);
    const id = await cluster.run(td);
    await running([id]);
    const nodeId = await nodeIdOf(await cluster.describe(id));
    const before = starts(id);
    const seen = unreachableLogs();

    const at = Date.now();
    proxyA.blackhole();
    await waitFor('the control plane to notice', async () => !(await nodeConnected(nodeId)), 15_000);
    const cpNoticedS = (Date.now() - at) / 1000;
    await waitFor('the agent to notice', async () => unreachableLogs() > seen, 60_000);
    const agentNoticedS = (Date.now() - at) / 1000;
    console.log(`half-open: control plane noticed after ${cpNoticedS.toFixed(1)} s, the agent after ${agentNoticedS.toFixed(1)} s`);
    // 2 heartbeats of 1 s, the 1 s liveness tick, and the CLI's own time.
    expect(cpNoticedS).toBeLessThan(6);
    // A ping every CLIENT_KEEPALIVE_TIME_MS, unanswered for CLIENT_KEEPALIVE_TIMEOUT_MS.
    expect(agentNoticedS).toBeLessThan((CLIENT_KEEPALIVE_TIME_MS + CLIENT_KEEPALIVE_TIMEOUT_MS) / 1000 + 3);

    proxyA.restore();
    await waitFor('the agent reconnected', async () => await nodeConnected(nodeId), 60_000);
    expect(starts(id)).toEqual(before);
    expect((await cluster.describe(id)).lastStatus).toBe('RUNNING');
    await berth(cluster.server, ['task', 'stop', id]);
  });

  it('a partition longer than the lost grace while the service replaces the tasks; when it heals exactly one copy of each survives', async () => {
    await setGrace(10);
    const [first] = await nodes();
    const idA = first!.nodeId;
    proxyB = await TcpProxy.start(cluster.grpcPort);
    agentB = new BerthProcess('agent-b', 'apps/agent/dist/main.js', [
      '--server', proxyB.address, '--data-dir', join(cluster.work, 'agent-b'), '--bind-ip', '127.0.0.1', '--log-level', 'debug', '--token', await cluster.createToken(1),
    ]);
    await waitFor('two nodes connected', async () => (await nodes()).filter((n) => n.agentConnected).length === 2, 60_000);
    // Only the partition decides what moves: a spread placement puts tasks on both nodes.
    expect((await berth(cluster.server, ['service', 'create', 'netfault-web', '--task-definition', tdB, '--desired-count', '4', '--placement-strategy', 'spread:instanceId', '--wait'])).code).toBe(0);
    const serviceTasks = async () => (await berthJson<{ tasks: (TaskJson & { containerInstanceArn: string })[] }>(cluster.server, ['task', 'ls', '--service', 'netfault-web', '--desired-status', 'RUNNING'])).tasks;
    const onA = (await serviceTasks()).filter((t) => t.containerInstanceArn.endsWith(idA)).map((t) => t.taskArn.split('/').pop()!);
    expect(onA.length).toBeGreaterThan(0);
    const containersOnA = onA.flatMap((id) => containersOf(id).map((c) => c.id));

    const at = Date.now();
    proxyA.blackhole();
    // Lost after the grace; the service starts replacements on B while A's containers still run.
    await waitFor('the replacements running on the other node', async () => {
      const tasks = await serviceTasks();
      return tasks.length === 4 && tasks.every((t) => t.lastStatus === 'RUNNING' && !t.containerInstanceArn.endsWith(idA));
    }, 60_000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}\n--- agent b ---\n${agentB!.tail(40)}`);
    });
    console.log(`partition: every task of the lost node running elsewhere after ${((Date.now() - at) / 1000).toFixed(1)} s (grace 10 s, heartbeats 1 s)`);
    for (const id of onA) expect((await cluster.describe(id)).stopCode).toBe('NodeLost');
    // The partitioned node's containers were never told anything: they still run.
    expect(containersOnA.map((c) => docker(['inspect', '--format', '{{.State.Running}}', c]))).toEqual(containersOnA.map(() => 'true'));

    const seen = connectedLogs(cluster.agent!);
    proxyA.restore();
    await waitFor('the partitioned agent back', async () => connectedLogs(cluster.agent!) > seen && (await nodeConnected(idA)), 60_000);
    // Exactly one copy of each task: the lost tasks' containers are removed, the replacements stay.
    await waitFor('the stale copies removed', async () => onA.every((id) => containersOf(id).length === 0), 30_000);
    const tasks = await serviceTasks();
    expect(tasks).toHaveLength(4);
    const live = docker(['ps', '-q', '--filter', `label=berth.family=${FAMILY}-svc`]).split('\n').filter(Boolean);
    expect(live).toHaveLength(4);
    for (const t of tasks) expect(containersOf(t.taskArn.split('/').pop()!)).toHaveLength(1);
    // And the service stays steady: nothing is started a third time.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await serviceTasks()).map((t) => t.taskArn).sort()).toEqual(tasks.map((t) => t.taskArn).sort());
    expect(execFileSync('docker', ['ps', '-q', '--filter', `label=berth.family=${FAMILY}-svc`], { encoding: 'utf8' }).split('\n').filter(Boolean)).toHaveLength(4);
  }, 300_000);
});
