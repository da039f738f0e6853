import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Api } from '../client.js';
import { runCli } from '../cli.js';
import type { Io } from '../context.js';
import {
  EXIT_DEPLOYMENT_FAILED,
  EXIT_ROLLED_BACK,
  EXIT_STEADY,
  EXIT_WAIT_TIMEOUT,
  judgeWait,
  parseTimeout,
  progressLine,
  WAIT_INTERVAL_MS,
  type ServiceDeployment,
  type ServiceView,
} from './service.js';

const ARN = 'arn:aws:ecs:local:000000000000';
const td = (rev: number) => `${ARN}:task-definition/web:${rev}`;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function deployment(n: number, over: Partial<ServiceDeployment> = {}): ServiceDeployment {
  return {
    id: `ecs-svc/${n}`,
    status: 'PRIMARY',
    taskDefinition: td(3),
    desiredCount: 4,
    runningCount: 0,
    pendingCount: 0,
    failedTasks: 0,
    createdAt: minutesAgo(5),
    updatedAt: minutesAgo(1),
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: '',
    ...over,
  };
}

/** An ECS Service object; counts add up its deployments unless given. */
function service(over: Partial<ServiceView> = {}): ServiceView {
  const deployments = over.deployments ?? [deployment(1)];
  return {
    serviceArn: `${ARN}:service/default/web`,
    serviceName: 'web',
    clusterArn: `${ARN}:cluster/default`,
    status: 'ACTIVE',
    desiredCount: 4,
    taskDefinition: deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition ?? td(3),
    schedulingStrategy: 'REPLICA',
    deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } },
    placementConstraints: [],
    placementStrategy: [],
    healthCheckGracePeriodSeconds: 0,
    events: [],
    createdAt: minutesAgo(30),
    ...over,
    deployments,
    runningCount: over.runningCount ?? deployments.reduce((n, d) => n + d.runningCount, 0),
    pendingCount: over.pendingCount ?? deployments.reduce((n, d) => n + d.pendingCount, 0),
  };
}

const ev = (id: number, message: string, m = 0) => ({ id: String(id), createdAt: minutesAgo(m), message });
const json = (s: ServiceView) => JSON.stringify(s);

/** A fake API whose DescribeServices answers the scripted states in turn (the last one repeats). */
function scripted(states: (ServiceView | undefined | Error)[], over: Partial<Api> = {}): Api & { describes: number } {
  let describes = 0;
  const api = {
    get describes() {
      return describes;
    },
    close: () => {},
    describeServices: async () => {
      const s = states[Math.min(describes, states.length - 1)];
      describes++;
      if (s instanceof Error) throw s;
      return s ? { servicesJson: [json(s)], failures: [] } : { servicesJson: [], failures: [{ arn: 'web', reason: 'MISSING', detail: '' }] };
    },
    ...over,
  };
  return api as unknown as Api & { describes: number };
}

/** A clock that moves only when the command sleeps. */
function fakeClock() {
  const c = { t: 1_000_000, sleeps: [] as number[], now: () => c.t, sleep: async (ms: number) => void (c.sleeps.push(ms), (c.t += ms)) };
  return c;
}

async function run(argv: string[], api: Api, files: Record<string, string> = {}, clock = fakeClock()) {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return files[p]!;
    },
    now: clock.now,
    sleep: clock.sleep,
  };
  const code = await runCli(argv, io, () => api, {});
  return { code, out, err, clock };
}

/** Records the CreateService body (parsed) and answers with `reply`. */
function creating(reply = service(), warnings: string[] = []) {
  const sent: { body?: Record<string, unknown>; text?: string } = {};
  const api = scripted([undefined], {
    createService: async (r) => {
      sent.text = r.serviceJson;
      sent.body = JSON.parse(r.serviceJson!);
      return { serviceJson: json(reply), warnings };
    },
  });
  return { api, sent };
}

function updating(reply: ServiceView, states: (ServiceView | undefined | Error)[] = [reply]) {
  const sent: { body?: Record<string, unknown> } = {};
  const api = scripted(states, {
    updateService: async (r) => {
      sent.body = JSON.parse(r.updateJson!);
      return { serviceJson: json(reply), warnings: [] };
    },
  });
  return { api, sent };
}

describe('berth service create', () => {
  it('builds the ECS CreateService body from flags', async () => {
    const { api, sent } = creating(service(), ['tags: kept on the service only']);
    const r = await run(
      [
        'service', 'create', 'web', '--cluster', 'lab', '--task-definition', 'web:3', '--desired-count', '4', '--min-healthy-percent', '50', '--max-percent', '150',
        '--rollback', '--grace-period', '2m', '--placement-constraint', 'distinctInstance', '--placement-constraint', 'memberOf:attribute:zone == attic',
        '--placement-strategy', 'spread:attribute:zone', '--placement-strategy', 'random',
      ],
      api,
    );
    expect(r.code).toBe(0);
    expect(sent.body).toEqual({
      cluster: 'lab',
      serviceName: 'web',
      taskDefinition: 'web:3',
      desiredCount: 4,
      schedulingStrategy: 'REPLICA',
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150, deploymentCircuitBreaker: { enable: true, rollback: true } },
      placementConstraints: [{ type: 'distinctInstance' }, { type: 'memberOf', expression: 'attribute:zone == attic' }],
      placementStrategy: [{ type: 'spread', field: 'attribute:zone' }, { type: 'random' }],
      healthCheckGracePeriodSeconds: 120,
    });
    expect(r.out).toBe('service web created: web:3, 4 desired; deployment ecs-svc/1\n');
    expect(r.err).toBe('warning: tags: kept on the service only\n');
    // No --wait: no polling.
    expect((api as { describes: number }).describes).toBe(0);
  });

  it('defaults to one task, and --daemon to one on every node', async () => {
    const { api, sent } = creating();
    await run(['service', 'create', 'web', '--task-definition', 'web'], api);
    expect(sent.body).toEqual({ cluster: 'default', serviceName: 'web', taskDefinition: 'web', desiredCount: 1, schedulingStrategy: 'REPLICA' });
    await run(['service', 'create', 'mon', '--task-definition', 'mon:1', '--daemon', '--circuit-breaker'], api);
    expect(sent.body).toEqual({ cluster: 'default', serviceName: 'mon', taskDefinition: 'mon:1', schedulingStrategy: 'DAEMON', deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } } });
  });

  it('passes --file through as the body, adding only the cluster and the name it lacks', async () => {
    const { api, sent } = creating();
    const withCluster = '{"cluster": "lab", "serviceName": "web", "taskDefinition": "web:3", "desiredCount": 2}';
    expect((await run(['service', 'create', '--file', 'svc.json'], api, { 'svc.json': withCluster })).code).toBe(0);
    expect(sent.text).toBe(withCluster);
    await run(['service', 'create', '-f', 'svc.json'], api, { 'svc.json': '{"serviceName": "web", "taskDefinition": "web:3", "desiredCount": 2}' });
    expect(sent.body).toEqual({ serviceName: 'web', taskDefinition: 'web:3', desiredCount: 2, cluster: 'default' });
    // describe-services output: its clusterArn stands, NAME renames, --cluster moves it.
    const described = JSON.stringify({ services: [service()], failures: [] });
    await run(['service', 'create', 'web2', '--file', 'd.json'], api, { 'd.json': described });
    expect(sent.body).toMatchObject({ services: [{ serviceName: 'web2', clusterArn: `${ARN}:cluster/default` }] });
    expect((sent.body!.services as Record<string, unknown>[])[0]!.cluster).toBeUndefined();
    await run(['service', 'create', '--file', 'd.json', '--cluster', 'lab'], api, { 'd.json': described });
    expect(sent.body).toMatchObject({ services: [{ serviceName: 'web', cluster: 'lab' }] });
  });

  it('reports file problems before calling the server', async () => {
    const { api } = creating();
    expect(await run(['service', 'create', '--file', 'missing.json'], api)).toMatchObject({ code: 1, err: 'berth: missing.json: no such file\n' });
    expect((await run(['service', 'create', '--file', 'bad.json'], api, { 'bad.json': '{\n  "serviceName": "web"\n  "desiredCount": 2}' })).err).toMatch(/^berth: bad.json: invalid JSON at line 3 column 3: /);
  });

  it('refuses bad flags with exit 2, naming the flag', async () => {
    const { api } = creating();
    const cases: [string[], string][] = [
      [['service', 'create', 'web'], '--task-definition: is required'],
      [['service', 'create', '--task-definition', 'web'], 'service create: which name?'],
      [['service', 'create', 'web', 'api', '--task-definition', 'web'], 'service create: one service at a time'],
      [['service', 'create', 'web', '--task-definition', 'web', '--desired-count', 'lots'], '--desired-count: must be a whole number from 0 to 5000, got "lots"'],
      [['service', 'create', 'web', '--task-definition', 'web', '--desired-count=-1'], '--desired-count: must be a whole number'],
      [['service', 'create', 'web', '--task-definition', 'web', '--min-healthy-percent', '150'], '--min-healthy-percent: must be a whole number from 0 to 100'],
      [['service', 'create', 'web', '--task-definition', 'web', '--max-percent', '50'], '--max-percent: must be a whole number from 100 to 1000'],
      [['service', 'create', 'web', '--task-definition', 'web', '--grace-period', 'soon'], '--grace-period: must be seconds'],
      [['service', 'create', 'web', '--task-definition', 'web', '--placement-constraint', 'zone == a'], '--placement-constraint: must be distinctInstance or memberOf:EXPRESSION'],
      [['service', 'create', 'web', '--task-definition', 'web', '--placement-strategy', 'fill'], '--placement-strategy: must be'],
      [['service', 'create', 'mon', '--task-definition', 'mon', '--daemon', '--desired-count', '2'], '--desired-count: a DAEMON service (--daemon)'],
      [['service', 'create', 'mon', '--task-definition', 'mon', '--daemon', '--placement-strategy', 'random'], '--placement-strategy: cannot be used with --daemon'],
      [['service', 'create', 'web', '--task-definition', 'web', '--timeout', '5m'], '--timeout: only with --wait'],
      [['service', 'create', 'web', '--task-definition', 'web', '--wait', '--timeout', 'soon'], '--timeout: must be a duration such as 90s, 5m or 1h30m, got "soon"'],
      [['service', 'create', '--file', 'svc.json', '--desired-count', '3'], '--desired-count: give the service in --file or with flags, not both'],
      [['service', 'create', 'web', '--task-definition', 'web', '--no-circuit-breaker'], "Unknown option '--no-circuit-breaker'"],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv, api, { 'svc.json': '{}' });
      expect(r.err).toContain(message);
      expect(r.code, argv.join(' ')).toBe(2);
    }
  });
});

describe('berth service update, scale, rm', () => {
  it('builds the ECS UpdateService body from flags', async () => {
    const { api, sent } = updating(service({ deployments: [deployment(2, { taskDefinition: td(4) }), deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' })] }));
    const r = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--desired-count', '4', '--no-circuit-breaker', '--max-percent', '200', '--force-new-deployment', '--grace-period', '30'], api);
    expect(r.code).toBe(0);
    expect(sent.body).toEqual({
      cluster: 'default',
      service: 'web',
      taskDefinition: 'web:4',
      desiredCount: 4,
      deploymentConfiguration: { maximumPercent: 200, deploymentCircuitBreaker: { enable: false, rollback: false } },
      healthCheckGracePeriodSeconds: 30,
      forceNewDeployment: true,
    });
    expect(r.out).toBe('service web updated: web:4, 4 desired; deployment ecs-svc/2 IN_PROGRESS\n');
  });

  it('passes an update file through and refuses empty or contradictory updates', async () => {
    const { api, sent } = updating(service());
    await run(['service', 'update', 'web', '--file', 'u.json'], api, { 'u.json': '{"desiredCount": 0}' });
    expect(sent.body).toEqual({ desiredCount: 0, service: 'web', cluster: 'default' });
    expect(await run(['service', 'update', 'web'], api)).toMatchObject({ code: 2, err: expect.stringContaining('service update: what should change?') });
    expect(await run(['service', 'update', '--file', 'u.json'], api, { 'u.json': '{"desiredCount": 0}' })).toMatchObject({ code: 2, err: expect.stringContaining('service update: which service?') });
    expect(await run(['service', 'update', 'web', '--no-circuit-breaker', '--rollback'], api)).toMatchObject({ code: 2, err: expect.stringContaining('--no-circuit-breaker: cannot go with --rollback') });
    expect(await run(['service', 'update', 'web', '--file', 'u.json', '--task-definition', 'web:5'], api, { 'u.json': '{}' })).toMatchObject({ code: 2, err: expect.stringContaining('--task-definition: give the service in --file') });
  });

  it('scales with UpdateService desiredCount', async () => {
    const { api, sent } = updating(service({ desiredCount: 6, deployments: [deployment(1, { desiredCount: 6, runningCount: 4, rolloutState: 'COMPLETED' })] }));
    const r = await run(['service', 'scale', 'web', '6', '--cluster', 'lab'], api);
    expect(r).toMatchObject({ code: 0, out: 'service web scaled to 6 (4 running now)\n' });
    expect(sent.body).toEqual({ cluster: 'lab', service: 'web', desiredCount: 6 });
    expect(await run(['service', 'scale', 'web', 'many'], api)).toMatchObject({ code: 2, err: expect.stringContaining('service scale: COUNT must be a whole number from 0 to 5000, got "many"') });
    expect((await run(['service', 'scale', 'web'], api)).code).toBe(2);
  });

  it('deletes, with --force when asked', async () => {
    let asked: unknown;
    const api = scripted([], { deleteService: async (r) => ((asked = r), { serviceJson: json(service({ status: 'DRAINING', desiredCount: 0 })) }) });
    const r = await run(['service', 'rm', 'web', '--force'], api);
    expect(r).toMatchObject({ code: 0, out: 'service web deleted (DRAINING): its tasks are stopping (0 running)\n' });
    expect(asked).toEqual({ cluster: 'default', service: 'web', force: true });
  });
});

describe('berth service describe, ls, deployments', () => {
  const rolling = service({
    taskDefinition: td(4),
    healthCheckGracePeriodSeconds: 60,
    placementConstraints: [{ type: 'distinctInstance' }],
    placementStrategy: [{ type: 'spread', field: 'attribute:zone' }],
    deployments: [
      deployment(2, { taskDefinition: td(4), runningCount: 2, pendingCount: 1, createdAt: minutesAgo(2) }),
      deployment(1, { status: 'ACTIVE', runningCount: 2, rolloutState: 'COMPLETED', createdAt: minutesAgo(60) }),
    ],
    events: [ev(12, '(service web) has started 2 tasks: (task abc) (task def).', 1), ...Array.from({ length: 14 }, (_, i) => ev(11 - i, `older ${11 - i}`, 3))],
  });

  it('describes a service as a table: settings, deployments, the 10 newest events', async () => {
    const r = await run(['service', 'describe', 'web'], scripted([rolling]));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.slice(0, 10)).toEqual([
      'Service:     web',
      `ARN:         ${ARN}:service/default/web`,
      'Status:      ACTIVE',
      'Strategy:    REPLICA',
      'Definition:  web:4',
      'Tasks:       4 desired, 4 running, 1 pending',
      'Deployment:  min 100%, max 150% (4..6 running tasks), circuit breaker on with rollback',
      'Grace:       60 s before health checks count',
      'Placement:   distinctInstance, spread:attribute:zone',
      expect.stringMatching(/^Created: {5}\d{4}-\d{2}-\d{2}T/),
    ]);
    expect(lines[10]).toBe('Deployments:');
    expect(lines[11]).toMatch(/^ {2}ID\s+STATUS\s+ROLLOUT\s+TASKDEF\s+DESIRED\s+RUNNING\s+PENDING\s+FAILED\s+AGE$/);
    expect(lines[12]).toMatch(/^ {2}ecs-svc\/2\s+PRIMARY\s+IN_PROGRESS\s+web:4\s+4\s+2\s+1\s+0\s+2m$/);
    expect(lines[13]).toMatch(/^ {2}ecs-svc\/1\s+ACTIVE\s+COMPLETED\s+web:3\s+4\s+2\s+0\s+0\s+1h$/);
    expect(lines[14]).toBe('Events:');
    expect(lines[15]).toMatch(/^ {2}AGE\s+MESSAGE$/);
    expect(lines[16]).toBe('  1m   (service web) has started 2 tasks: (task abc) (task def).');
    expect(lines.slice(16).filter(Boolean)).toHaveLength(10);
    expect(lines[25]).toBe('  3m   older 3');
  });

  it('prints the ECS Service object with -o json, and a reason when it is missing', async () => {
    const r = await run(['service', 'describe', 'web', '-o', 'json'], scripted([rolling]));
    expect(JSON.parse(r.out)).toEqual(rolling);
    expect(await run(['service', 'describe', 'nope'], scripted([undefined]))).toMatchObject({ code: 1, err: 'berth: service nope not found in cluster default\n' });
    expect((await run(['service', 'describe'], scripted([rolling]))).code).toBe(2);
  });

  it('shows the deployments alone', async () => {
    const r = await run(['service', 'deployments', 'web'], scripted([rolling]));
    expect(r.out.split('\n')[0]).toMatch(/^ID\s+STATUS\s+ROLLOUT/);
    expect(r.out.split('\n')).toHaveLength(4);
    expect(JSON.parse((await run(['service', 'deployments', 'web', '-o', 'json'], scripted([rolling]))).out)).toEqual(rolling.deployments);
  });

  it('lists services page by page, describing them 10 at a time', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    const pages: unknown[] = [];
    const batches: string[][] = [];
    const api = {
      close: () => {},
      listServices: async (r: { nextToken?: string; schedulingStrategy?: string }) => {
        pages.push(r);
        const at = Number(r.nextToken || 0);
        return { serviceArns: names.slice(at, at + 5).map((n) => `${ARN}:service/default/${n}`), nextToken: at + 5 < names.length ? String(at + 5) : '' };
      },
      describeServices: async (r: { services: string[] }) => {
        batches.push(r.services);
        return { servicesJson: r.services.map((a) => json(service({ serviceName: a.split('/').pop()!, deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })] }))), failures: [] };
      },
    } as unknown as Api;
    const r = await run(['service', 'ls', '--strategy', 'REPLICA'], api);
    expect(r.code).toBe(0);
    expect(pages).toEqual([
      { cluster: 'default', nextToken: '', schedulingStrategy: 'REPLICA' },
      { cluster: 'default', nextToken: '5', schedulingStrategy: 'REPLICA' },
      { cluster: 'default', nextToken: '10', schedulingStrategy: 'REPLICA' },
    ]);
    expect(batches.map((b) => b.length)).toEqual([10, 2]);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('NAME    STATUS  STRATEGY  TASKDEF  DESIRED  RUNNING  PENDING  DEPLOYMENTS');
    expect(lines[1]).toBe('svc-00  ACTIVE  REPLICA   web:3    4        4        0        1');
    expect(lines).toHaveLength(13);
    expect(await run(['service', 'ls', '--strategy', 'BATCH'], api)).toMatchObject({ code: 2, err: expect.stringContaining('--strategy: must be REPLICA or DAEMON') });
  });
});

describe('berth service --wait', () => {
  it('documents its exit codes in the usage text', async () => {
    for (const verb of ['create', 'update', 'scale']) {
      const r = await run(['service', verb, '--help'], scripted([]));
      expect(r.out).toContain('--wait exits 0 when steady, 3 when the deployment failed (no rollback, or the rollback failed too), 4 when it was rolled back, 5 when --timeout');
    }
    expect([EXIT_STEADY, EXIT_DEPLOYMENT_FAILED, EXIT_ROLLED_BACK, EXIT_WAIT_TIMEOUT]).toEqual([0, 3, 4, 5]);
  });

  it('exits 0 once the new deployment is steady, printing progress and new events once', async () => {
    const old = ev(3, '(service web) has reached a steady state.', 10);
    const created = service({ deployments: [deployment(1)] });
    const states = [
      undefined, // before: no such service
      service({ deployments: [deployment(1, { runningCount: 0, pendingCount: 4 })], events: [ev(4, '(service web) has started 4 tasks: (task a) (task b) (task c) (task d).')] }),
      service({ deployments: [deployment(1, { runningCount: 0, pendingCount: 4 })], events: [ev(4, '(service web) has started 4 tasks: (task a) (task b) (task c) (task d).')] }),
      service({ deployments: [deployment(1, { runningCount: 4 })], events: [ev(4, '(service web) has started 4 tasks: (task a) (task b) (task c) (task d).')] }),
      service({
        deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })],
        events: [ev(6, '(service web) has reached a steady state.'), ev(5, '(service web) (deployment ecs-svc/1) deployment completed.'), ev(4, '(service web) has started 4 tasks: (task a) (task b) (task c) (task d).')],
      }),
    ];
    const api = scripted(states, { createService: async () => ({ serviceJson: json({ ...created, events: [old] }), warnings: [] }) });
    const r = await run(['service', 'create', 'web', '--task-definition', 'web:3', '--desired-count', '4', '--wait'], api);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT_STEADY);
    // The event from before the wait (an earlier service of that name) is not printed; the old one is marked seen.
    expect(r.out).toBe(
      [
        'service web created: web:3, 4 desired; deployment ecs-svc/1',
        '(service web) has reached a steady state.',
        'deployment ecs-svc/1 IN_PROGRESS: new 0/4 running, healthy 0 (bounds 4..6)',
        '(service web) has started 4 tasks: (task a) (task b) (task c) (task d).',
        'deployment ecs-svc/1 IN_PROGRESS: new 0/4 running (4 pending), healthy 0 (bounds 4..6)',
        'deployment ecs-svc/1 IN_PROGRESS: new 4/4 running, healthy 4 (bounds 4..6)',
        '(service web) (deployment ecs-svc/1) deployment completed.',
        '(service web) has reached a steady state.',
        'deployment ecs-svc/1 COMPLETED: new 4/4 running, healthy 4 (bounds 4..6)',
        'service web is steady: deployment ecs-svc/1 (web:3), 4/4 running',
        '',
      ].join('\n'),
    );
    expect(r.clock.sleeps).toEqual([WAIT_INTERVAL_MS, WAIT_INTERVAL_MS, WAIT_INTERVAL_MS, WAIT_INTERVAL_MS]);
  });

  it('prints only events newer than the wait when updating', async () => {
    const before = service({ deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })], events: [ev(8, '(service web) has reached a steady state.', 20)] });
    const reply = service({ deployments: [deployment(2, { taskDefinition: td(4) }), deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' })], events: before.events });
    const done = service({
      deployments: [deployment(2, { taskDefinition: td(4), runningCount: 4, rolloutState: 'COMPLETED' })],
      events: [ev(10, '(service web) has reached a steady state.'), ev(9, '(service web) has stopped 4 running tasks: (task a).'), ...before.events],
    });
    const { api } = updating(reply, [before, done]);
    const r = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--wait'], api);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'service web updated: web:4, 4 desired; deployment ecs-svc/2 IN_PROGRESS',
        'deployment ecs-svc/2 IN_PROGRESS: new 0/4 running, old 4 draining, healthy 4 (bounds 4..6)',
        '(service web) has stopped 4 running tasks: (task a).',
        '(service web) has reached a steady state.',
        'deployment ecs-svc/2 COMPLETED: new 4/4 running, healthy 4 (bounds 4..6)',
        'service web is steady: deployment ecs-svc/2 (web:4), 4/4 running',
        '',
      ].join('\n'),
    );
  });

  it('exits 3 when the deployment fails and nothing rolls it back', async () => {
    const before = service({ deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })] });
    const reply = service({ deployments: [deployment(2, { taskDefinition: td(4) }), deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' })] });
    const failed = service({
      deployments: [
        deployment(2, { taskDefinition: td(4), failedTasks: 3, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: 3 tasks failed to start.' }),
        deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' }),
      ],
      events: [ev(9, '(service web) rollback is off; no new tasks start until the service is updated.'), ev(8, '(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.')],
    });
    const { api } = updating(reply, [before, reply, failed]);
    const r = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--wait'], api);
    expect(r.code).toBe(EXIT_DEPLOYMENT_FAILED);
    expect(r.out).toContain('(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.\n(service web) rollback is off; no new tasks start until the service is updated.\n');
    expect(r.out).toContain('deployment ecs-svc/2 FAILED: new 0/4 running, 3 failed, old 4 draining, healthy 4 (bounds 4..6)\n');
    expect(r.err).toBe('berth: deployment ecs-svc/2 failed: ECS deployment circuit breaker: 3 tasks failed to start.\n');
  });

  it('exits 4 when the deployment was rolled back, once the rollback is steady', async () => {
    const before = service({ deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })] });
    const reply = service({ deployments: [deployment(2, { taskDefinition: td(4) }), deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' })] });
    const rollbackReason = 'rolling back to deployment ecs-svc/1 after deployment ecs-svc/2 failed';
    const rolling = service({
      deployments: [
        deployment(3, { runningCount: 0, pendingCount: 2, rolloutStateReason: rollbackReason }),
        deployment(2, { status: 'ACTIVE', taskDefinition: td(4), runningCount: 1, failedTasks: 3, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: 3 tasks failed to start.' }),
        deployment(1, { status: 'ACTIVE', runningCount: 4, rolloutState: 'COMPLETED' }),
      ],
      events: [ev(9, '(service web) rolling back to deployment ecs-svc/1 (task definition web:3).'), ev(8, '(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.')],
    });
    // On completion the controller rewrites the reason: the wait still knows it as the rollback.
    const back = service({ deployments: [deployment(3, { runningCount: 4, rolloutState: 'COMPLETED', rolloutStateReason: 'ECS deployment ecs-svc/3 completed.' })], events: [ev(10, '(service web) has reached a steady state.'), ...rolling.events] });
    const { api } = updating(reply, [before, rolling, back]);
    const r = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--wait'], api);
    expect(r.code).toBe(EXIT_ROLLED_BACK);
    expect(r.out).toContain('(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.\n(service web) rolling back to deployment ecs-svc/1 (task definition web:3).\n');
    expect(r.out).toContain('deployment ecs-svc/3 IN_PROGRESS (rolling back to ecs-svc/1): new 0/4 running (2 pending), old 5 draining, healthy 5 (bounds 4..6)\n');
    expect(r.out).toContain('deployment ecs-svc/3 COMPLETED: new 4/4 running, healthy 4 (bounds 4..6)\n');
    expect(r.err).toBe('berth: deployment ecs-svc/2 failed and was rolled back to deployment ecs-svc/1 (task definition web:3); service web is steady again\n');

    // A rollback that completed between two polls is known by its event.
    const fast = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--wait'], updating(reply, [before, back]).api);
    expect(fast.code).toBe(EXIT_ROLLED_BACK);
    expect(fast.err).toBe(r.err);

    // A rollback that fails in turn: exit 3.
    const rollbackFailed = service({ deployments: [deployment(3, { failedTasks: 3, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: 3 tasks failed to start.' })] });
    const worse = await run(['service', 'update', 'web', '--task-definition', 'web:4', '--wait'], updating(reply, [before, rolling, rollbackFailed]).api);
    expect(worse.code).toBe(EXIT_DEPLOYMENT_FAILED);
    expect(worse.err).toBe('berth: deployment ecs-svc/2 failed, and its rollback (deployment ecs-svc/3) failed too: ECS deployment circuit breaker: 3 tasks failed to start.\n');
  });

  it('exits 5 when --timeout passes first, after polling once a second', async () => {
    const stuck = service({ deployments: [deployment(1, { runningCount: 2, pendingCount: 2 })] });
    const { api } = updating(stuck, [stuck]);
    const r = await run(['service', 'scale', 'web', '4', '--wait', '--timeout', '5s'], api);
    expect(r.code).toBe(EXIT_WAIT_TIMEOUT);
    expect(r.err).toBe('berth: --timeout 5s passed before service web was steady (deployment ecs-svc/1 IN_PROGRESS: new 2/4 running (2 pending), healthy 2 (bounds 4..6))\n');
    expect(r.clock.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
    // One describe before the update, then one per second.
    expect((api as { describes: number }).describes).toBe(6);
    // The progress line is printed once: it never changed.
    expect(r.out.match(/deployment ecs-svc\/1/g)).toHaveLength(1);
  });

  it('keeps waiting through an unreachable control plane; gives up when another update replaces the deployment', async () => {
    const unavailable = Object.assign(new Error('x'), { code: status.UNAVAILABLE });
    const reply = service({ deployments: [deployment(1, { runningCount: 2 })] });
    const steady = service({ deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })] });
    const ok = await run(['service', 'scale', 'web', '4', '--wait'], updating(reply, [reply, unavailable, unavailable, steady]).api);
    expect(ok.code).toBe(0);
    expect(ok.out.match(/control plane not answering; still waiting/g)).toHaveLength(1);

    const replaced = service({ deployments: [deployment(7, { taskDefinition: td(5) }), deployment(1, { status: 'ACTIVE', runningCount: 2 })] });
    const r = await run(['service', 'scale', 'web', '4', '--wait'], updating(reply, [reply, replaced]).api);
    expect(r).toMatchObject({ code: 1, err: 'berth: deployment ecs-svc/1 was replaced by deployment ecs-svc/7 (the service was updated again)\n' });
  });

  it('with -o json prints progress on stderr and the final Service on stdout', async () => {
    const reply = service({ deployments: [deployment(1, { runningCount: 2 })] });
    const steady = service({ deployments: [deployment(1, { runningCount: 4, rolloutState: 'COMPLETED' })] });
    const r = await run(['service', 'scale', 'web', '4', '--wait', '-o', 'json'], updating(reply, [reply, steady]).api);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(steady);
    expect(r.err).toContain('service web is steady');
  });
});

describe('service wait helpers', () => {
  it('words progress with the rolling bounds', () => {
    const s = service({ deployments: [deployment(2, { runningCount: 2 }), deployment(1, { status: 'ACTIVE', runningCount: 2, rolloutState: 'COMPLETED' })] });
    expect(progressLine(s, s.deployments[0]!)).toBe('deployment ecs-svc/2 IN_PROGRESS: new 2/4 running, old 2 draining, healthy 4 (bounds 4..6)');
    const daemon = service({ schedulingStrategy: 'DAEMON', desiredCount: 2, deployments: [deployment(1, { desiredCount: 2, runningCount: 1 })] });
    expect(progressLine(daemon, daemon.deployments[0]!)).toBe('deployment ecs-svc/1 IN_PROGRESS: new 1/2 running, healthy 1');
  });

  it('is not steady while an old deployment remains or counts differ', () => {
    const twoLeft = service({ deployments: [deployment(2, { runningCount: 4, rolloutState: 'COMPLETED' }), deployment(1, { status: 'ACTIVE', runningCount: 1 })], runningCount: 4 });
    expect(judgeWait(twoLeft, 'ecs-svc/2').done).toBeUndefined();
    const short = service({ deployments: [deployment(2, { runningCount: 3, rolloutState: 'COMPLETED' })] });
    expect(judgeWait(short, 'ecs-svc/2').done).toBeUndefined();
    expect(() => judgeWait(service({ status: 'DRAINING' }), 'ecs-svc/1')).toThrow('service web is DRAINING (deleted) while waiting for deployment ecs-svc/1');
  });

  it('reads --timeout durations', () => {
    expect(parseTimeout('90s')).toBe(90_000);
    expect(parseTimeout('5m')).toBe(300_000);
    expect(parseTimeout('1h30m')).toBe(5_400_000);
    expect(parseTimeout('45')).toBe(45_000);
    for (const bad of ['0', '0s', 'soon', '-5m', '']) expect(() => parseTimeout(bad)).toThrow(/--timeout: must be a duration/);
  });
});
