import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aNode, aRequest, seededRandom } from './builders.js';
import { schedule, Scheduler, type NodeSnapshot, type PlacementStrategy } from './schedule.js';

/** Invariants over generated clusters and requests (fast-check). */
const zones = ['kitchen', 'attic', 'garage'];
const arbNode = fc.record({
  status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAINING'),
  connected: fc.boolean(),
  registeredMemory: fc.integer({ min: 0, max: 4096 }),
  registeredCpu: fc.integer({ min: 0, max: 4096 }),
  usedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  zone: fc.constantFrom(...zones),
  ports: fc.subarray(['80/tcp', '443/tcp', '53/udp']),
  web: fc.integer({ min: 0, max: 2 }),
});
const arbStrategy = fc.constantFrom<PlacementStrategy[]>(
  [],
  [{ type: 'binpack', field: 'memory' }],
  [{ type: 'binpack', field: 'cpu' }],
  [{ type: 'spread', field: 'attribute:zone' }, { type: 'binpack', field: 'memory' }],
  [{ type: 'spread', field: 'instanceId' }],
  [{ type: 'random' }],
);
const arbRequest = fc.record({
  count: fc.integer({ min: 1, max: 30 }),
  memoryMib: fc.integer({ min: 1, max: 1024 }),
  cpu: fc.integer({ min: 0, max: 1024 }),
  port: fc.constantFrom<string[]>([], ['80/tcp'], ['8080/tcp']),
  distinct: fc.boolean(),
  strategy: arbStrategy,
  seed: fc.integer(),
});

type NodeSpec = typeof arbNode extends fc.Arbitrary<infer T> ? T : never;

function build(specs: NodeSpec[]): NodeSnapshot[] {
  return specs.map((s) =>
    aNode({
      status: s.status,
      connected: s.connected,
      registeredMemory: s.registeredMemory,
      registeredCpu: s.registeredCpu,
      usedMemory: Math.floor(s.registeredMemory * s.usedFraction),
      usedCpu: Math.floor(s.registeredCpu * s.usedFraction),
      usedPorts: s.ports,
      attributes: { zone: s.zone },
      taskGroups: s.web > 0 ? { 'family:web': s.web } : {},
    }),
  );
}

describe('schedule: invariants', () => {
  it('never overcommits memory, CPU or a static port, never uses a DRAINING or disconnected node, and distinctInstance never co-locates', () => {
    fc.assert(
      fc.property(fc.array(arbNode, { maxLength: 12 }), arbRequest, (specs, r) => {
        const nodes = build(specs);
        const plan = schedule(
          nodes,
          aRequest({ count: r.count, memoryMib: r.memoryMib, cpu: r.cpu, hostPorts: r.port, strategy: r.strategy, constraints: r.distinct ? [{ type: 'distinctInstance' }] : [] }),
          seededRandom(r.seed),
        );
        expect(plan.placements.length + plan.failures.length).toBe(r.count);
        const byNode = new Map<string, number>();
        for (const p of plan.placements) byNode.set(p.nodeId, (byNode.get(p.nodeId) ?? 0) + 1);
        for (const [id, n] of byNode) {
          const node = nodes.find((x) => x.id === id)!;
          expect(node.status).toBe('ACTIVE');
          expect(node.connected).toBe(true);
          expect(node.usedMemory + n * r.memoryMib).toBeLessThanOrEqual(node.registeredMemory);
          expect(node.usedCpu + n * r.cpu).toBeLessThanOrEqual(node.registeredCpu);
          if (r.port.length > 0) {
            expect(n).toBe(1);
            expect(node.usedPorts.has(r.port[0]!)).toBe(false);
          }
          if (r.distinct) expect(n + (node.taskGroups.get('family:web') ?? 0)).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('binpack never opens a new node while a used one fits (nodes of one size)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 20 }), (used, count) => {
        const nodes = used.map((u) => aNode({ registeredMemory: 1024, usedMemory: u * 128 }));
        const plan = schedule(nodes, aRequest({ count, memoryMib: 128, strategy: [{ type: 'binpack', field: 'memory' }] }));
        const mem = new Map(nodes.map((n) => [n.id, n.usedMemory]));
        for (const p of plan.placements) {
          if (mem.get(p.nodeId) === 0) {
            for (const [id, m] of mem) if (id !== p.nodeId && m > 0) expect(1024 - m).toBeLessThan(128);
          }
          mem.set(p.nodeId, mem.get(p.nodeId)! + 128);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('spread keeps the per-value counts within 1 when capacity allows', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...zones), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 40 }), (nodeZones, count) => {
        const nodes = nodeZones.map((zone) => aNode({ registeredMemory: 1_000_000, attributes: { zone } }));
        const plan = schedule(nodes, aRequest({ count, memoryMib: 1, strategy: [{ type: 'spread', field: 'attribute:zone' }] }));
        const perZone = new Map<string, number>([...new Set(nodeZones)].map((z) => [z, 0]));
        for (const p of plan.placements) {
          const z = nodes.find((n) => n.id === p.nodeId)!.attributes.get('zone')!;
          perZone.set(z, perZone.get(z)! + 1);
        }
        const counts = [...perZone.values()];
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('the indexed fast path places exactly as scanning every node does', () => {
    const deterministic = fc.constantFrom<PlacementStrategy[]>(
      [],
      [{ type: 'binpack', field: 'memory' }],
      [{ type: 'binpack', field: 'cpu' }, { type: 'binpack', field: 'memory' }],
      [{ type: 'spread', field: 'attribute:zone' }, { type: 'binpack', field: 'memory' }],
      [{ type: 'spread', field: 'attribute:zone' }, { type: 'spread', field: 'instanceId' }],
      [{ type: 'spread', field: 'instanceId' }, { type: 'binpack', field: 'cpu' }],
    );
    fc.assert(
      fc.property(fc.array(arbNode, { maxLength: 15 }), arbRequest, deterministic, (specs, r, strategy) => {
        const nodes = build(specs);
        const req = aRequest({ count: r.count, memoryMib: r.memoryMib, cpu: r.cpu, hostPorts: r.port, strategy, constraints: r.distinct ? [{ type: 'distinctInstance' }] : [] });
        expect(schedule(nodes, req, Math.random)).toEqual(schedule(nodes, req, Math.random, { scan: true }));
      }),
      { numRuns: 500 },
    );
  });

  it('a Scheduler asked several times places as one schedule() call for the total', () => {
    fc.assert(
      fc.property(fc.array(arbNode, { maxLength: 12 }), arbRequest, fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), (specs, r, parts) => {
        const nodes = build(specs);
        const strategy = r.strategy.filter((s) => s.type !== 'random');
        const shape = { group: 'family:web', demand: { cpu: r.cpu, memoryMib: r.memoryMib, hostPorts: r.port }, strategy, constraints: r.distinct ? [{ type: 'distinctInstance' as const }] : [] };
        const total = parts.reduce((a, b) => a + b, 0);
        const once = schedule(nodes, { ...shape, count: total });
        const s = new Scheduler(nodes, shape);
        const pieces = parts.map((n) => s.place(n));
        expect(pieces.flatMap((p) => p.placements)).toEqual(once.placements);
        expect(pieces.flatMap((p) => p.failures)).toEqual(once.failures);
      }),
      { numRuns: 300 },
    );
  });
});
