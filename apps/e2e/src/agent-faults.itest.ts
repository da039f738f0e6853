import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireDocker, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth } from './processes.js';
import { containersOf, docker, LocalCluster } from './cluster.js';
import { PrivateDockerd } from './private-dockerd.js';

/**
 * The failures operators have been burned by, with real processes and a real
 * engine: the agent killed, the control plane away, the engine restarted, the
 * agent's own state lost.
 */
const run = requireDocker();
const sleeper = (family: string, marker = 3600) => ({
  family,
  containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', String(marker)] }],
});

describe.runIf(run)('agent faults', () => {
  const cluster = new LocalCluster();
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  const running = async (ids: string[]) =>
    waitFor('every task RUNNING', async () => (await Promise.all(ids.map((id) => cluster.describe(id)))).every((t) => t.lastStatus === 'RUNNING'), 90_000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}`);
    });

  it('kill -9 of the agent with 5 tasks running: the same 5 containers afterwards, no duplicate, status reported', async () => {
    const td = await cluster.register(sleeper('faults-five'));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await cluster.run(td));
    await running(ids);
    const before = ids.map((id) => containersOf(id).map((c) => c.id));
    expect(before.every((c) => c.length === 1)).toBe(true);

    await cluster.agent!.stop('SIGKILL');
    cluster.startAgent();
    await cluster.connected();
    await waitFor('the restarted agent to have looked at the engine', () => /"msg":"connected to the control plane"/.test(cluster.agent!.output), 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(ids.map((id) => containersOf(id, { all: true }).map((c) => c.id))).toEqual(before);
    for (const id of ids) {
      const t = await cluster.describe(id);
      expect(t.lastStatus).toBe('RUNNING');
      expect(t.containers[0]!.runtimeId).toBe(before[ids.indexOf(id)]![0]);
    }
    for (const id of ids) await berth(cluster.server, ['task', 'stop', id]);
  });

  it('control plane away for 60 s: tasks keep running, a crashed container is restarted locally, all of it reported on reconnect', async () => {
    const td = await cluster.register(sleeper('faults-cp-away'));
    const id = await cluster.run(td);
    await running([id]);
    const [before] = containersOf(id);

    await cluster.cp!.stop('SIGTERM');
    const awayAt = Date.now();
    await waitFor('the agent to notice', () => /control plane unreachable/.test(cluster.agent!.output), 30_000);
    docker(['kill', before!.id]); // the essential container crashes while nobody can replace it
    const killedAt = Date.now();
    const back = await waitFor('the agent to restart it in place', () => {
      const c = containersOf(id)[0];
      return c && c.state === 'running' && c.info.State.StartedAt !== before!.info.State.StartedAt ? c : undefined;
    }, 10_000);
    expect(back.id).toBe(before!.id); // the same container, started again
    expect(new Date(back.info.State.StartedAt).getTime() - killedAt).toBeLessThan(3000);

    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - awayAt))));
    expect(containersOf(id).map((c) => c.id)).toEqual([before!.id]);

    cluster.startControlPlane();
    await cluster.ready();
    await cluster.connected();
    const t = await cluster.until(id, 'the restart reported', (x) => (x.containers[0]!.restartCount ?? 0) >= 1, 30_000);
    expect(t.lastStatus).toBe('RUNNING');
    const events = await cluster.events();
    expect(events.some((e) => e.kind === 'task.container-restarted' && e.subject === id)).toBe(true);
    expect(events.some((e) => e.kind === 'node.lost')).toBe(false);
    await berth(cluster.server, ['task', 'stop', id]);
  });

  it('a corrupt or deleted state file: the agent starts, adopts its containers by label, keeps its node identity', async () => {
    const td = await cluster.register(sleeper('faults-state'));
    const id = await cluster.run(td);
    await running([id]);
    const before = containersOf(id).map((c) => c.id);
    const nodes = async () => (await berth(cluster.server, ['node', 'ls', '--output', 'json'])).stdout.match(/container-instance\/default\/(n-[0-9a-f]+)/g) ?? [];
    const nodesBefore = await nodes();

    for (const damage of ['corrupt', 'delete'] as const) {
      await cluster.agent!.stop('SIGKILL');
      const path = join(cluster.agentDataDir, 'state.json');
      if (damage === 'corrupt') writeFileSync(path, '{"nodeId": "n-123", "tasks": [ {"taskId": trunc');
      else rmSync(path, { force: true });
      cluster.startAgent();
      await cluster.connected();
      await new Promise((r) => setTimeout(r, 3000));
      expect(containersOf(id, { all: true }).map((c) => c.id), damage).toEqual(before);
      expect((await cluster.describe(id)).lastStatus).toBe('RUNNING');
      expect(await nodes(), 'the same node, not a new one').toEqual(nodesBefore);
      if (damage === 'corrupt') expect(cluster.agent!.output).toMatch(/state.json is corrupt/);
    }
    await berth(cluster.server, ['task', 'stop', id]);
  });

  it('SIGTERM stops no container; with --drain it stops the node\'s tasks and reports them STOPPED before exiting', async () => {
    const td = await cluster.register(sleeper('faults-drain'));
    const id = await cluster.run(td);
    await running([id]);
    await cluster.agent!.stop('SIGTERM');
    expect(containersOf(id).map((c) => c.state)).toEqual(['running']);
    cluster.startAgent(['--drain']);
    await cluster.connected();
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.agent!.stop('SIGTERM');
    expect(cluster.agent!.output).toMatch(/with --drain, its containers/);
    expect(containersOf(id, { all: true })).toEqual([]);
    const t = await cluster.until(id, 'STOPPED reported by the draining agent', (x) => x.lastStatus === 'STOPPED', 20_000);
    expect(t).toMatchObject({ stopCode: 'TerminationNotice', stoppedReason: 'The node agent stopped with --drain' });
    cluster.startAgent();
    await cluster.connected();
  });
});

describe.runIf(run)('agent faults: the Docker engine restarts', () => {
  const dockerd = new PrivateDockerd(join('/tmp', `berth-e2e-dockerd-${process.pid}`));
  let cluster: LocalCluster;
  beforeAll(async () => {
    await dockerd.start();
    dockerd.loadTestImage();
    cluster = new LocalCluster([], dockerd.host);
    await cluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
    await dockerd.destroy();
  });

  it('no task is reported stopped while its container still runs; the agent re-lists and re-subscribes', async () => {
    const td = await cluster.register({ ...sleeper('faults-dockerd', 3607), networkMode: 'host' });
    const id = await cluster.run(td);
    const t0 = await cluster.until(id, 'RUNNING', (x) => x.lastStatus === 'RUNNING', 90_000);
    const [before] = containersOf(id, { host: dockerd.host });

    await dockerd.stop();
    await waitFor('the agent to see the engine gone', () => /no Docker engine at/.test(cluster.agent!.output), 60_000);
    expect(execFileSync('pgrep', ['-f', 'sleep 3607'], { encoding: 'utf8' }).trim()).not.toBe(''); // live restore: still running
    await new Promise((r) => setTimeout(r, 2000));
    await dockerd.start();
    await waitFor('the agent to see the engine again', () => /Docker engine reachable/.test(cluster.agent!.output), 60_000);
    await new Promise((r) => setTimeout(r, 5000));

    const t1 = await cluster.describe(id);
    expect(t1.lastStatus).toBe('RUNNING');
    expect(t1.containers[0]!.runtimeId).toBe(t0.containers[0]!.runtimeId);
    const [after] = containersOf(id, { host: dockerd.host });
    expect(after!.id).toBe(before!.id);
    expect(after!.state).toBe('running');
    const events = await cluster.events();
    expect(events.filter((e) => e.subject === id && e.kind === 'task.status').map((e) => e.message).join('\n')).not.toMatch(/STOPPED/);

    // The event stream was re-subscribed: a crash now is still seen at once.
    docker(['kill', after!.id], dockerd.host);
    await cluster.until(id, 'STOPPED after a real exit', (x) => x.lastStatus === 'STOPPED', 30_000);
  });
});
