import { describe, expect, it } from 'vitest';
import {
  checkActions,
  checkConditions,
  checkTargetGroup,
  checkTargetGroupAttributes,
  elbArns,
  parseElbArn,
  parsePlacement,
  servesLoadBalancer,
} from './load-balancing.js';
import { proxySnapshotFor, resolveTargets, stopHeldUntil, targetGroupByArn, type TrafficNode, type TrafficTargetGroup } from './proxy-snapshot.js';

const arn = { region: 'local', account: '000000000000' };

describe('ELB ARNs', () => {
  it('have ELB shapes and parse back, an ARN written for AWS by name', () => {
    const lb = elbArns.loadBalancer(arn, 'application', 'web', '50dc6c495c0c9188');
    expect(lb).toBe('arn:aws:elasticloadbalancing:local:000000000000:loadbalancer/app/web/50dc6c495c0c9188');
    expect(parseElbArn(lb)).toMatchObject({ kind: 'loadbalancer', name: 'web', id: '50dc6c495c0c9188' });
    expect(parseElbArn('arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067')).toMatchObject({ kind: 'targetgroup', name: 'my-targets', region: 'us-west-2' });
    expect(parseElbArn(elbArns.rule(arn, 'network', 'n', 'a', 'b', 'c'))).toMatchObject({ kind: 'listener-rule', id: 'c' });
    expect(parseElbArn('arn:aws:ecs:local:0:cluster/x')).toBeUndefined();
    expect(parseElbArn('arn:aws:elasticloadbalancing:x:y:targetgroup/only-name')).toBeUndefined();
  });
});

describe('placement', () => {
  it('reads node ids and key=value; AWS subnets and none mean the ingress nodes', () => {
    expect(parsePlacement(['n-0123456789abcdef', 'room=attic']).placement).toEqual({ nodes: ['n-0123456789abcdef'], attributes: { room: 'attic' } });
    const aws = parsePlacement(['subnet-12345']);
    expect(aws.placement).toEqual({ nodes: [], attributes: { 'berth.ingress': 'true' } });
    expect(aws.warnings[0]).toMatch(/VPC subnets do not apply/);
    expect(parsePlacement([]).placement.attributes).toEqual({ 'berth.ingress': 'true' });
    expect(parsePlacement(['bad value']).errors[0]).toMatchObject({ path: 'Subnets.member.1' });
  });
  it('matches attributes before labels', () => {
    const p = { nodes: [], attributes: { 'berth.ingress': 'true' } };
    expect(servesLoadBalancer(p, { id: 'n-1', attributes: {}, labels: { 'berth.ingress': 'true' } })).toBe(true);
    expect(servesLoadBalancer(p, { id: 'n-1', attributes: { 'berth.ingress': 'false' }, labels: { 'berth.ingress': 'true' } })).toBe(false);
  });
});

describe('target groups', () => {
  it("fills ELB's defaults and reports every problem", () => {
    expect(checkTargetGroup({ Name: 'web', Protocol: 'HTTP', Port: 80 }).healthCheck).toMatchObject({ HealthCheckPath: '/', HealthCheckIntervalSeconds: 30, HealthyThresholdCount: 5, Matcher: { HttpCode: '200' } });
    const { errors } = checkTargetGroup({ Name: '-bad', Protocol: 'TCP', Port: 80, HealthCheckPath: 'x', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 6, Matcher: { HttpCode: '2xx' }, TargetType: 'lambda' });
    expect(errors.map((e) => e.path)).toEqual(['Name', 'TargetType', 'Matcher.HttpCode', 'HealthCheckPath', 'HealthCheckPath', 'HealthCheckTimeoutSeconds']);
  });
  it('checks attributes', () => {
    const r = checkTargetGroupAttributes({}, [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }, { Key: 'nope', Value: '1' }, { Key: 'slow_start.duration_seconds', Value: '10' }]);
    expect(r.attributes['deregistration_delay.timeout_seconds']).toBe('5');
    expect(r.errors.map((e) => e.path)).toEqual(['Attributes.member.2.Key', 'Attributes.member.3.Value']);
  });
});

describe('actions and conditions', () => {
  const ctx = { targetGroup: (a: string) => (a.endsWith('/web/1') ? { id: '1', protocol: 'HTTP' } : a.endsWith('/tcp/2') ? { id: '2', protocol: 'TCP' } : undefined), listenerProtocol: 'HTTP' };
  it('needs one terminal action and target groups that exist and fit', () => {
    expect(checkActions([{ Type: 'forward', TargetGroupArn: 'x/web/1' }], 'DefaultActions', ctx)).toEqual([]);
    const errors = checkActions([{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'x/missing/9' }, { TargetGroupArn: 'x/tcp/2' }] } }], 'DefaultActions', ctx);
    expect(errors.map((e) => e.rule)).toEqual([expect.stringMatching(/no such target group/), expect.stringMatching(/TCP target group cannot take traffic from a HTTP/)]);
    expect(checkActions([], 'Actions', ctx)[0]!.rule).toMatch(/at least one/);
  });
  it("keeps ELB's condition limits", () => {
    expect(checkConditions([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }], 'Conditions', 'HTTP')).toEqual([]);
    const errors = checkConditions(
      [
        { Field: 'host-header', Values: ['a.lan', 'b.lan', 'c.lan'] },
        { Field: 'path-pattern', Values: ['/a', '/b', '/c'] },
        { Field: 'path-pattern', Values: ['/d'] },
        { Field: 'cookie', Values: ['x'] },
      ],
      'Conditions',
      'HTTP',
    );
    expect(errors.map((e) => e.rule)).toEqual([expect.stringMatching(/once per rule/), expect.stringMatching(/^must be one of/), expect.stringMatching(/at most 5 condition values/)]);
  });
});

describe('targets and snapshots', () => {
  const hc = checkTargetGroup({ Name: 'web', Protocol: 'HTTP', Port: 80 }).healthCheck;
  const tg: TrafficTargetGroup = { id: 'tg1', name: 'web', protocol: 'HTTP', port: 80, targetType: 'instance', healthCheck: hc, attributes: { 'deregistration_delay.timeout_seconds': '10' }, arn: 'arn:aws:elasticloadbalancing:local:0:targetgroup/web/tg1' };
  const nodes = new Map<string, TrafficNode>([
    ['n-a', { id: 'n-a', address: '127.0.0.2', attributes: { 'berth.ingress': 'true' }, labels: {} }],
    ['n-b', { id: 'n-b', address: '', attributes: {}, labels: {} }],
  ]);
  const task = (id: string, over: object) => ({
    id,
    cluster: 'default',
    group: 'service:web',
    nodeId: 'n-a',
    desiredStatus: 'RUNNING',
    lastStatus: 'RUNNING',
    stoppingAtMs: null,
    containers: [{ name: 'app', networkBindings: [{ bindIP: '0.0.0.0', containerPort: 8080, hostPort: 32768 }] }],
    ...over,
  });
  const services = [{ cluster: 'default', group: 'service:web', loadBalancers: [{ targetGroupId: 'tg1', containerName: 'app', containerPort: 8080 }] }];
  it("a service's RUNNING tasks are targets; a stopping one drains for the delay; registered rows too", () => {
    const targets = resolveTargets({
      targetGroups: [tg],
      registered: [{ targetGroupId: 'tg1', targetId: 'n-b', port: 9000, state: 'registered', drainUntilMs: null }],
      services,
      tasks: [task('t1', {}), task('t2', { desiredStatus: 'STOPPED', stoppingAtMs: 1000 }), task('t3', { lastStatus: 'PENDING' }), task('t4', { desiredStatus: 'STOPPED', stoppingAtMs: 0 })],
      nodes,
      nowMs: 5000,
    });
    expect(targets.map((t) => [t.targetId, t.port, t.address, t.draining, t.taskId])).toEqual([
      ['n-b', 9000, '', false, undefined],
      ['n-a', 32768, '127.0.0.2', false, 't1'],
      ['n-a', 32768, '127.0.0.2', true, 't2'],
      ['n-a', 32768, '127.0.0.2', true, 't4'],
    ]);
    expect(stopHeldUntil('t2', targets, () => false)).toBe(11_000);
    expect(stopHeldUntil('t2', targets, () => true)).toBeUndefined();
    expect(stopHeldUntil('t1', targets, () => false)).toBeUndefined();
    const later = resolveTargets({ targetGroups: [tg], registered: [], services, tasks: [task('t4', { desiredStatus: 'STOPPED', stoppingAtMs: 0 })], nodes, nowMs: 10_000 });
    expect(later).toEqual([]);
  });
  it('builds the snapshot of the nodes a load balancer is placed on, weighted forwards and rules in priority order', () => {
    const tg2 = { ...tg, id: 'tg2', name: 'canary', arn: 'arn:aws:elasticloadbalancing:local:0:targetgroup/canary/tg2' };
    const state = {
      loadBalancers: [{ id: 'lb1', name: 'web', type: 'application' as const, placement: { nodes: [], attributes: { 'berth.ingress': 'true' } }, arn: 'lbarn' }],
      listeners: [{ id: 'l1', loadBalancerId: 'lb1', port: 8080, protocol: 'HTTP', arn: 'larn', defaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg.arn, Weight: 90 }, { TargetGroupArn: tg2.arn, Weight: 10 }] } }] }],
      rules: [
        { id: 'r2', listenerId: 'l1', priority: 20, conditions: [{ Field: 'path-pattern', Values: ['/b*'] }], actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', MessageBody: 'no' } }] },
        { id: 'r1', listenerId: 'l1', priority: 10, conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['api.lan'] } }], actions: [{ Type: 'forward', TargetGroupArn: tg.arn }] },
      ],
      targetGroups: [tg, tg2],
      targets: [{ targetGroupId: 'tg1', targetId: 'n-a', port: 32768, address: '127.0.0.2', draining: true }],
    };
    const snap = proxySnapshotFor(nodes.get('n-a')!, state);
    expect(snap.frontends).toHaveLength(1);
    expect(snap.frontends[0]).toMatchObject({ bindAddress: '127.0.0.2', port: 8080, protocol: 'HTTP', defaultAction: { type: 'forward', forward: [{ backendId: 'tg1', weight: 90 }, { backendId: 'tg2', weight: 10 }] } });
    expect(snap.frontends[0]!.rules.map((r) => [r.priority, r.hostHeaders, r.pathPatterns, r.action.type])).toEqual([
      [10, ['api.lan'], [], 'forward'],
      [20, [], ['/b*'], 'fixed-response'],
    ]);
    expect(snap.backends.map((b) => [b.id, b.servers])).toEqual([
      ['tg1', [{ id: 'n-a:32768', address: '127.0.0.2', port: 32768, weight: 1, state: 'draining' }]],
      ['tg2', []],
    ]);
    expect(proxySnapshotFor(nodes.get('n-b')!, state)).toEqual({ frontends: [], backends: [] });
    expect(targetGroupByArn([tg], 'arn:aws:elasticloadbalancing:us-east-1:123:targetgroup/web/abcdef')).toBe(tg);
  });
});
