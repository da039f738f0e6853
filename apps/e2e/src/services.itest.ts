import { join } from 'node:path';
import * as proto from '@berth/proto';
import { ControlServiceClient, type DescribeServicesResponse, type DescribeTasksResponse, type ListTasksResponse } from '@berth/proto';
import { requireDocker, TEST_IMAGE, waitFor } from '@berth/testing';
import { type ServiceError } from '@grpc/grpc-js';
import { clientCredentials } from '@berth/transport';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker, LocalCluster } from './cluster.js';
import { BerthProcess } from './processes.js';

/**
 * Services on the real engine, as the "done when" lists them: a
 * 4-task service that replaces a killed container, rolling updates at 50/100
 * and 100/150 watched by a 100 ms sampler, the circuit breaker rolling back a
 * revision that exits at once, and a DAEMON service gaining a task when a
 * second agent (its own node identity, the same engine) joins.
 */
const run = requireDocker();

interface Deployment {
  id: string;
  status: string;
  rolloutState: string;
  rolloutStateReason: string;
  taskDefinition: string;
}
interface Service {
  status: string;
  desiredCount: number;
  runningCount: number;
  taskDefinition: string;
  deployments: Deployment[];
  events: { message: string }[];
}

/** A sleeper with a health check; init makes it stop at once on SIGTERM. */
const web = (family: string, env: string, command = ['sleep', '3600']) => ({
  family,
  containerDefinitions: [
    {
      name: 'app',
      image: TEST_IMAGE,
      memory: 16,
      stopTimeout: 2,
      command,
      environment: [{ name: 'REV', value: env }],
      linuxParameters: { initProcessEnabled: true },
      healthCheck: { command: ['CMD-SHELL', 'true'], interval: 5, timeout: 2, retries: 1 },
    },
  ],
});

describe.runIf(run)('services on the real engine', () => {
  const cluster = new LocalCluster();
  let control: ControlServiceClient;
  const extraAgents: BerthProcess[] = [];

  beforeAll(async () => {
    await cluster.start();
    control = new ControlServiceClient(cluster.server, clientCredentials({ caPem: readFileSync(cluster.caFile, 'utf8'), token: cluster.adminToken() }));
  });
  afterAll(async () => {
    // Services first, so no replacement is started while the processes stop.
    for (const name of ['web', 'mon']) await call('deleteService', { cluster: 'default', service: name, force: true }).catch(() => undefined);
    await waitFor('the services gone', async () => {
      const left = await Promise.all(['web', 'mon'].map((n) => describeService(n).catch(() => undefined)));
      return left.every((s) => !s || s.status === 'INACTIVE') ? true : undefined;
    }, 30_000).catch(() => undefined);
    control?.close();
    for (const a of extraAgents) await a.stop();
    await cluster.stop();
    for (const family of ['svc-web', 'svc-mon']) {
      for (const id of docker(['ps', '-aq', '--filter', `label=berth.family=${family}`]).split('\n').filter(Boolean)) docker(['rm', '-f', id]);
    }
  });

  function call<Res>(method: string, req: object): Promise<Res> {
    const type = (proto as unknown as Record<string, { fromPartial(o: unknown): object }>)[`${method[0]!.toUpperCase()}${method.slice(1)}Request`]!;
    return new Promise((resolve, reject) =>
      (control as unknown as Record<string, (r: object, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!(type.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }
  const describeService = async (name: string): Promise<Service> => {
    const r = await call<DescribeServicesResponse>('describeServices', { cluster: 'default', services: [name] });
    return JSON.parse(r.servicesJson[0]!) as Service;
  };
  const steady = (name: string, pred: (s: Service) => boolean = () => true, timeoutMs = 90_000) =>
    waitFor(`service ${name} steady`, async () => {
      const s = await describeService(name);
      return s.deployments.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED' && s.runningCount === s.desiredCount && pred(s) ? s : undefined;
    }, timeoutMs).catch(async (err) => {
      throw new Error(`${err.message}\n${JSON.stringify(await describeService(name).catch(() => undefined), null, 1)}${cluster.diagnostics()}`);
    });
  const update = (body: object) => call<{ serviceJson: string }>('updateService', { updateJson: JSON.stringify({ service: 'web', ...body }) });

  /** Service tasks as the control plane sees them. */
  const serviceTasks = async (name: string) => {
    const list = await call<ListTasksResponse>('listTasks', { cluster: 'default', serviceName: name, desiredStatus: 'RUNNING' });
    if (list.taskArns.length === 0) return [];
    return (await call<DescribeTasksResponse>('describeTasks', { cluster: 'default', tasks: list.taskArns })).tasks;
  };

  /**
   * Every 100 ms: containers of the family actually running on the engine (the
   * maximum is about them: a task asked to stop still counts until it has), and
   * tasks the control plane counts healthy (RUNNING, desired RUNNING, HEALTHY).
   */
  const sampler = (family: string) => {
    const seen = { maxRunning: 0, minHealthy: Infinity, samples: 0 };
    let on = true;
    const loop = (async () => {
      while (on) {
        const started = Date.now();
        const running = docker(['ps', '-q', '--filter', `label=berth.family=${family}`, '--filter', 'status=running']).split('\n').filter(Boolean).length;
        const healthy = (await serviceTasks('web')).filter((t) => t.lastStatus === 'RUNNING' && t.healthStatus === 'HEALTHY').length;
        seen.maxRunning = Math.max(seen.maxRunning, running);
        seen.minHealthy = Math.min(seen.minHealthy, healthy);
        seen.samples++;
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    return async () => {
      on = false;
      await loop;
      return seen;
    };
  };

  it('creates a 4-task service that becomes healthy and steady', async () => {
    await cluster.register(web('svc-web', 'one'));
    await call('createService', {
      serviceJson: JSON.stringify({ serviceName: 'web', taskDefinition: 'svc-web:1', desiredCount: 4, healthCheckGracePeriodSeconds: 10 }),
    });
    const s = await steady('web');
    expect(s.runningCount).toBe(4);
    expect((await serviceTasks('web')).every((t) => t.healthStatus === 'HEALTHY')).toBe(true);
    expect(s.events.map((e) => e.message)).toContain('(service web) has reached a steady state.');
  });

  it('replaces a container killed on the engine', async () => {
    const [victim] = await serviceTasks('web');
    const id = victim!.taskArn.split('/').pop()!;
    docker(['kill', containersOf(id)[0]!.id]);
    await waitFor('the killed task STOPPED and a replacement RUNNING', async () => {
      const tasks = await serviceTasks('web');
      return tasks.length === 4 && !tasks.some((t) => t.taskArn === victim!.taskArn) && tasks.every((t) => t.lastStatus === 'RUNNING') ? true : undefined;
    }, 60_000);
    await steady('web');
  });

  it('rolls 4 tasks at 50/100: never more than 4 running, never fewer than 2 healthy', async () => {
    const td = await cluster.register(web('svc-web', 'two'));
    const stop = sampler('svc-web');
    await update({ taskDefinition: td, deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 } });
    await steady('web', (s) => s.taskDefinition.endsWith(td));
    const seen = await stop();
    expect(seen.samples).toBeGreaterThan(20);
    expect(seen.maxRunning).toBeLessThanOrEqual(4);
    expect(seen.minHealthy).toBeGreaterThanOrEqual(2);
  });

  it('rolls 4 tasks at 100/150: never fewer than 4 healthy, never more than 6 running', async () => {
    const td = await cluster.register(web('svc-web', 'three'));
    const stop = sampler('svc-web');
    await update({ taskDefinition: td, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 150 } });
    await steady('web', (s) => s.taskDefinition.endsWith(td));
    const seen = await stop();
    expect(seen.samples).toBeGreaterThan(20);
    expect(seen.maxRunning).toBeLessThanOrEqual(6);
    expect(seen.minHealthy).toBeGreaterThanOrEqual(4);
  });

  it('a revision whose container exits at once: the circuit breaker fails it and rolls back', async () => {
    const good = (await describeService('web')).taskDefinition.split('/').pop()!;
    const bad = await cluster.register(web('svc-web', 'broken', ['sh', '-c', 'exit 3']));
    await update({ taskDefinition: bad, deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } } });
    const s = await steady('web', (x) => x.taskDefinition.endsWith(good) && x.events.some((e) => e.message.startsWith('(service web) rolling back to deployment')));
    const messages = s.events.map((e) => e.message);
    expect(messages).toContainEqual(expect.stringMatching(/^\(service web\) \(deployment ecs-svc\/\d+\) deployment failed: tasks failed to start\.$/));
    // The completed rollback still says what it rolled back from (ECS ListServiceDeployments: ROLLBACK_SUCCESSFUL).
    expect(s.deployments[0]!.rolloutStateReason).toMatch(/^ECS deployment ecs-svc\/\d+ completed \(rolled back to deployment ecs-svc\/\d+ after deployment ecs-svc\/\d+ failed\)\.$/);
    expect(s.runningCount).toBe(4);
  });

  it('a DAEMON service gains a task when a second agent joins the engine with its own identity', async () => {
    await cluster.register({ family: 'svc-mon', containerDefinitions: [{ name: 'mon', image: TEST_IMAGE, memory: 8, stopTimeout: 1, command: ['sleep', '3600'], linuxParameters: { initProcessEnabled: true } }] });
    await call('createService', { serviceJson: JSON.stringify({ serviceName: 'mon', taskDefinition: 'svc-mon', schedulingStrategy: 'DAEMON' }) });
    await steady('mon', (s) => s.desiredCount === 1);
    const second = new BerthProcess('agent-2', 'apps/agent/dist/main.js', [
      '--server', cluster.server, '--data-dir', join(cluster.work, 'agent-2'), '--bind-ip', '127.0.0.1', '--log-level', 'debug', '--token', await cluster.createToken(1),
    ]);
    extraAgents.push(second);
    const s = await steady('mon', (x) => x.desiredCount === 2 && x.runningCount === 2);
    expect(s.runningCount).toBe(2);
    const nodes = new Set((await (async () => {
      const list = await call<ListTasksResponse>('listTasks', { cluster: 'default', serviceName: 'mon', desiredStatus: 'RUNNING' });
      return (await call<DescribeTasksResponse>('describeTasks', { cluster: 'default', tasks: list.taskArns })).tasks;
    })()).map((t) => t.containerInstanceArn));
    expect(nodes.size).toBe(2);
    // Both agents share the engine and leave each other's containers alone: the web service is untouched.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await describeService('web')).runningCount).toBe(4);
    expect(docker(['ps', '-q', '--filter', 'label=berth.family=svc-mon', '--filter', 'status=running']).split('\n').filter(Boolean)).toHaveLength(2);
  });
});
