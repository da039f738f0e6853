import { execFileSync } from 'node:child_process';
import { requireDocker, requireRegistry, startTestRegistry, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerEvent } from './container-runtime.js';
import { planTask, toCreateSpec } from './create-spec.js';
import { DockerRuntime } from './docker-runtime.js';

const run = requireDocker();
const taskId = `e0${Date.now().toString(16).padStart(30, '0')}`.slice(0, 32);
const task = { taskId, taskArn: `arn:aws:ecs:local:0:task/default/${taskId}`, cluster: 'default', family: 'itest', revision: 1, desiredStatus: 'RUNNING', taskDefinitionJson: '{}', secrets: [], secretsError: '' };
const spec = { family: 'itest', containerDefinitions: [] };

describe.runIf(run)('DockerRuntime on the real engine', () => {
  const docker = new DockerRuntime(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');

  afterAll(async () => {
    for (const c of (await docker.list()).filter((c) => c.taskId === taskId)) await docker.remove(c.id);
  });

  it('creates a labelled container with a dynamic port that answers on 127.0.0.1', async () => {
    const create = toCreateSpec(task, spec, { name: 'web', image: TEST_IMAGE, command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'], memory: 32, portMappings: [{ containerPort: 8080 }], stopTimeout: 1 }, { bindIp: '127.0.0.1', pauseImage: 'berth/pause:1' });
    const id = await docker.create(create);
    // Same deterministic name again (an agent that died after create): the existing one is returned.
    expect(await docker.create(create)).toBe(id);
    await docker.start(id);
    await docker.start(id); // already started: no error

    const listed = (await docker.list()).filter((c) => c.taskId === taskId);
    expect(listed).toEqual([{ id, taskId, containerName: 'web', state: 'running' }]);
    const info = await docker.inspect(id);
    expect(info).toMatchObject({ state: 'running', oomKilled: false });
    const port = info!.ports.find((p) => p.containerPort === 8080)!;
    expect(port).toMatchObject({ bindIp: '127.0.0.1', protocol: 'tcp' });
    const body = await waitFor('httpd to answer', async () => {
      const res = await fetch(`http://127.0.0.1:${port.hostPort}/`).catch(() => undefined);
      return res?.ok ? res.text() : undefined;
    }, 10_000);
    expect(body).toContain('hello from berth');

    const events: ContainerEvent[] = [];
    const unsubscribe = docker.subscribe((e) => events.push(e), () => {});
    await new Promise((r) => setTimeout(r, 300));
    await docker.stop(id, 1);
    await docker.stop(id, 1); // already stopped: no error
    const stopped = await docker.inspect(id);
    expect(stopped?.state).toBe('exited');
    expect(typeof stopped?.exitCode).toBe('number');
    await waitFor('a die event', () => events.find((e) => e.action === 'die' && e.id === id), 10_000);
    unsubscribe();
    await docker.remove(id);
    await docker.remove(id); // already gone: no error
    expect(await docker.inspect(id)).toBeUndefined();
  });

  it('stop without a timeout waits the container\'s own stop timeout (from the task definition), not a fixed one', async () => {
    // `sleep` as PID 1 ignores SIGTERM: the stop takes the whole timeout, then SIGKILL.
    const create = toCreateSpec(task, spec, { name: 'stubborn', image: TEST_IMAGE, command: ['sleep', '3600'], memory: 16, stopTimeout: 2 }, { bindIp: '127.0.0.1', pauseImage: 'berth/pause:1' });
    const id = await docker.create(create);
    await docker.start(id);
    const began = Date.now();
    await docker.stop(id);
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(1_800);
    expect(took).toBeLessThan(8_000); // the engine's default would be 10 s
    expect((await docker.inspect(id))?.exitCode).toBe(137);
    await docker.remove(id);
  });

  it('reports an OOM kill', async () => {
    const create = toCreateSpec({ ...task }, spec, { name: 'hog', image: TEST_IMAGE, command: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'], memory: 8 }, { bindIp: '127.0.0.1', pauseImage: 'berth/pause:1' });
    const id = await docker.create(create);
    await docker.start(id);
    const info = await waitFor('the container to be killed', async () => {
      const i = await docker.inspect(id);
      return i?.state === 'exited' ? i : undefined;
    }, 30_000);
    expect(info.oomKilled).toBe(true);
    expect(info.exitCode).toBe(137);
    await docker.remove(id);
  });

  it('pulls nothing for an image that is present, and fails clearly for one that cannot be had', async () => {
    await docker.ensureImage(TEST_IMAGE, 'if-not-present');
    await expect(docker.ensureImage(TEST_IMAGE, 'never')).resolves.toBeUndefined();
    await expect(docker.ensureImage('berth/not-here:1', 'never')).rejects.toThrow('the pull policy is never');
    await expect(docker.ensureImage('127.0.0.1:1/berth/nope:1', 'if-not-present')).rejects.toThrow();
  });

  it('builds the awsvpc namespace holder image locally; it runs and holds a namespace that another container joins', async () => {
    const image = `berth-itest/pause:${process.pid}`;
    await docker.ensurePauseImage(image);
    await docker.ensurePauseImage(image); // present: nothing to do
    const plan = planTask(task, { family: 'itest', networkMode: 'awsvpc', containerDefinitions: [{ name: 'app', image: TEST_IMAGE, command: ['sleep', '30'], stopTimeout: 1 }] }, { bindIp: '127.0.0.1', pauseImage: image });
    const pauseId = await docker.create(plan.pause!);
    await docker.start(pauseId);
    const appId = await docker.create(plan.containers.get('app')!);
    await docker.start(appId);
    expect((await docker.inspect(pauseId))?.state).toBe('running');
    expect((await docker.inspect(appId))?.state).toBe('running');
    const listed = (await docker.list()).filter((c) => c.taskId === taskId && c.role === 'pause');
    expect(listed.map((c) => c.id)).toEqual([pauseId]);
    const u = await docker.usage(appId);
    expect(u!.memoryBytes).toBeGreaterThan(0);
    expect(u!.cpuTotalNs).toBeGreaterThan(0);
    await docker.remove(appId);
    await docker.remove(pauseId);
    execFileSync('docker', ['rmi', image], { stdio: 'pipe' });
  });

  it('creates task volumes with their driver options, refuses a missing shared volume without autoprovision, removes a task\'s volumes', async () => {
    const name = `berth-${taskId}-data`;
    await docker.ensureVolume({ name, driver: 'local', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }, labels: { 'berth.managed': 'true', 'berth.task-id': taskId }, shared: false, autoprovision: true });
    const info = JSON.parse(execFileSync('docker', ['volume', 'inspect', name], { encoding: 'utf8' }))[0];
    expect(info.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    await expect(docker.ensureVolume({ name: `berth-itest-missing-${process.pid}`, driver: 'local', driverOpts: {}, labels: {}, shared: true, autoprovision: false })).rejects.toThrow(/does not exist on this node/);
    await docker.removeTaskVolumes(taskId);
    expect(execFileSync('docker', ['volume', 'ls', '-q', '--filter', `label=berth.task-id=${taskId}`], { encoding: 'utf8' }).trim()).toBe('');
  });
});

describe.runIf(run && requireRegistry())('image pull policies against a registry on 127.0.0.1', () => {
  const docker = new DockerRuntime(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock');

  it('never: refuses a missing image; if-not-present: pulls once; always: asks the registry every time', async () => {
    const registry = await startTestRegistry();
    const ref = `${registry.host}/berth/busybox:pull-${process.pid}`;
    try {
      execFileSync('docker', ['tag', TEST_IMAGE, ref]);
      execFileSync('docker', ['push', ref], { stdio: 'pipe' });
      execFileSync('docker', ['rmi', ref], { stdio: 'pipe' });
      // Pulls ask for the tag's manifest (HEAD or GET); the push asked too, so count from here.
      const manifestAsks = () => registry.log().split('\n').filter((l) => /method=(GET|HEAD)/.test(l) && l.includes(`/manifests/pull-${process.pid}`)).length;
      const afterPush = manifestAsks();

      await expect(docker.ensureImage(ref, 'never')).rejects.toThrow(/not on this node and the pull policy is never/);
      await docker.ensureImage(ref, 'if-not-present');
      execFileSync('docker', ['image', 'inspect', ref], { stdio: 'pipe' });
      const afterFirst = manifestAsks();
      expect(afterFirst).toBeGreaterThan(afterPush);
      await docker.ensureImage(ref, 'if-not-present');
      await docker.ensureImage(ref, 'never');
      expect(manifestAsks()).toBe(afterFirst); // present: the registry is not asked
      await docker.ensureImage(ref, 'always');
      await waitFor('the registry to log the pull', () => manifestAsks() > afterFirst, 5_000);
    } finally {
      execFileSync('docker', ['rmi', '-f', ref], { stdio: 'pipe' });
      await registry.stop();
    }
  });
});
