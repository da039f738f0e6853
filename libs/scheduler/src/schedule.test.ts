import { describe, expect, it } from 'vitest';
import { aNode, aRequest, seededRandom } from './builders.js';
import { compilePlacement, PlacementInputError, schedule, scheduleDaemon, verifyPlacements } from './schedule.js';

const ids = (plan: { placements: { nodeId: string }[] }) => plan.placements.map((p) => p.nodeId);

describe('schedule: feasibility', () => {
  it('places only on ACTIVE nodes with a connected agent', () => {
    const draining = aNode({ status: 'DRAINING' });
    const away = aNode({ connected: false });
    const ok = aNode();
    expect(ids(schedule([draining, away, ok], aRequest({ count: 2 })))).toEqual([ok.id, ok.id]);
  });

  it('accounts for each placement before the next: memory, CPU and static ports', () => {
    const n = aNode({ registeredMemory: 300, registeredCpu: 1024 });
    const plan = schedule([n], aRequest({ count: 3, memoryMib: 128 }));
    expect(ids(plan)).toEqual([n.id, n.id]);
    expect(plan.failures).toEqual([{ reason: 'RESOURCE:MEMORY', detail: `no node met all requirements (1 short of memory); the closest, node ${n.id} lacks 84 MiB memory` }]);
    expect(schedule([n], aRequest({ count: 2, cpu: 600, memoryMib: 8 })).failures[0]!.reason).toBe('RESOURCE:CPU');
    const ported = schedule([n], aRequest({ count: 2, memoryMib: 8, hostPorts: ['80/tcp'] }));
    expect(ids(ported)).toEqual([n.id]);
    expect(ported.failures[0]).toEqual({ reason: 'RESOURCE:PORTS', detail: `no node met all requirements (1 using a needed port); the closest, node ${n.id} is already using port 80/tcp` });
  });

  it('memberOf: only nodes whose attributes match', () => {
    const pi = aNode({ attributes: { 'ecs.cpu-architecture': 'arm64' } });
    const vm = aNode();
    const req = aRequest({ count: 2, constraints: [{ type: 'memberOf', expression: 'attribute:ecs.cpu-architecture == arm64' }] });
    expect(ids(schedule([vm, pi], req))).toEqual([pi.id, pi.id]);
    const none = schedule([vm], req);
    expect(none.failures[0]).toEqual({ reason: 'ATTRIBUTE', detail: `no node met all requirements (1 not matching the constraints); the closest, node ${vm.id} does not match attribute:ecs.cpu-architecture == arm64` });
  });

  it('memberOf on task:group sees the tasks this plan places', () => {
    const a = aNode({ taskGroups: { 'service:db': 1 } });
    const b = aNode();
    const req = aRequest({ count: 2, group: 'service:cache', constraints: [{ type: 'memberOf', expression: 'task:group == service:db' }] });
    expect(ids(schedule([b, a], req))).toEqual([a.id, a.id]);
  });

  it('distinctInstance never puts two tasks of the group on one node', () => {
    const nodes = [aNode(), aNode({ taskGroups: { 'family:web': 1 } }), aNode()];
    const plan = schedule(nodes, aRequest({ count: 3, constraints: [{ type: 'distinctInstance' }] }));
    expect(ids(plan)).toEqual([nodes[0]!.id, nodes[2]!.id]);
    expect(plan.failures[0]!.detail).toMatch(/^no node met all requirements \(3 already running one of the group\); the closest, node n-\d+ already runs a task of family:web/);
  });

  it('explains with counts per reason and the closest node', () => {
    const nodes = [aNode({ status: 'DRAINING' }), aNode({ connected: false }), aNode({ registeredMemory: 100 }), aNode({ registeredMemory: 120 }), aNode({ attributes: { zone: 'x' } })];
    const plan = schedule(nodes, aRequest({ memoryMib: 128, constraints: [{ type: 'memberOf', expression: 'attribute:zone != x' }] }));
    expect(plan.failures).toEqual([
      { reason: 'RESOURCE:MEMORY', detail: `no node met all requirements (2 not ACTIVE or not connected, 2 short of memory, 1 not matching the constraints); the closest, node ${nodes[3]!.id} lacks 8 MiB memory` },
    ]);
    expect(schedule([], aRequest()).failures).toEqual([{ reason: 'AGENT', detail: 'no node in the cluster' }]);
  });
});

describe('schedule: strategies', () => {
  it('binpack(memory) fills the fullest node that fits', () => {
    const roomy = aNode({ registeredMemory: 4096 });
    const tight = aNode({ registeredMemory: 4096, usedMemory: 3800 });
    const plan = schedule([roomy, tight], aRequest({ count: 3, memoryMib: 128, strategy: [{ type: 'binpack', field: 'memory' }] }));
    expect(ids(plan)).toEqual([tight.id, tight.id, roomy.id]);
  });

  it('binpack(cpu) uses CPU units', () => {
    const a = aNode({ usedCpu: 0 });
    const b = aNode({ usedCpu: 1500 });
    expect(ids(schedule([a, b], aRequest({ cpu: 256, strategy: [{ type: 'binpack', field: 'cpu' }] })))).toEqual([b.id]);
  });

  it('spread(attribute) balances the group over the values, counting tasks already there', () => {
    const k1 = aNode({ attributes: { room: 'kitchen' }, taskGroups: { 'family:web': 2 } });
    const k2 = aNode({ attributes: { room: 'kitchen' } });
    const a1 = aNode({ attributes: { room: 'attic' } });
    const plan = schedule([k1, k2, a1], aRequest({ count: 4, strategy: [{ type: 'spread', field: 'attribute:room' }] }));
    // attic 0 vs kitchen 2: attic, attic (2-2), then kitchen/attic alternate
    expect(ids(plan).filter((id) => id === a1.id).length).toBe(3);
  });

  it('spread(instanceId) then binpack(memory) as a tie-breaker', () => {
    const nodes = [aNode({ usedMemory: 0 }), aNode({ usedMemory: 1000 }), aNode({ usedMemory: 500 })];
    const plan = schedule(nodes, aRequest({ count: 3, strategy: [{ type: 'spread', field: 'instanceId' }, { type: 'binpack', field: 'memory' }] }));
    expect(ids(plan)).toEqual([nodes[1]!.id, nodes[2]!.id, nodes[0]!.id]);
  });

  it('random is repeatable with a seed', () => {
    const nodes = Array.from({ length: 10 }, () => aNode());
    const req = aRequest({ count: 20, strategy: [{ type: 'random' }] });
    const a = ids(schedule(nodes, req, seededRandom(7)));
    expect(ids(schedule(nodes, req, seededRandom(7)))).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(3);
  });

  it('with no strategy takes nodes in the order given', () => {
    const nodes = [aNode(), aNode()];
    expect(ids(schedule(nodes, aRequest({ count: 2 })))).toEqual([nodes[0]!.id, nodes[0]!.id]);
  });
});

describe('compilePlacement: bad input names the field', () => {
  it.each([
    [[{ type: 'memberOf' }], [], 'placementConstraints[0].expression: memberOf needs an expression'],
    [[{ type: 'memberOf', expression: 'attribute:x ==' }], [], 'placementConstraints[0].expression: expected a value at character 15'],
    [[{ type: 'distinctInstance', expression: 'x' }], [], 'placementConstraints[0].expression: distinctInstance takes no expression'],
    [[{ type: 'sameHost' }], [], 'placementConstraints[0].type: must be distinctInstance or memberOf'],
    [[], [{ type: 'binpack', field: 'disk' }], 'placementStrategy[0].field: binpack takes cpu or memory'],
    [[], [{ type: 'spread', field: 'zone' }], 'placementStrategy[0].field: spread takes instanceId or attribute:NAME'],
    [[], [{ type: 'random', field: 'x' }], 'placementStrategy[0].field: random takes no field'],
    [[], [{ type: 'fill' }], 'placementStrategy[0].type: must be binpack, spread or random'],
  ])('%j %j', (constraints, strategy, message) => {
    expect(() => compilePlacement(constraints as never, strategy as never)).toThrow(PlacementInputError);
    expect(() => compilePlacement(constraints as never, strategy as never)).toThrow(message);
  });

  it('accepts ECS\'s "host" for spread and is case-insensitive on binpack fields', () => {
    expect(compilePlacement([], [{ type: 'spread', field: 'host' }, { type: 'binpack', field: 'MEMORY' }]).strategy).toEqual([
      { type: 'spread', field: 'instanceId' },
      { type: 'binpack', field: 'memory' },
    ]);
  });
});

describe('verifyPlacements: the plan applier\'s re-check', () => {
  it('accepts what still fits on fresh state, in order, and rejects the rest', () => {
    const n = aNode({ registeredMemory: 300 });
    const req = aRequest({ memoryMib: 128 });
    const plan = schedule([n], { ...req, count: 2 });
    expect(verifyPlacements([n], req, plan.placements)).toEqual([true, true]);
    // Meanwhile another scheduler used 100 MiB of it: only one still fits.
    expect(verifyPlacements([{ ...n, usedMemory: 100 }], req, plan.placements)).toEqual([true, false]);
    expect(verifyPlacements([{ ...n, status: 'DRAINING' }], req, plan.placements)).toEqual([false, false]);
    expect(verifyPlacements([], req, plan.placements)).toEqual([false, false]);
  });
});

describe('scheduleDaemon', () => {
  it('one task on every matching node that has none yet; a matching node without room is named', () => {
    const pi = aNode({ attributes: { 'ecs.cpu-architecture': 'arm64' } });
    const full = aNode({ attributes: { 'ecs.cpu-architecture': 'arm64' }, registeredMemory: 64 });
    const has = aNode({ attributes: { 'ecs.cpu-architecture': 'arm64' }, taskGroups: { 'service:node-exporter': 1 } });
    const vm = aNode();
    const drained = aNode({ status: 'DRAINING', attributes: { 'ecs.cpu-architecture': 'arm64' } });
    const plan = scheduleDaemon([pi, full, has, vm, drained], {
      group: 'service:node-exporter',
      demand: { cpu: 0, memoryMib: 128, hostPorts: ['9100/tcp'] },
      constraints: [{ type: 'memberOf', expression: 'attribute:ecs.cpu-architecture == arm64' }],
    });
    expect(ids(plan)).toEqual([pi.id]);
    expect(plan.failures).toEqual([{ reason: 'RESOURCE:MEMORY', detail: `node ${full.id} lacks 64 MiB memory` }]);
  });
});
