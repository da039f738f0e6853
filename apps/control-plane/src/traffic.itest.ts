import { randomBytes } from 'node:crypto';
import { BerthError, systemClock } from '@berth/domain';
import type { AgentServiceClient, ControlServiceClient, ProxySnapshot } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import type { AppContext } from './services/context.js';
import {
  createListenerOp,
  createLoadBalancerOp,
  createRuleOp,
  createTargetGroupOp,
  deleteTargetGroupOp,
  describeLoadBalancersOp,
  describeTargetHealthOp,
  registerTargetsOp,
  targetGroupAttributesOp,
} from './services/load-balancers.js';
import { createServiceOp, describeServicesOp, updateServiceOp } from './services/services.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { BACKENDS, startOnBackend, type BackendEnv } from './test-support/backends.js';
import { SimulatedAgent } from './test-support/simulated-agent.js';

const log = pino({ level: 'silent' });

const rejects = async (p: Promise<unknown>): Promise<BerthError> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error('expected a BerthError');
};

/** ELBv2 on the control plane end to end with simulated agents (real protocol): snapshots, health, drains. */
describe.each(BACKENDS)('traffic on $name', (backend) => {
  let env: BackendEnv | undefined;
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let control: ControlServiceClient;
  let ctx: AppContext;
  let ingress: SimulatedAgent;
  let worker: SimulatedAgent;

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
      trafficChanged: () => cp.traffic.kick(),
      traffic: cp.traffic,
    };
    await cp.db.sql`INSERT INTO clusters (name) VALUES ('default') ON CONFLICT DO NOTHING`;
    ingress = new SimulatedAgent(agents, { hello: { cluster: 'default', labels: { 'berth.ingress': 'true' }, address: '127.0.0.2' }, publishOn: '127.0.0.2' });
    worker = new SimulatedAgent(agents, { hello: { cluster: 'default', address: '127.0.0.3' }, publishOn: '127.0.0.3' });
    await Promise.all([ingress.ready(), worker.ready()]);
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 32, portMappings: [{ containerPort: 8080, hostPort: 0 }] }] }));
  });
  afterAll(async () => {
    if (!env) return;
    ingress.end();
    worker.end();
    agents.close();
    control.close();
    await cp.close();
    await env.cleanup();
  });

  const latest = (a: SimulatedAgent): ProxySnapshot | undefined => a.snapshots[a.snapshots.length - 1];
  let tgArn = '';
  let lbArn = '';
  let listenerArn = '';

  it('a load balancer with a listener reaches the ingress node as a snapshot, not the others', async () => {
    if (!env) return;
    const tg = await createTargetGroupOp(ctx, { Name: 'web', Protocol: 'HTTP', Port: 80, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2 });
    tgArn = tg.TargetGroupArn;
    expect(tgArn).toMatch(/^arn:aws:elasticloadbalancing:local:000000000000:targetgroup\/web\/[0-9a-f]{16}$/);
    await targetGroupAttributesOp(ctx, tgArn, [{ Key: 'deregistration_delay.timeout_seconds', Value: '20' }]);
    const { loadBalancer } = await createLoadBalancerOp(ctx, { Name: 'front', Subnets: ['subnet-0abc'] });
    lbArn = loadBalancer.LoadBalancerArn;
    const listener = await createListenerOp(ctx, { LoadBalancerArn: lbArn, Protocol: 'HTTP', Port: 8081, DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] });
    listenerArn = listener.ListenerArn;
    const snap = await waitFor('a snapshot on the ingress node', () => (latest(ingress)?.frontends.length ? latest(ingress) : undefined), 5000);
    expect(snap.frontends[0]).toMatchObject({ bindAddress: '127.0.0.2', port: 8081, protocol: 'HTTP', defaultAction: { type: 'forward', forward: [{ weight: 1 }] } });
    expect(snap.backends[0]).toMatchObject({ protocol: 'HTTP', healthCheck: { path: '/', intervalSeconds: 5, healthyThreshold: 2 }, servers: [] });
    expect(worker.snapshots).toEqual([]);
    const [view] = await waitFor('the load balancer active', async () => {
      const v = await describeLoadBalancersOp(ctx, { LoadBalancerArns: [lbArn] });
      return v[0]!.State.Code === 'active' ? v : undefined;
    }, 5000);
    expect(view).toMatchObject({ DNSName: '127.0.0.2', AvailabilityZones: [{ ZoneName: 'berth.ingress=true', LoadBalancerAddresses: [{ IpAddress: '127.0.0.2' }] }] });
  });

  it('bad input names the field and writes nothing', async () => {
    if (!env) return;
    expect((await rejects(createTargetGroupOp(ctx, { Name: 'web', Protocol: 'HTTP', Port: 81 }))).code).toBe('duplicate-target-group-name');
    expect((await rejects(createLoadBalancerOp(ctx, { Name: 'front' }))).code).toBe('duplicate-load-balancer-name');
    const { loadBalancer: other } = await createLoadBalancerOp(ctx, { Name: 'other', Subnets: ['berth.ingress=true'] });
    const clash = await rejects(createListenerOp(ctx, { LoadBalancerArn: other.LoadBalancerArn, Port: 8081, DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }] }));
    expect(clash.code).toBe('duplicate-listener');
    expect(clash.message).toMatch(/port 8081 is already a listener of load balancer front on node n-/);
    await createRuleOp(ctx, { ListenerArn: listenerArn, Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }], Actions: [{ Type: 'forward', TargetGroupArn: tgArn }] });
    expect((await rejects(createRuleOp(ctx, { ListenerArn: listenerArn, Priority: 10, Conditions: [{ Field: 'host-header', Values: ['a.lan'] }], Actions: [{ Type: 'forward', TargetGroupArn: tgArn }] }))).code).toBe('priority-in-use');
    const bad = await rejects(createRuleOp(ctx, { ListenerArn: listenerArn, Priority: 11, Conditions: [{ Field: 'cookie', Values: ['x'] }], Actions: [{ Type: 'forward', TargetGroupArn: 'arn:aws:elasticloadbalancing:local:000000000000:targetgroup/nope/0123456789abcdef' }] }));
    expect(bad.fieldErrors.map((e) => e.path)).toEqual(['Conditions.member.1.Field', 'Actions.member.1.TargetGroupArn']);
    expect((await rejects(registerTargetsOp(ctx, tgArn, [{ Id: 'n-ffffffffffffffff', Port: 80 }]))).fieldErrors[0]).toMatchObject({ path: 'Targets.member.1.Id' });
    expect((await rejects(deleteTargetGroupOp(ctx, tgArn))).code).toBe('resource-in-use');
    const svcErr = await rejects(
      createServiceOp(ctx, JSON.stringify({ serviceName: 'bad', taskDefinition: 'web', desiredCount: 1, loadBalancers: [
        { targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/missing/73e2d6bc24d8a067', containerName: 'app', containerPort: 8080 },
        { targetGroupArn: tgArn, containerName: 'app', containerPort: 9999 },
        { targetGroupArn: tgArn, containerName: 'nope', containerPort: 8080 },
      ] })),
    );
    expect(svcErr.message).toMatch(/loadBalancers\[0\]\.targetGroupArn: no such target group; create it first: aws elbv2 create-target-group --name missing/);
    expect(svcErr.message).toMatch(/loadBalancers\[1\]\.containerPort: container app does not expose 9999\/tcp/);
    expect(svcErr.message).toMatch(/loadBalancers\[2\]\.containerName: the task definition has no container named nope/);
    expect((await describeServicesOp(ctx, { cluster: 'default', services: ['bad'] })).found).toEqual([]);
  });

  it("a service's tasks become targets when RUNNING, count healthy once their targets are, and drain before they stop", async () => {
    if (!env) return;
    // An ARN written for AWS resolves by its name part.
    await createServiceOp(ctx, JSON.stringify({
      serviceName: 'web',
      taskDefinition: 'web',
      desiredCount: 2,
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:berth.ingress !exists' }],
      loadBalancers: [{ targetGroupArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/web/73e2d6bc24d8a067', containerName: 'app', containerPort: 8080 }],
    }));
    const snap = await waitFor('two servers in the snapshot', () => (latest(ingress)?.backends[0]?.servers.length === 2 ? latest(ingress) : undefined), 10_000);
    const servers = snap.backends[0]!.servers;
    expect(servers.every((s) => s.address === '127.0.0.3' && s.state === 'active' && s.id.startsWith(`${worker.nodeId}:`))).toBe(true);
    // Registered, not yet checked: the service is not steady, its targets are initial.
    const health = await describeTargetHealthOp(ctx, tgArn);
    expect(health.map((h) => h.TargetHealth.State)).toEqual(['initial', 'initial']);
    let svc = (await describeServicesOp(ctx, { cluster: 'default', services: ['web'] })).found[0] as { events: { message: string }[]; loadBalancers: unknown[] };
    expect(svc.loadBalancers).toEqual([{ targetGroupArn: tgArn, containerName: 'app', containerPort: 8080 }]);
    expect(svc.events.some((e) => /steady state/.test(e.message))).toBe(false);
    const backendId = snap.backends[0]!.id;
    ingress.reportTargetHealth(servers.map((s) => ({ backendId, serverId: s.id, state: 'healthy', reason: 'L7OK 200' })));
    await waitFor('steady once targets are healthy', async () => {
      svc = (await describeServicesOp(ctx, { cluster: 'default', services: ['web'] })).found[0] as typeof svc;
      return svc.events.some((e) => /steady state/.test(e.message)) ? svc : undefined;
    }, 10_000);
    expect((await describeTargetHealthOp(ctx, tgArn)).map((h) => h.TargetHealth.State)).toEqual(['healthy', 'healthy']);

    // Scale down: the stopping task drains first (its node keeps it running), then stops once drained.
    await updateServiceOp(ctx, JSON.stringify({ service: 'web', desiredCount: 1 }));
    const draining = await waitFor('a draining server', () => latest(ingress)?.backends[0]?.servers.find((s) => s.state === 'draining'), 10_000);
    const stopping = (await cp.db.sql`SELECT id FROM tasks WHERE task_group = 'service:web' AND desired_status = 'STOPPED' AND last_status = 'RUNNING'`)[0]!.id as string;
    const lastDesired = worker.desired[worker.desired.length - 1]!;
    expect(lastDesired.tasks.find((t) => t.taskId === stopping)?.desiredStatus).toBe('RUNNING');
    expect(worker.running()).toContain(stopping);
    expect((await describeTargetHealthOp(ctx, tgArn)).find((h) => `${h.Target.Id}:${h.Target.Port}` === draining.id)?.TargetHealth).toMatchObject({ State: 'draining', Reason: 'Target.DeregistrationInProgress' });
    // The proxy reports it drained (no connection left): the stop goes to the node, as ELB completes early.
    const started = Date.now();
    ingress.reportTargetHealth([
      { backendId, serverId: draining.id, state: 'drained', reason: '' },
      ...servers.filter((s) => s.id !== draining.id).map((s) => ({ backendId, serverId: s.id, state: 'healthy', reason: 'L7OK 200' })),
    ]);
    await waitFor('the drained task stopped', () => (!worker.running().includes(stopping) ? true : undefined), 10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor('one server left', () => (latest(ingress)?.backends[0]?.servers.length === 1 ? true : undefined), 5000);
  });

  it('a rolling update stops no old task before the new targets are healthy, even while no proxy report is at hand', async () => {
    if (!env) return;
    const healthyAll = (snap: ProxySnapshot) => ingress.reportTargetHealth(snap.backends[0]!.servers.map((s) => ({ backendId: snap.backends[0]!.id, serverId: s.id, state: 'healthy', reason: 'L7OK 200' })));
    await updateServiceOp(ctx, JSON.stringify({ service: 'web', desiredCount: 3 }));
    healthyAll(await waitFor('three servers', () => (latest(ingress)?.backends[0]?.servers.length === 3 ? latest(ingress) : undefined), 10_000));
    await waitFor('three healthy', async () => ((await describeTargetHealthOp(ctx, tgArn)).filter((h) => h.TargetHealth.State === 'healthy').length === 3 ? true : undefined), 10_000);
    const old = (await cp.db.sql`SELECT id FROM tasks WHERE task_group = 'service:web' AND desired_status = 'RUNNING'`).map((r) => r.id as string);
    await waitFor('the traffic controller counts them healthy', () => (old.every((id) => cp.traffic.targetHealth(id) === 'HEALTHY') ? true : undefined), 10_000);
    // The proxy's report goes missing (a reconnect, a report between its delete and its insert): the
    // targets read as initial, but the old tasks behind them stay counted healthy.
    ingress.reportTargetHealth([]);
    await cp.traffic.synced();
    await updateServiceOp(ctx, JSON.stringify({ service: 'web', forceNewDeployment: true }));
    const six = await waitFor('three new servers beside the old', () => (latest(ingress)?.backends[0]?.servers.length === 6 ? latest(ingress) : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    await cp.traffic.synced();
    const stoppedOld = await cp.db.sql`SELECT id FROM tasks WHERE id = ANY(${old}) AND desired_status = 'STOPPED'`;
    expect(stoppedOld.length).toBe(0);
    expect(six.backends[0]!.servers.every((s) => s.state === 'active')).toBe(true);
    // The new targets turn healthy: now the old ones drain.
    healthyAll(six);
    await waitFor('the old tasks draining', () => (latest(ingress)?.backends[0]?.servers.filter((s) => s.state === 'draining').length === 3 ? true : undefined), 10_000);
  });
});
