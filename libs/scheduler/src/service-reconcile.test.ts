import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circuitBreakerThreshold, deploymentBounds, isHealthyTask, launchDelayMs, reconcileService, rollingDeadlock, type ServicePlan, type ServiceTaskView, type ServiceView } from './service-reconcile.js';

let seq = 0;
function aTask(over: Partial<ServiceTaskView> = {}): ServiceTaskView {
  seq++;
  return { id: `t${String(seq).padStart(4, '0')}`, deploymentId: 'new', nodeId: `n${seq % 5}`, stopping: false, lastStatus: 'RUNNING', health: 'UNKNOWN', healthChecked: false, startedAtMs: 0, createdAtMs: seq, ...over };
}
function aService(over: Partial<ServiceView> = {}): ServiceView {
  return { strategy: 'REPLICA', desiredCount: 4, minimumHealthyPercent: 100, maximumPercent: 200, healthCheckGracePeriodMs: 0, primaryDeploymentId: 'new', launchBlocked: false, tasks: [], drainingNodes: new Set(), nowMs: 1_000_000, ...over };
}
const old = (n: number, over: Partial<ServiceTaskView> = {}) => Array.from({ length: n }, () => aTask({ deploymentId: 'old', ...over }));
const fresh = (n: number, over: Partial<ServiceTaskView> = {}) => Array.from({ length: n }, () => aTask(over));

/** Plays a rolling update to the end: each round applies the plan, new tasks become healthy, stopping tasks stop. */
function rollOut(v: ServiceView, rounds = 50): { minHealthy: number; maxTotal: number; final: ServiceView } {
  let state = v;
  let minHealthy = Infinity;
  let maxTotal = 0;
  for (let i = 0; i < rounds; i++) {
    const plan = reconcileService(state);
    const stopIds = new Set(plan.stop.map((s) => s.taskId));
    let tasks = state.tasks.map((t) => (stopIds.has(t.id) ? { ...t, stopping: true } : t));
    tasks.push(...fresh(plan.start, { lastStatus: 'PENDING' }));
    maxTotal = Math.max(maxTotal, tasks.length);
    minHealthy = Math.min(minHealthy, tasks.filter(isHealthyTask).length);
    // Then the world moves: stopping tasks stop, pending ones run.
    tasks = tasks.filter((t) => !t.stopping).map((t) => ({ ...t, lastStatus: 'RUNNING' }));
    minHealthy = Math.min(minHealthy, tasks.filter(isHealthyTask).length);
    state = { ...state, tasks };
    if (plan.steady) break;
  }
  return { minHealthy, maxTotal, final: state };
}

describe('deployment arithmetic (ECS rounding)', () => {
  it('rounds the minimum up and the maximum down', () => {
    expect(deploymentBounds(4, 50, 100)).toEqual({ minHealthy: 2, maxTotal: 4 });
    expect(deploymentBounds(4, 100, 150)).toEqual({ minHealthy: 4, maxTotal: 6 });
    expect(deploymentBounds(3, 50, 150)).toEqual({ minHealthy: 2, maxTotal: 4 });
    expect(deploymentBounds(100, 100, 125)).toEqual({ minHealthy: 100, maxTotal: 125 });
  });
  it('leaves room for one task where rounding would leave none', () => {
    expect(deploymentBounds(1, 100, 150)).toEqual({ minHealthy: 1, maxTotal: 2 });
    expect(deploymentBounds(1, 50, 100)).toEqual({ minHealthy: 0, maxTotal: 1 });
    expect(deploymentBounds(0, 100, 200)).toEqual({ minHealthy: 0, maxTotal: 0 });
  });
  it('circuit breaker threshold: half the desired count, at least 3, at most 200', () => {
    expect([1, 4, 6, 7, 10, 1000].map(circuitBreakerThreshold)).toEqual([3, 3, 3, 4, 5, 200]);
  });
  it('launch backoff: first at once, then doubling to a minute', () => {
    expect([0, 1, 2, 3, 4, 10].map(launchDelayMs)).toEqual([0, 0, 1000, 2000, 4000, 60_000]);
  });
  it('a rolling update that can neither stop nor start a task is a deadlock', () => {
    expect(rollingDeadlock(4, 100, 100)).toBe(true);
    expect(rollingDeadlock(1, 50, 100)).toBe(false);
    expect(rollingDeadlock(1, 100, 100)).toBe(true);
    expect(rollingDeadlock(4, 50, 100)).toBe(false);
    expect(rollingDeadlock(0, 100, 100)).toBe(false);
  });
});

describe('REPLICA rolling update', () => {
  it('4 tasks at 50/100: down to 2 healthy, never above 4, ends all new', () => {
    const r = rollOut(aService({ minimumHealthyPercent: 50, maximumPercent: 100, tasks: old(4) }));
    expect(r.minHealthy).toBe(2);
    expect(r.maxTotal).toBe(4);
    expect(r.final.tasks.every((t) => t.deploymentId === 'new')).toBe(true);
    expect(r.final.tasks).toHaveLength(4);
  });
  it('4 tasks at 100/150: never below 4 healthy, up to 6', () => {
    const r = rollOut(aService({ minimumHealthyPercent: 100, maximumPercent: 150, tasks: old(4) }));
    expect(r.minHealthy).toBe(4);
    expect(r.maxTotal).toBe(6);
    expect(r.final.tasks.every((t) => t.deploymentId === 'new')).toBe(true);
  });
  it('starts the missing tasks of a new service and then is steady', () => {
    const plan = reconcileService(aService({ desiredCount: 3 }));
    expect(plan.start).toBe(3);
    expect(reconcileService(aService({ desiredCount: 3, tasks: fresh(3) })).steady).toBe(true);
  });
  it('replaces an unhealthy task only after the grace period', () => {
    const sick = aTask({ healthChecked: true, health: 'UNHEALTHY', startedAtMs: 990_000 });
    const within = reconcileService(aService({ desiredCount: 1, healthCheckGracePeriodMs: 60_000, tasks: [sick] }));
    expect(within.stop).toEqual([]);
    const after = reconcileService(aService({ desiredCount: 1, healthCheckGracePeriodMs: 5_000, tasks: [sick] }));
    expect(after.stop).toEqual([{ taskId: sick.id, cause: 'unhealthy' }]);
  });
  it('scales down the least useful tasks first', () => {
    const pending = aTask({ lastStatus: 'PENDING' });
    const plan = reconcileService(aService({ desiredCount: 2, tasks: [...fresh(2), pending] }));
    expect(plan.stop).toEqual([{ taskId: pending.id, cause: 'scale-down' }]);
  });
  it('moves tasks off a draining node: starts first, stops when the minimum allows', () => {
    const tasks = [aTask({ nodeId: 'a' }), aTask({ nodeId: 'b' })];
    const v = aService({ desiredCount: 2, minimumHealthyPercent: 100, maximumPercent: 200, tasks, drainingNodes: new Set(['a']) });
    const first = reconcileService(v);
    expect(first.start).toBe(1);
    expect(first.stop).toEqual([]);
    expect(first.blockedByMinimum).toBe(false);
    const second = reconcileService({ ...v, tasks: [...tasks, aTask({ nodeId: 'c' })] });
    expect(second.stop).toEqual([{ taskId: tasks[0]!.id, cause: 'draining' }]);
  });
  it('a drain with nowhere to go waits at the minimum', () => {
    const tasks = [aTask({ nodeId: 'a' }), aTask({ nodeId: 'b' })];
    const v = aService({ desiredCount: 2, minimumHealthyPercent: 100, maximumPercent: 100, tasks, drainingNodes: new Set(['a']) });
    const plan = reconcileService(v);
    expect(plan).toMatchObject({ start: 0, stop: [], blockedByMinimum: true, steady: false });
  });
  it('a failed deployment without rollback keeps what runs and starts nothing', () => {
    const sick = aTask({ deploymentId: 'old', healthChecked: true, health: 'UNHEALTHY' });
    const plan = reconcileService(aService({ frozen: true, minimumHealthyPercent: 50, tasks: [...old(3), sick] }));
    expect(plan).toMatchObject({ start: 0, stop: [], steady: false });
  });
  it('launches nothing while blocked, but still stops', () => {
    const plan = reconcileService(aService({ launchBlocked: true, minimumHealthyPercent: 0, tasks: old(2) }));
    expect(plan.start).toBe(0);
    expect(plan.stop).toHaveLength(2);
  });
});

describe('DAEMON', () => {
  const daemon = (over: Partial<ServiceView>) => aService({ strategy: 'DAEMON', minimumHealthyPercent: 0, maximumPercent: 100, ...over });
  it('one task per eligible node; stops tasks on nodes that stopped matching', () => {
    const off = aTask({ nodeId: 'gone' });
    const plan = reconcileService(daemon({ eligibleNodes: ['a', 'b'], tasks: [aTask({ nodeId: 'a' }), off] }));
    expect(plan.startOn).toEqual(['b']);
    expect(plan.stop).toEqual([{ taskId: off.id, cause: 'ineligible-node' }]);
  });
  it('replaces per node: stop the old, start the new once it is gone', () => {
    const o = aTask({ nodeId: 'a', deploymentId: 'old' });
    const first = reconcileService(daemon({ eligibleNodes: ['a'], tasks: [o] }));
    expect(first.stop).toEqual([{ taskId: o.id, cause: 'replaced' }]);
    expect(first.startOn).toEqual([]);
    const second = reconcileService(daemon({ eligibleNodes: ['a'], tasks: [] }));
    expect(second.startOn).toEqual(['a']);
  });
  it('is steady with one healthy primary task per node', () => {
    expect(reconcileService(daemon({ eligibleNodes: ['a', 'b'], tasks: [aTask({ nodeId: 'a' }), aTask({ nodeId: 'b' })] })).steady).toBe(true);
  });
});

/** The invariant the issue asks for, over any mix of task states, deployments, drains and failures. */
describe('REPLICA plans stay within the bounds (property)', () => {
  const arbTask = fc.record({
    deploymentId: fc.constantFrom('new', 'old', 'older'),
    node: fc.constantFrom('a', 'b', 'c', 'd'),
    stopping: fc.boolean(),
    lastStatus: fc.constantFrom('PROVISIONING', 'PENDING', 'ACTIVATING', 'RUNNING', 'RUNNING', 'RUNNING'),
    healthChecked: fc.boolean(),
    health: fc.constantFrom('HEALTHY', 'UNHEALTHY', 'UNKNOWN') as fc.Arbitrary<'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN'>,
    startedAgoMs: fc.integer({ min: 0, max: 120_000 }),
  });
  const arbView = fc.record({
    desiredCount: fc.integer({ min: 0, max: 12 }),
    min: fc.integer({ min: 0, max: 100 }),
    max: fc.integer({ min: 100, max: 200 }),
    grace: fc.constantFrom(0, 30_000),
    launchBlocked: fc.boolean(),
    frozen: fc.boolean(),
    draining: fc.subarray(['a', 'b', 'c', 'd']),
    tasks: fc.array(arbTask, { maxLength: 20 }),
  });
  type ViewSpec = typeof arbView extends fc.Arbitrary<infer T> ? T : never;
  const build = (x: ViewSpec): ServiceView =>
    aService({
      desiredCount: x.desiredCount,
      minimumHealthyPercent: x.min,
      maximumPercent: x.max,
      healthCheckGracePeriodMs: x.grace,
      launchBlocked: x.launchBlocked,
      frozen: x.frozen,
      drainingNodes: new Set(x.draining),
      tasks: x.tasks.map((t) => aTask({ deploymentId: t.deploymentId, nodeId: t.node, stopping: t.stopping, lastStatus: t.lastStatus, healthChecked: t.healthChecked, health: t.health, startedAtMs: 1_000_000 - t.startedAgoMs })),
    });
  const check = (v: ServiceView, plan: ServicePlan) => {
    const { minHealthy, maxTotal } = deploymentBounds(v.desiredCount, v.minimumHealthyPercent, v.maximumPercent);
    const stopped = new Set(plan.stop.map((s) => s.taskId));
    const healthyBefore = v.tasks.filter(isHealthyTask).length;
    const healthyAfter = v.tasks.filter((t) => isHealthyTask(t) && !stopped.has(t.id)).length;
    // Never below the minimum while healthy tasks exist (a plan never makes it worse than it was).
    expect(healthyAfter).toBeGreaterThanOrEqual(Math.min(minHealthy, healthyBefore));
    // Never above the maximum: new tasks only into room (tasks stopping still count).
    if (v.tasks.length <= maxTotal) expect(v.tasks.length + plan.start).toBeLessThanOrEqual(maxTotal);
    else expect(plan.start).toBe(0);
    // Only tasks that are not already stopping are stopped, each once.
    expect(stopped.size).toBe(plan.stop.length);
    for (const id of stopped) expect(v.tasks.find((t) => t.id === id)?.stopping).toBe(false);
    if (v.launchBlocked || v.frozen) expect(plan.start).toBe(0);
  };
  it('for any state', () => {
    fc.assert(
      fc.property(arbView, (x) => {
        const v = build(x);
        check(v, reconcileService(v));
      }),
      { numRuns: 2000 },
    );
  });
  it('for any sequence of failures and node changes, step by step', () => {
    const arbEvent = fc.oneof(
      fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('drain' as const), node: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('undrain' as const), node: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('lose' as const), node: fc.constantFrom('a', 'b', 'c', 'd') }),
      fc.record({ kind: fc.constant('settle' as const) }),
    );
    fc.assert(
      fc.property(arbView, fc.array(arbEvent, { maxLength: 25 }), (x, events) => {
        let v = build({ ...x, tasks: x.tasks.filter((t) => !t.stopping) });
        const nodes = ['a', 'b', 'c', 'd'];
        let n = 0;
        for (const e of events) {
          const plan = reconcileService(v);
          check(v, plan);
          const stopIds = new Set(plan.stop.map((s) => s.taskId));
          let tasks = v.tasks.map((t) => (stopIds.has(t.id) ? { ...t, stopping: true } : t));
          tasks.push(...Array.from({ length: plan.start }, () => aTask({ lastStatus: 'PENDING', nodeId: nodes[n++ % 4]! })));
          let draining = new Set(v.drainingNodes);
          if (e.kind === 'fail' && tasks.length > 0) tasks.splice(e.pick % tasks.length, 1);
          if (e.kind === 'drain') draining.add(e.node);
          if (e.kind === 'undrain') draining.delete(e.node);
          if (e.kind === 'lose') tasks = tasks.filter((t) => t.nodeId !== e.node);
          if (e.kind === 'settle') tasks = tasks.filter((t) => !t.stopping).map((t) => ({ ...t, lastStatus: 'RUNNING', health: 'HEALTHY' as const }));
          v = { ...v, tasks, drainingNodes: draining };
          draining = new Set();
        }
      }),
      { numRuns: 500 },
    );
  });
  it('converges: with settling, any start state ends steady with only new tasks', () => {
    fc.assert(
      fc.property(arbView, (x) => {
        const v = build({ ...x, launchBlocked: false, frozen: false, draining: [], tasks: x.tasks.map((t) => ({ ...t, health: 'HEALTHY' as const })) });
        if (rollingDeadlock(v.desiredCount, v.minimumHealthyPercent, v.maximumPercent)) return;
        const r = rollOut(v, 100);
        expect(r.final.tasks.filter((t) => t.deploymentId === 'new')).toHaveLength(v.desiredCount);
        expect(r.final.tasks).toHaveLength(v.desiredCount);
      }),
      { numRuns: 500 },
    );
  });
});
