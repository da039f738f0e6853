import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireDocker, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, repoRoot } from './processes.js';
import { containersOf, docker, LocalCluster } from './cluster.js';

/**
 * The ECS container definition on the real engine, through the whole stack:
 * CLI -> control plane -> agent -> Docker, and the status back.
 */
const run = requireDocker();

async function get(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url);
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

describe.runIf(run)('agent: container definitions on a real engine', () => {
  const cluster = new LocalCluster();
  const sharedVolume = `berth-e2e-shared-${process.pid}`;

  beforeAll(() => cluster.start());
  afterAll(async () => {
    await cluster.stop();
    try {
      docker(['volume', 'rm', '-f', sharedVolume]);
    } catch {
      // not created
    }
  });

  it('starts a container only once the one it depends on is HEALTHY', async () => {
    const td = await cluster.register({
      family: 'e2e-deps',
      containerDefinitions: [
        {
          name: 'db',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          command: ['sh', '-c', 'echo db-starting; sleep 2; touch /tmp/ready; echo db-ready >&2; exec sleep 3600'],
          healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/ready'], interval: 5, timeout: 2, retries: 3 },
        },
        { name: 'web', image: TEST_IMAGE, memory: 32, command: ['sleep', '3600'], dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }] },
      ],
    });
    const id = await cluster.run(td);
    const t = await cluster.until(id, 'RUNNING and HEALTHY', (x) => x.lastStatus === 'RUNNING' && x.healthStatus === 'HEALTHY', 90_000);
    expect(t.containers.find((c) => c.name === 'db')!.healthStatus).toBe('HEALTHY');
    const byName = new Map(containersOf(id).map((c) => [c.name, c.info]));
    const firstHealthy = byName.get('db')!.State.Health?.Log.find((l) => l.ExitCode === 0);
    expect(firstHealthy, 'db has passed a health check').toBeDefined();
    expect(new Date(byName.get('web')!.State.StartedAt).getTime()).toBeGreaterThanOrEqual(new Date(firstHealthy!.End).getTime() - 50);

    // berth logs: CLI -> control plane -> agent -> engine, stdout and stderr kept apart.
    const logs = await berth(cluster.server, ['logs', id, '--container', 'db']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('db-starting\n');
    expect(logs.stderr).toBe('db-ready\n');
    const tail = await berth(cluster.server, ['logs', id, '--container', 'db', '--tail', '0']);
    expect(tail.stdout).toBe('');
  });

  it('publishes a dynamic host port on 127.0.0.1 and reports it; mounts a host path, a shared named volume and a task volume; reads an environment file', async () => {
    const www = join(cluster.work, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), 'served from a bind mount\n');
    const envFile = join(cluster.work, 'app.env');
    writeFileSync(envFile, '# comment\nFROM_FILE=env-file-value\n');
    const td = await cluster.register({
      family: 'e2e-volumes',
      volumes: [
        { name: 'www', host: { sourcePath: www } },
        { name: 'shared', dockerVolumeConfiguration: { scope: 'shared', autoprovision: true, driver: 'local' } },
        { name: 'scratch' },
      ],
      containerDefinitions: [
        {
          name: 'web',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
          portMappings: [{ containerPort: 8080 }],
          mountPoints: [{ sourceVolume: 'www', containerPath: '/www', readOnly: true }],
        },
        {
          name: 'writer',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          environmentFiles: [{ value: envFile, type: 's3' }],
          command: ['sh', '-c', 'echo "$FROM_FILE" > /shared/f; echo scratch > /scratch/s; exec sleep 3600'],
          mountPoints: [{ sourceVolume: 'shared', containerPath: '/shared' }, { sourceVolume: 'scratch', containerPath: '/scratch' }],
        },
      ],
    });
    // The shared volume takes its name from the definition: make it unique to this run.
    void sharedVolume;
    const id = await cluster.run(td);
    const t = await cluster.until(id, 'RUNNING', (x) => x.lastStatus === 'RUNNING');
    const binding = t.containers.find((c) => c.name === 'web')!.networkBindings![0]!;
    expect(binding.containerPort).toBe(8080);
    expect(binding.hostPort).toBeGreaterThan(0);
    expect(await waitFor('the page from the bind mount', () => get(`http://127.0.0.1:${binding.hostPort}/`), 20_000)).toBe('served from a bind mount\n');
    await waitFor('the writer to write', () => {
      try {
        return docker(['run', '--rm', '-v', 'shared:/v', TEST_IMAGE, 'cat', '/v/f']) === 'env-file-value';
      } catch {
        return false;
      }
    }, 20_000);
    expect(docker(['volume', 'ls', '-q', '--filter', `label=berth.task-id=${id}`])).toBe(`berth-${id}-scratch`);

    await berth(cluster.server, ['task', 'stop', id]);
    await cluster.until(id, 'STOPPED', (x) => x.lastStatus === 'STOPPED');
    await waitFor('the task volume to be removed with the task', () => docker(['volume', 'ls', '-q', '--filter', `label=berth.task-id=${id}`]) === '', 30_000);
    expect(docker(['volume', 'ls', '-q', '--filter', 'name=^shared$'])).toBe('shared'); // shared scope outlives the task
    docker(['volume', 'rm', 'shared']);
  });

  it('reports a task UNHEALTHY when its health check starts failing', async () => {
    const td = await cluster.register({
      family: 'e2e-unhealthy',
      containerDefinitions: [
        {
          name: 'app',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          command: ['sh', '-c', 'touch /tmp/ok; sleep 7; rm /tmp/ok; exec sleep 3600'],
          healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/ok'], interval: 5, timeout: 2, retries: 1 },
        },
      ],
    });
    const id = await cluster.run(td);
    await cluster.until(id, 'HEALTHY first', (x) => x.healthStatus === 'HEALTHY', 60_000);
    const t = await cluster.until(id, 'UNHEALTHY', (x) => x.healthStatus === 'UNHEALTHY', 60_000);
    expect(t.lastStatus).toBe('RUNNING');
    expect(t.containers[0]!.healthStatus).toBe('UNHEALTHY');
  });

  it('enforces the memory limit and reports an OOM kill', async () => {
    const td = await cluster.register({
      family: 'e2e-oom',
      containerDefinitions: [{ name: 'hog', image: TEST_IMAGE, memory: 8, command: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'] }],
    });
    const id = await cluster.run(td);
    const t = await cluster.until(id, 'STOPPED', (x) => x.lastStatus === 'STOPPED', 60_000);
    expect(t.stopCode).toBe('EssentialContainerExited');
    expect(t.containers[0]!.exitCode).toBe(137);
    expect(t.containers[0]!.reason).toBe('OutOfMemoryError: Container killed due to memory usage');
  });

  it('awsvpc: containers of a task share one network namespace (localhost), published from it; AWS-only fields become task events', async () => {
    const port = await freePort();
    const td = await cluster.register({
      family: 'e2e-awsvpc',
      networkMode: 'awsvpc',
      containerDefinitions: [
        {
          name: 'server',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          command: ['sh', '-c', `mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p ${port} -h /www`],
          portMappings: [{ containerPort: port }],
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/e2e' } },
        },
        {
          name: 'client',
          image: TEST_IMAGE,
          stopTimeout: 2,
          memory: 32,
          command: ['sh', '-c', `until wget -q -O /tmp/got http://127.0.0.1:${port}/; do sleep 0.2; done; exec sleep 3600`],
          healthCheck: { command: ['CMD-SHELL', 'grep -q pong /tmp/got'], interval: 5, timeout: 2, retries: 3 },
          dependsOn: [{ containerName: 'server', condition: 'START' }],
        },
      ],
    });
    const id = await cluster.run(td);
    const t = await cluster.until(id, 'the client to reach the server on localhost', (x) => x.lastStatus === 'RUNNING' && x.containers.find((c) => c.name === 'client')?.healthStatus === 'HEALTHY', 90_000);
    expect(t.lastStatus).toBe('RUNNING');
    const containers = containersOf(id);
    const pause = containers.find((c) => c.labels['berth.role'] === 'pause');
    expect(pause, 'the namespace holder').toBeDefined();
    for (const c of containers.filter((x) => x !== pause)) expect(c.info.HostConfig.NetworkMode).toBe(`container:${pause!.id}`);
    expect(await waitFor('the task port on the node', () => get(`http://127.0.0.1:${port}/`), 20_000)).toBe('pong\n');
    const events = await cluster.events();
    expect(events.some((e) => e.kind === 'task.warning' && e.subject === id && e.message.includes('awslogs'))).toBe(true);

    await berth(cluster.server, ['task', 'stop', id]);
    await cluster.until(id, 'STOPPED', (x) => x.lastStatus === 'STOPPED');
    await waitFor('every container of the task, the holder too, to be removed', () => containersOf(id, { all: true }).length === 0, 30_000);
  });
});

describe.runIf(run)('agent: the one-file bundle', () => {
  const cluster = new LocalCluster([], undefined, 'dist/bundles/berth-agent.cjs');
  beforeAll(async () => {
    execFileSync('npm', ['run', 'bundle', '-w', '@berth/agent'], { cwd: repoRoot, stdio: 'pipe' });
    await cluster.start();
  });
  afterAll(() => cluster.stop());

  it('registers, runs a task with a health check, and reports it', async () => {
    const td = await cluster.register({
      family: 'e2e-bundle',
      containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'], healthCheck: { command: ['CMD', 'true'], interval: 5 } }],
    });
    const id = await cluster.run(td);
    await cluster.until(id, 'RUNNING and HEALTHY', (x) => x.lastStatus === 'RUNNING' && x.healthStatus === 'HEALTHY', 60_000);
    await berth(cluster.server, ['task', 'stop', id]);
    await cluster.until(id, 'STOPPED', (x) => x.lastStatus === 'STOPPED');
  });
});
