import { describe, expect, it } from 'vitest';
import { firstFit, type NodeView } from './first-fit.js';

const aNode = (over: Partial<NodeView> = {}): NodeView => ({
  id: 'n-1',
  placeable: true,
  registeredCpu: 2048,
  registeredMemory: 1024,
  usedCpu: 0,
  usedMemory: 0,
  usedPorts: new Set(),
  ...over,
});

describe('firstFit', () => {
  it('fills the first node, then the next', () => {
    const plan = firstFit([aNode({ id: 'a' }), aNode({ id: 'b' })], { count: 3, demand: { cpu: 0, memoryMib: 512, hostPorts: [] } });
    expect(plan.placements.map((p) => p.nodeId)).toEqual(['a', 'a', 'b']);
    expect(plan.failures).toEqual([]);
  });

  it('never places two tasks on one static host port', () => {
    const plan = firstFit([aNode({ id: 'a' }), aNode({ id: 'b', usedPorts: new Set(['80/tcp']) })], {
      count: 2,
      demand: { cpu: 0, memoryMib: 8, hostPorts: ['80/tcp'] },
    });
    expect(plan.placements.map((p) => p.nodeId)).toEqual(['a']);
    expect(plan.failures[0]).toMatchObject({ reason: 'RESOURCE:PORTS' });
    expect(plan.failures[0]!.detail).toContain('port 80/tcp');
  });

  it('says which resource is short', () => {
    const plan = firstFit([aNode({ usedMemory: 900 })], { count: 1, demand: { cpu: 0, memoryMib: 256, hostPorts: [] } });
    expect(plan.failures).toEqual([{ reason: 'RESOURCE:MEMORY', detail: 'no node met all requirements; the first, node n-1 lacks 132 MiB memory' }]);
    const cpu = firstFit([aNode({ usedCpu: 2000 })], { count: 1, demand: { cpu: 512, memoryMib: 8, hostPorts: [] } });
    expect(cpu.failures[0]?.reason).toBe('RESOURCE:CPU');
  });

  it('skips nodes that are draining or disconnected, and says when none is left', () => {
    const plan = firstFit([aNode({ placeable: false })], { count: 2, demand: { cpu: 0, memoryMib: 8, hostPorts: [] } });
    expect(plan.placements).toEqual([]);
    expect(plan.failures.map((f) => f.reason)).toEqual(['AGENT', 'AGENT']);
  });
});
