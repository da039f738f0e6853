import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireDocker, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, berthJson, BerthProcess, caFiles, repoRoot, tokenFiles } from './processes.js';

/**
 * The walking skeleton, end to end: control plane and agent as processes, the
 * CLI as a user runs it, containers in the real Docker engine.
 */
const run = requireDocker();

interface TaskJson {
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  stopCode?: string;
  stoppedReason?: string;
  containers: { name: string; runtimeId?: string; exitCode?: number; networkBindings?: { hostPort: number; containerPort: number }[] }[];
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

/** Containers of one task, by the label every Berth container carries. */
function containersOf(taskId: string, all = false): { id: string; labels: Record<string, string>; state: string }[] {
  const ids = docker(['ps', ...(all ? ['-a'] : []), '-q', '--filter', `label=berth.task-id=${taskId}`]).split('\n').filter(Boolean);
  return ids.map((id) => {
    const info = JSON.parse(docker(['inspect', id]))[0];
    return { id, labels: info.Config.Labels, state: info.State.Status };
  });
}

function describeTask(json: unknown): TaskJson {
  const j = json as { tasks?: TaskJson[]; task?: TaskJson } & TaskJson;
  return j.tasks?.[0] ?? j.task ?? j;
}

describe.runIf(run)('first task, end to end', () => {
  const work = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  let grpcPort = 0;
  let httpPort = 0;
  let server = '';
  let cp: BerthProcess | undefined;
  let agent: BerthProcess | undefined;
  const startedTasks: string[] = [];

  const startControlPlane = () =>
    new BerthProcess('control-plane', 'apps/control-plane/dist/main.js', [
      '--listen', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--data-dir', join(work, 'cp'), '--heartbeat-interval', '1', '--reconnect-allowance', '0', '--bootstrap-token-file', join(work, 'admin-token'),
    ]);

  const caFile = () => join(work, 'cp', 'pki', 'ca.crt');
  let token = '';
  const startAgent = () => new BerthProcess('agent', 'apps/agent/dist/main.js', ['--server', server, '--data-dir', join(work, 'agent'), '--label', 'room=lab', '--token', token]);

  const ready = () =>
    waitFor(`control plane ready on ${httpPort}`, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok;
      } catch {
        return false;
      }
    }, 60_000);

  beforeAll(async () => {
    grpcPort = await freePort();
    httpPort = await freePort();
    server = `127.0.0.1:${grpcPort}`;
    cp = startControlPlane();
    await ready();
    caFiles.set(server, caFile());
    tokenFiles.set(server, join(work, 'admin-token'));
    token = (await berth(server, ['token', 'create', '--uses', '5'])).stdout.trim();
    agent = startAgent();
    await waitFor('the node to register', async () => {
      const r = await berth(server, ['node', 'ls', '--output', 'json']);
      return r.code === 0 && r.stdout.includes('"agentConnected": true') ? true : r.code === 0 && /"agentConnected":\s*true/.test(r.stdout);
    }, 60_000);
  });

  afterAll(async () => {
    await agent?.stop();
    await cp?.stop();
    for (const id of startedTasks) {
      for (const c of containersOf(id, true)) docker(['rm', '-f', c.id]);
    }
    rmSync(work, { recursive: true, force: true });
  });

  const diagnostics = () => `\n--- control plane ---\n${cp?.tail()}\n--- agent ---\n${agent?.tail()}`;

  it('registers a task definition, runs a task in a real container, and stops it', async () => {
    const reg = await berth(server, ['taskdef', 'register', '-f', join(repoRoot, 'examples/hello-web.json')]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toMatch(/hello-web:\d+/);

    const ran = await berthJson<{ tasks: TaskJson[]; failures?: unknown[] }>(server, ['task', 'run', 'hello-web']);
    expect(ran.failures ?? []).toEqual([]);
    const taskArn = ran.tasks[0]!.taskArn;
    const taskId = taskArn.split('/').pop()!;
    startedTasks.push(taskId);

    const running = await waitFor('the task to be RUNNING', async () => {
      const t = describeTask(await berthJson(server, ['task', 'describe', taskId]));
      return t.lastStatus === 'RUNNING' ? t : undefined;
    }, 60_000).catch((err) => {
      throw new Error(`${err.message}${diagnostics()}`);
    });

    // The container is in the engine, with Berth's labels.
    const [container] = containersOf(taskId);
    expect(container, 'a running container for the task').toBeDefined();
    expect(container!.labels).toMatchObject({ 'berth.task-id': taskId, 'berth.cluster': 'default', 'berth.container-name': 'web' });

    // Its dynamic host port is reported and serves on 127.0.0.1.
    const binding = running.containers[0]!.networkBindings![0]!;
    expect(binding.containerPort).toBe(8080);
    expect(binding.hostPort).toBeGreaterThan(0);
    const page = await waitFor('the web container to answer', async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${binding.hostPort}/`);
        return res.ok ? await res.text() : undefined;
      } catch {
        return undefined;
      }
    }, 20_000);
    expect(page).toContain('hello from berth');

    const ls = await berth(server, ['task', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(taskId);
    expect(ls.stdout).toContain('RUNNING');

    const stop = await berth(server, ['task', 'stop', taskId, '--reason', 'end-to-end test done']);
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await waitFor('the task to be STOPPED', async () => {
      const t = describeTask(await berthJson(server, ['task', 'describe', taskId]));
      return t.lastStatus === 'STOPPED' ? t : undefined;
    }, 60_000);
    expect(stopped).toMatchObject({ desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'end-to-end test done' });
    expect(typeof stopped.containers[0]!.exitCode).toBe('number');
    await waitFor('the container to be gone', () => containersOf(taskId, true).length === 0, 30_000);

    const human = await berth(server, ['task', 'describe', taskId]);
    expect(human.stdout).toContain('STOPPED');
  });

  it('keeps containers running while the control plane is down, and reconnects by itself', async () => {
    const ran = await berthJson<{ tasks: TaskJson[] }>(server, ['task', 'run', 'hello-web']);
    const taskId = ran.tasks[0]!.taskArn.split('/').pop()!;
    startedTasks.push(taskId);
    await waitFor('RUNNING', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'RUNNING', 60_000);
    const before = containersOf(taskId);
    expect(before).toHaveLength(1);

    await cp!.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    const during = containersOf(taskId);
    expect(during.map((c) => c.id)).toEqual(before.map((c) => c.id));
    expect(during[0]!.state).toBe('running');
    expect(agent!.running).toBe(true);

    cp = startControlPlane();
    await ready();
    await waitFor('the agent to reconnect', async () => {
      const r = await berth(server, ['node', 'ls', '--output', 'json']);
      return r.code === 0 && /"agentConnected":\s*true/.test(r.stdout);
    }, 60_000).catch((err) => {
      throw new Error(`${err.message}${diagnostics()}`);
    });
    const t = describeTask(await berthJson(server, ['task', 'describe', taskId]));
    expect(t.lastStatus).toBe('RUNNING');
    const ls = await berth(server, ['task', 'ls']);
    expect(ls.stdout).toContain(taskId);
    // The same container, not a second one.
    expect(containersOf(taskId).map((c) => c.id)).toEqual(before.map((c) => c.id));

    await berth(server, ['task', 'stop', taskId]);
    await waitFor('stopped', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'STOPPED', 60_000);
  });

  it('adopts its containers after the agent is killed with SIGKILL, starting no duplicate', async () => {
    const ran = await berthJson<{ tasks: TaskJson[] }>(server, ['task', 'run', 'hello-web']);
    const taskId = ran.tasks[0]!.taskArn.split('/').pop()!;
    startedTasks.push(taskId);
    await waitFor('RUNNING', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'RUNNING', 60_000);
    const before = containersOf(taskId).map((c) => c.id);

    await agent!.stop('SIGKILL');
    agent = startAgent();
    await waitFor('the agent to reconnect', async () => {
      const r = await berth(server, ['node', 'ls', '--output', 'json']);
      return r.code === 0 && /"agentConnected":\s*true/.test(r.stdout);
    }, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(containersOf(taskId, true).map((c) => c.id)).toEqual(before);
    expect(describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus).toBe('RUNNING');
    const nodes = await berthJson<{ containerInstances: unknown[] }>(server, ['node', 'ls']);
    expect(nodes.containerInstances).toHaveLength(1); // the same node identity, not a second node

    await berth(server, ['task', 'stop', taskId]);
    await waitFor('stopped', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'STOPPED', 60_000);
  });

  it('reports a task whose image cannot be had as STOPPED with TaskFailedToStart', async () => {
    const file = join(work, 'missing-image.json');
    writeFileSync(file, JSON.stringify({ family: 'missing-image', containerDefinitions: [{ name: 'app', image: '127.0.0.1:1/berth/missing:1', memory: 16 }] }));
    expect((await berth(server, ['taskdef', 'register', '-f', file])).code).toBe(0);
    const ran = await berthJson<{ tasks: TaskJson[] }>(server, ['task', 'run', 'missing-image']);
    const taskId = ran.tasks[0]!.taskArn.split('/').pop()!;
    startedTasks.push(taskId);
    const t = await waitFor('STOPPED', async () => {
      const d = describeTask(await berthJson(server, ['task', 'describe', taskId]));
      return d.lastStatus === 'STOPPED' ? d : undefined;
    }, 60_000);
    expect(t.stopCode).toBe('TaskFailedToStart');
    expect(JSON.stringify(t.containers)).toContain('CannotPullContainerError');
    expect(containersOf(taskId, true)).toEqual([]);
  });

  it('drains a node through the CLI: a new task waits PROVISIONING with the reason, and is placed once the node is activated', async () => {
    const nodes = await berthJson<{ containerInstances: { nodeId: string }[] }>(server, ['node', 'ls']);
    const nodeId = nodes.containerInstances[0]!.nodeId;
    expect((await berth(server, ['node', 'drain', nodeId])).stdout).toBe(`node ${nodeId} DRAINING\n`);
    const waiting = await berth(server, ['task', 'run', 'hello-web']);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stdout).toContain('PROVISIONING');
    expect(waiting.stderr).toContain(`waits for a node: no node met all requirements (1 not ACTIVE or not connected); the closest, node ${nodeId} is DRAINING`);
    const taskId = /^([0-9a-f]{32})/m.exec(waiting.stdout.split('\n')[1] ?? '')![1]!;
    startedTasks.push(taskId);
    const described = await berth(server, ['task', 'describe', taskId]);
    expect(described.stdout).toMatch(/Waiting: +no node met all requirements/);
    expect((await berth(server, ['node', 'activate', nodeId])).code).toBe(0);
    await waitFor('the waiting task to be placed and RUNNING', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'RUNNING', 60_000);
    const events = await berth(server, ['events', '--last', '50']);
    expect(events.stdout).toMatch(/task\.provisioning .*waits for a node/);
    expect(events.stdout).toMatch(new RegExp(`task\\.placed .*${taskId}`));
    await berth(server, ['task', 'stop', taskId]);
    await waitFor('stopped', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'STOPPED', 60_000);
  });

  it('places with ECS constraints and strategies from the CLI', async () => {
    const arch = await berth(server, ['task', 'run', 'hello-web', '--placement-constraint', 'memberOf:attribute:berth.arch == amd64', '--placement-strategy', 'spread:instanceId', '--placement-strategy', 'binpack:memory']);
    expect(arch.code, arch.stderr).toBe(0);
    const placedId = /^([0-9a-f]{32})/m.exec(arch.stdout.split('\n')[1] ?? '')![1]!;
    startedTasks.push(placedId);
    expect(arch.stdout).toContain('PENDING');
    const pi = await berth(server, ['task', 'run', 'hello-web', '--placement-constraint', 'memberOf:attribute:ecs.cpu-architecture == arm64']);
    expect(pi.stderr).toContain('does not match attribute:ecs.cpu-architecture == arm64');
    const waitingId = /^([0-9a-f]{32})/m.exec(pi.stdout.split('\n')[1] ?? '')![1]!;
    expect((await berth(server, ['task', 'stop', waitingId])).code).toBe(0);
    expect(describeTask(await berthJson(server, ['task', 'describe', waitingId])).lastStatus).toBe('STOPPED'); // no node to wait for
    const bad = await berth(server, ['task', 'run', 'hello-web', '--placement-constraint', 'memberOf:attribute:arch =='] );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('placementConstraints[0].expression: expected a value at character');
    await berth(server, ['task', 'stop', placedId]);
    await waitFor('stopped', async () => describeTask(await berthJson(server, ['task', 'describe', placedId])).lastStatus === 'STOPPED', 60_000);
  });

  it('marks a stopped agent\'s tasks STOPPED with NodeLost after the grace, and reconciles the stale container away when it returns', async () => {
    expect((await berth(server, ['cluster', 'update', 'default', '--node-lost-grace', '3'])).code).toBe(0);
    try {
      const ran = await berthJson<{ tasks: TaskJson[] }>(server, ['task', 'run', 'hello-web']);
      const taskId = ran.tasks[0]!.taskArn.split('/').pop()!;
      startedTasks.push(taskId);
      await waitFor('RUNNING', async () => describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus === 'RUNNING', 60_000);
      const before = containersOf(taskId).map((c) => c.id);
      expect(before).toHaveLength(1);

      await agent!.stop('SIGTERM');
      const lost = await waitFor('the task to be lost with its node', async () => {
        const d = describeTask(await berthJson(server, ['task', 'describe', taskId]));
        return d.lastStatus === 'STOPPED' ? d : undefined;
      }, 30_000);
      expect(lost.stopCode).toBe('NodeLost');
      // The control plane gave up on the task; nothing killed the container while its agent was away.
      expect(containersOf(taskId).map((c) => c.state)).toEqual(['running']);
      const events = await berth(server, ['events', '--last', '50']);
      expect(events.stdout).toMatch(/node\.disconnected/);
      expect(events.stdout).toMatch(/node\.lost .* 1 task\(s\) marked STOPPED/);

      agent = startAgent();
      await waitFor('the agent to reconnect', async () => {
        const r = await berth(server, ['node', 'ls', '--output', 'json']);
        return r.code === 0 && /"agentConnected":\s*true/.test(r.stdout);
      }, 60_000);
      // Back, its desired state no longer holds the task: the stale container goes, and none replaces it.
      await waitFor('the stale container to stop', async () => containersOf(taskId).length === 0, 60_000);
      expect(containersOf(taskId, true).every((c) => before.includes(c.id))).toBe(true);
      expect(describeTask(await berthJson(server, ['task', 'describe', taskId])).lastStatus).toBe('STOPPED');
    } finally {
      await berth(server, ['cluster', 'update', 'default', '--node-lost-grace', '10']);
    }
  });

  it('answers bad input with a reason instead of crashing', async () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ family: 'bad', containerDefinitions: [{ name: 'web', image: TEST_IMAGE, memory: 16, portMappings: [{ containerPort: 70000 }] }] }));
    const r1 = await berth(server, ['taskdef', 'register', '-f', bad]);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toContain('containerDefinitions[0].portMappings[0].containerPort: must be 1-65535, got 70000');

    writeFileSync(bad, '{"family": "x", ');
    const r2 = await berth(server, ['taskdef', 'register', '-f', bad]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/invalid JSON/i);

    const r3 = await berth(server, ['task', 'run', 'no-such-family']);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toContain('no-such-family not found');

    // The control plane is still serving.
    expect((await berth(server, ['node', 'ls'])).code).toBe(0);
    expect(cp!.running).toBe(true);
  });
});
