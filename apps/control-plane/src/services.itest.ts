import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/domain';
import type { AgentServiceClient, ControlServiceClient } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import type { AppContext } from './services/context.js';
import { updateContainerInstancesStateOp } from './services/nodes.js';
import { createServiceOp, deleteServiceOp, describeServicesOp, listServicesOp, updateServiceOp, type ServiceView } from './services/services.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { BACKENDS, controlCall, startOnBackend, type BackendEnv } from './test-support/backends.js';
import { SimulatedAgent, type SimulatedAgentOptions } from './test-support/simulated-agent.js';

const log = pino({ level: 'silent' });

type Deployment = { id: string; status: string; rolloutState: string; taskDefinition: string; runningCount: number; failedTasks: number };
type Svc = ServiceView & { deployments: Deployment[]; events: { message: string }[]; runningCount: number; desiredCount: number; status: string; taskDefinition: string };

/** Services end to end on both stores, with simulated agents (real protocol, no Docker). */
describe.each(BACKENDS)('services on $name', (backend) => {
  let env: BackendEnv | undefined;
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let control: ControlServiceClient;
  let ctx: AppContext;
  const sims: SimulatedAgent[] = [];

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    ({ cp, agents, control } = await startOnBackend(env, log, { services: { resyncMs: 1000 }, reconnectAllowanceMs: 0 }));
    ctx = {
      db: cp.db,
      arn: { region: 'local', account: '000000000000' },
      clock: systemClock,
      random: { next: Math.random, bytes: (n) => randomBytes(n) },
      log,
      nodesChanged: (ids) => cp.sessions.nodesChanged(ids),
      servicesChanged: (c, names) => (names ? names.forEach((n) => cp.services.enqueue(c, n)) : cp.services.enqueueCluster(c)),
    };
    for (const [family, extra] of [
      ['web', {}],
      ['web', { environment: [{ name: 'V', value: '2' }] }],
      ['web', { environment: [{ name: 'V', value: '3' }] }],
      ['broken', {}],
      ['mon', {}],
    ] as const) {
      await registerTaskDefinitionOp(ctx, JSON.stringify({ family, containerDefinitions: [{ name: 'app', image: 'busybox', memory: 64, ...extra }] }));
    }
    // A broken revision of web (revision 4): its tasks exit at once.
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 64, command: ['exit-at-once'] }] }));
  });
  afterAll(async () => {
    if (!env) return;
    for (const s of sims) s.end();
    agents.close();
    control.close();
    await cp.close();
    await env.cleanup();
  });

  const exitsAtOnce: SimulatedAgentOptions['outcome'] = (def) =>
    def.family === 'broken' || JSON.stringify(def).includes('exit-at-once') ? 'exit' : 'run';
  const join = async (cluster: string, o: SimulatedAgentOptions = {}) => {
    const a = new SimulatedAgent(agents, { outcome: exitsAtOnce, ...o, hello: { cluster, ...o.hello } });
    sims.push(a);
    await a.ready();
    return a;
  };
  const cluster = async (name: string) => cp.db.sql`INSERT INTO clusters (name) VALUES (${name}) ON CONFLICT DO NOTHING`;
  const describe1 = async (c: string, name: string) => (await describeServicesOp(ctx, { cluster: c, services: [name] })).found[0] as Svc;
  const steady = (c: string, name: string, pred: (s: Svc) => boolean = () => true) =>
    waitFor(`service ${name} steady`, async () => {
      const s = await describe1(c, name);
      return s.deployments.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED' && s.runningCount === s.desiredCount && pred(s) ? s : undefined;
    }, 20_000);

  /** Samples the service's tasks every 50 ms: the most not STOPPED, the fewest RUNNING. */
  const sampler = (c: string, name: string) => {
    let maxTotal = 0;
    let minHealthy = Infinity;
    let on = true;
    const loop = (async () => {
      while (on) {
        const [r] = await cp.db.sql`
          SELECT count(*) FILTER (WHERE last_status <> 'STOPPED')::int AS total,
                 count(*) FILTER (WHERE last_status = 'RUNNING' AND desired_status = 'RUNNING')::int AS healthy
          FROM tasks WHERE cluster = ${c} AND task_group = ${'service:' + name}`;
        maxTotal = Math.max(maxTotal, r!.total as number);
        minHealthy = Math.min(minHealthy, r!.healthy as number);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    return async () => {
      on = false;
      await loop;
      return { maxTotal, minHealthy };
    };
  };

  it('creates a REPLICA service in ECS shapes, spreads it, and reaches a steady state', async () => {
    if (!env) return;
    await cluster('svc');
    await join('svc');
    await join('svc');
    const { service, warnings } = await createServiceOp(
      ctx,
      JSON.stringify({ cluster: 'svc', serviceName: 'web', taskDefinition: 'web:1', desiredCount: 4, launchType: 'FARGATE', deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 } }),
    );
    expect(warnings).toEqual(['launchType: ignored: every Berth task runs on a node agent (as EC2 launch type)']);
    expect(service).toMatchObject({ serviceArn: 'arn:aws:ecs:local:000000000000:service/svc/web', status: 'ACTIVE', desiredCount: 4, schedulingStrategy: 'REPLICA', launchType: 'FARGATE' });
    const s = await steady('svc', 'web');
    expect(s.deployments[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', runningCount: 4, failedTasks: 0 });
    expect(s.events.map((e) => e.message)).toContain('(service web) has reached a steady state.');
    expect(s.events.some((e) => /^\(service web\) has started \d+ tasks: \(task [0-9a-f]{32}\)/.test(e.message))).toBe(true);
    // Spread over both nodes.
    const perNode = await cp.db.sql`SELECT node_id, count(*)::int AS n FROM tasks WHERE task_group = 'service:web' AND cluster = 'svc' AND last_status = 'RUNNING' GROUP BY node_id`;
    expect(perNode.map((r) => r.n)).toEqual([2, 2]);
    // The gRPC API speaks the same JSON.
    const call = controlCall(() => control);
    const listed = await call<{ serviceArns: string[] }>('listServices', { cluster: 'svc' });
    expect(listed.serviceArns).toEqual(['arn:aws:ecs:local:000000000000:service/svc/web']);
    const described = await call<{ servicesJson: string[]; failures: { reason: string }[] }>('describeServices', { cluster: 'svc', services: ['web', 'nope'] });
    expect(JSON.parse(described.servicesJson[0]!).serviceName).toBe('web');
    expect(described.failures).toEqual([{ arn: 'nope', reason: 'MISSING', detail: '' }]);
  });

  it('replaces a task that exits', async () => {
    if (!env) return;
    const [victim] = await cp.db.sql`SELECT id, node_id FROM tasks WHERE task_group = 'service:web' AND cluster = 'svc' AND last_status = 'RUNNING' LIMIT 1`;
    sims.find((a) => a.nodeId === victim!.node_id)!.crash(victim!.id as string);
    await waitFor('a replacement', async () => {
      const [r] = await cp.db.sql`SELECT count(*)::int AS n FROM tasks WHERE task_group = 'service:web' AND cluster = 'svc' AND last_status = 'RUNNING' AND id <> ${victim!.id}`;
      return r!.n === 4 ? true : undefined;
    }, 10_000);
  });

  it('rolls 4 tasks at 50/100: down to 2 healthy, never above 4', async () => {
    if (!env) return;
    const stop = sampler('svc', 'web');
    await updateServiceOp(ctx, JSON.stringify({ cluster: 'svc', service: 'web', taskDefinition: 'web:2' }));
    const s = await steady('svc', 'web', (x) => x.taskDefinition.endsWith('web:2'));
    const seen = await stop();
    expect(seen.maxTotal).toBeLessThanOrEqual(4);
    expect(seen.minHealthy).toBeGreaterThanOrEqual(2);
    expect(s.deployments).toHaveLength(1);
  });

  it('rolls 4 tasks at 100/150: never below 4 healthy, up to 6', async () => {
    if (!env) return;
    const stop = sampler('svc', 'web');
    await updateServiceOp(ctx, JSON.stringify({ cluster: 'svc', service: 'web', taskDefinition: 'web:3', deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 150 } }));
    await steady('svc', 'web', (x) => x.taskDefinition.endsWith('web:3'));
    const seen = await stop();
    expect(seen.maxTotal).toBeLessThanOrEqual(6);
    expect(seen.minHealthy).toBeGreaterThanOrEqual(4);
  });

  it('trips the circuit breaker on a revision that exits at once and rolls back', async () => {
    if (!env) return;
    await updateServiceOp(ctx, JSON.stringify({ cluster: 'svc', service: 'web', taskDefinition: 'web:4', deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } } }));
    const s = await waitFor('rollback', async () => {
      const x = await describe1('svc', 'web');
      return x.events.some((e) => e.message.startsWith('(service web) rolling back to deployment')) ? x : undefined;
    }, 20_000);
    expect(s.events.map((e) => e.message)).toContainEqual(expect.stringMatching(/^\(service web\) \(deployment ecs-svc\/\d{19}\) deployment failed: tasks failed to start\.$/));
    expect(s.events.map((e) => e.message)).toContainEqual(expect.stringMatching(/^\(service web\) is unable to consistently start tasks successfully: \d+ task\(s\) failed since .*; the next launch waits \d+ s\.$/));
    const back = await steady('svc', 'web', (x) => x.taskDefinition.endsWith('web:3'));
    expect(back.runningCount).toBe(4);
    // The failed deployment is gone from the list once drained; its record says FAILED.
    const [failed] = await cp.db.sql`SELECT rollout_state, failed_tasks FROM deployments WHERE service = 'web' AND task_definition = 'web:4'`;
    expect(failed).toMatchObject({ rollout_state: 'FAILED' });
    expect(failed!.failed_tasks).toBeGreaterThanOrEqual(3);
  });

  it('refuses bounds that could never make progress, and bad input, with the field', async () => {
    if (!env) return;
    await expect(updateServiceOp(ctx, JSON.stringify({ cluster: 'svc', service: 'web', deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 100 } }))).rejects.toThrow(
      /^deploymentConfiguration: minimumHealthyPercent 100 with maximumPercent 100 lets a deployment neither stop a task nor start one/,
    );
    await expect(createServiceOp(ctx, JSON.stringify({ cluster: 'svc', serviceName: 'web', taskDefinition: 'web', desiredCount: 1 }))).rejects.toThrow(/service web already exists in cluster svc/);
    await expect(createServiceOp(ctx, JSON.stringify({ cluster: 'svc', serviceName: 'x', taskDefinition: 'nope', desiredCount: 1 }))).rejects.toThrow(/task definition family nope not found/);
    await expect(createServiceOp(ctx, JSON.stringify({ cluster: 'svc', serviceName: 'x', taskDefinition: 'web', desiredCount: 1, placementConstraints: [{ type: 'memberOf', expression: 'attribute:x ==' }] }))).rejects.toThrow(/placementConstraints\[0\]/);
    await expect(deleteServiceOp(ctx, { cluster: 'svc', service: 'web' })).rejects.toThrow(/scale it to 0 first/);
  });

  it('moves tasks off a draining node, starting replacements first', async () => {
    if (!env) return;
    await join('svc');
    const [{ node_id: busy }] = (await cp.db.sql`SELECT node_id FROM tasks WHERE task_group = 'service:web' AND cluster = 'svc' AND last_status = 'RUNNING' LIMIT 1`) as unknown as [{ node_id: string }];
    const stop = sampler('svc', 'web');
    await updateContainerInstancesStateOp(ctx, { cluster: 'svc', containerInstances: [busy], status: 'DRAINING' });
    await waitFor('drained', async () => {
      const [r] = await cp.db.sql`SELECT count(*)::int AS n FROM tasks WHERE node_id = ${busy} AND last_status <> 'STOPPED'`;
      return r!.n === 0 ? true : undefined;
    }, 15_000);
    await steady('svc', 'web');
    const seen = await stop();
    expect(seen.minHealthy).toBeGreaterThanOrEqual(4); // 100/150 keeps all 4 healthy
    await updateContainerInstancesStateOp(ctx, { cluster: 'svc', containerInstances: [busy], status: 'ACTIVE' });
  });

  it('scales, then deletes: DRAINING until its tasks stopped, then INACTIVE', async () => {
    if (!env) return;
    await updateServiceOp(ctx, JSON.stringify({ cluster: 'svc', service: 'web', desiredCount: 1 }));
    await steady('svc', 'web', (x) => x.runningCount === 1);
    const deleted = await deleteServiceOp(ctx, { cluster: 'svc', service: 'web', force: true });
    expect(deleted.status).toBe('DRAINING');
    await waitFor('INACTIVE', async () => ((await describe1('svc', 'web')).status === 'INACTIVE' ? true : undefined), 10_000);
    const page = await listServicesOp(ctx, { cluster: 'svc' });
    expect(page.items).toEqual([]);
    // The name is free again.
    await createServiceOp(ctx, JSON.stringify({ cluster: 'svc', serviceName: 'web', taskDefinition: 'web:1', desiredCount: 0 }));
  });

  it('a DAEMON service runs one task per matching node, also on nodes that join later, and leaves nodes that drain', async () => {
    if (!env) return;
    await cluster('daemons');
    const first = await join('daemons');
    await createServiceOp(ctx, JSON.stringify({ cluster: 'daemons', serviceName: 'mon', taskDefinition: 'mon', schedulingStrategy: 'DAEMON' }));
    await steady('daemons', 'mon', (s) => s.desiredCount === 1);
    const second = await join('daemons');
    const s = await steady('daemons', 'mon', (x) => x.desiredCount === 2 && x.runningCount === 2);
    expect(s.deployments[0]!.runningCount).toBe(2);
    await waitFor('a task on the new node', () => (second.running().length === 1 ? true : undefined), 5_000);
    await updateContainerInstancesStateOp(ctx, { cluster: 'daemons', containerInstances: [first.nodeId], status: 'DRAINING' });
    await steady('daemons', 'mon', (x) => x.desiredCount === 1 && x.runningCount === 1);
    await waitFor('the drained node is empty', () => (first.running().length === 0 ? true : undefined), 5_000);
    // Deleting a DAEMON service (no scale to 0 needed) stops its tasks everywhere.
    await deleteServiceOp(ctx, { cluster: 'daemons', service: 'mon' });
    await waitFor('INACTIVE', async () => ((await describe1('daemons', 'mon')).status === 'INACTIVE' ? true : undefined), 10_000);
    await waitFor('no daemon task left', () => (second.running().length === 0 ? true : undefined), 5_000);
  });

  it('a lost node: its replicas are replaced elsewhere; when it returns, exactly one copy of each survives', async () => {
    if (!env) return;
    await cluster('loss');
    await cp.db.sql`UPDATE clusters SET node_lost_grace_seconds = 1 WHERE name = 'loss'`;
    const a = await join('loss');
    const b = await join('loss');
    await createServiceOp(ctx, JSON.stringify({ cluster: 'loss', serviceName: 'api', taskDefinition: 'web:1', desiredCount: 2 }));
    await steady('loss', 'api');
    const onA = a.running();
    expect(onA).toHaveLength(1);
    // A goes silent (its stream ends): disconnected, then lost after the grace; the task is replaced on B.
    a.end();
    await waitFor('replaced on b', () => (b.running().length === 2 ? true : undefined), 20_000);
    const s = await steady('loss', 'api');
    expect(s.runningCount).toBe(2);
    // A comes back (same node id): its old task is not in its desired set, nothing new is placed.
    const back = await join('loss', { hello: { nodeId: a.nodeId } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(back.running()).toEqual([]);
    const [r] = await cp.db.sql`SELECT count(*)::int AS n FROM tasks WHERE cluster = 'loss' AND task_group = 'service:api' AND last_status <> 'STOPPED'`;
    expect(r!.n).toBe(2);
    const [old] = await cp.db.sql`SELECT last_status, stop_code FROM tasks WHERE id = ${onA[0]!}`;
    expect(old).toMatchObject({ last_status: 'STOPPED', stop_code: 'NodeLost' });
  });

  it('a control-plane restart in the middle of a rolling update places nothing twice', async () => {
    if (!env) return;
    await cluster('restart');
    const slow = { startDelayMs: 400 };
    const nodes = [await join('restart', slow), await join('restart', slow), await join('restart', slow)];
    await createServiceOp(ctx, JSON.stringify({ cluster: 'restart', serviceName: 'api', taskDefinition: 'web:1', desiredCount: 6, deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 } }));
    await steady('restart', 'api');
    await updateServiceOp(ctx, JSON.stringify({ cluster: 'restart', service: 'api', taskDefinition: 'web:2' }));
    // Mid-change: some new tasks placed, not all.
    await waitFor('the update under way', async () => {
      const [r] = await cp.db.sql`SELECT count(*)::int AS n FROM tasks WHERE cluster = 'restart' AND revision = 2`;
      return (r!.n as number) > 0 ? true : undefined;
    }, 10_000, 10);
    for (const n of nodes) n.end();
    agents.close();
    control.close();
    await cp.close();
    ({ cp, agents, control } = await startOnBackend(env, log, { services: { resyncMs: 1000 }, reconnectAllowanceMs: 0 }));
    ctx = { ...ctx, db: cp.db, nodesChanged: (ids) => cp.sessions.nodesChanged(ids), servicesChanged: (c, names) => (names ? names.forEach((n) => cp.services.enqueue(c, n)) : cp.services.enqueueCluster(c)) };
    for (const n of nodes) await join('restart', { ...slow, hello: { nodeId: n.nodeId } });
    const s = await steady('restart', 'api', (x) => x.taskDefinition.endsWith('web:2'));
    expect(s.runningCount).toBe(6);
    // Exactly the 6 new tasks were ever made for the new revision: nothing placed twice.
    const [made] = await cp.db.sql`SELECT count(*)::int AS n FROM tasks WHERE cluster = 'restart' AND task_group = 'service:api' AND revision = 2`;
    expect(made!.n).toBe(6);
  });
});
