import { describe, expect, it } from 'vitest';
import { toEpochSeconds, toWire } from './wire.js';

function encode(shape: string, value: unknown) {
  const dropped: [string, string][] = [];
  const wire = toWire(shape, value, { onDropped: (path, reason) => dropped.push([path, reason]) });
  return { wire, dropped };
}

describe('toWire: timestamps', () => {
  it('writes a Date as epoch seconds with the milliseconds as a fraction', () => {
    const { wire, dropped } = encode('Task', { createdAt: new Date('2024-05-01T10:00:00.123Z'), startedAt: new Date(1714557600000) });
    expect(wire).toEqual({ createdAt: 1714557600.123, startedAt: 1714557600 });
    expect(dropped).toEqual([]);
    expect(JSON.stringify(wire)).toBe('{"createdAt":1714557600.123,"startedAt":1714557600}');
  });

  it('writes an ISO string as a number, and keeps a number (epoch seconds)', () => {
    expect(toWire('Task', { createdAt: '2024-05-01T10:00:00.5Z', stoppedAt: 1714557600.25 })).toEqual({ createdAt: 1714557600.5, stoppedAt: 1714557600.25 });
  });

  it('drops and reports what is not a time', () => {
    const { wire, dropped } = encode('Task', { createdAt: 'soon', startedAt: new Date(NaN), stoppedAt: true });
    expect(wire).toEqual({});
    expect(dropped.map(([p]) => p)).toEqual(['createdAt', 'startedAt', 'stoppedAt']);
    expect(dropped[0][1]).toBe('expected a Date, epoch seconds or an ISO 8601 string, got "soon"');
  });

  it('toEpochSeconds', () => {
    expect(toEpochSeconds(new Date(1500))).toBe(1.5);
    expect(toEpochSeconds('1970-01-01T00:00:02Z')).toBe(2);
    expect(toEpochSeconds('2')).toBeUndefined();
    expect(toEpochSeconds(Infinity)).toBeUndefined();
  });
});

describe('toWire: members', () => {
  it('drops members not in the model and reports their paths', () => {
    const task = {
      taskArn: 'arn:aws:ecs:local:000000000000:task/default/0123',
      internalNodeId: 'node-7',
      containers: [{ name: 'app', dockerId: 'abc', networkBindings: [{ containerPort: 80, hostPort: 32768, hostIp: '0.0.0.0' }] }],
    };
    const { wire, dropped } = encode('Task', task);
    expect(wire).toEqual({
      taskArn: task.taskArn,
      containers: [{ name: 'app', networkBindings: [{ containerPort: 80, hostPort: 32768 }] }],
    });
    expect(dropped).toEqual([
      ['internalNodeId', 'not in the model'],
      ['containers[0].dockerId', 'not in the model'],
      ['containers[0].networkBindings[0].hostIp', 'not in the model'],
    ]);
  });

  it('omits undefined and null members without reporting them', () => {
    expect(encode('Task', { taskArn: 'a', cpu: undefined, memory: null, overrides: { containerOverrides: undefined } })).toEqual({
      wire: { taskArn: 'a', overrides: {} },
      dropped: [],
    });
  });

  it('turns a number into a string for a string shape (Task.cpu) and a numeric string into a number', () => {
    const { wire, dropped } = encode('Task', { cpu: 256, memory: '512', version: '42', containers: [{ exitCode: '137' }] });
    expect(wire).toEqual({ cpu: '256', memory: '512', version: 42, containers: [{ exitCode: 137 }] });
    expect(dropped).toEqual([]);
  });

  it('drops values of the wrong kind with a reason', () => {
    const { wire, dropped } = encode('Task', { version: 'v2', enableExecuteCommand: 'yes', containers: 'app', overrides: [], tags: [null, { key: 'k' }] });
    expect(wire).toEqual({ tags: [{ key: 'k' }] });
    expect(dropped).toEqual([
      ['version', 'expected an integer, got "v2"'],
      ['enableExecuteCommand', 'expected true or false, got "yes"'],
      ['containers', 'expected an array, got a string'],
      ['overrides', 'expected an object, got an array'],
      ['tags[0]', 'null in a list'],
    ]);
  });

  it('walks maps (plain objects or Map) and lists (arrays or Set)', () => {
    const container = { name: 'app', dockerLabels: new Map([['team', 'web']]), command: new Set(['sleep', '1']), healthCheck: { command: ['CMD'], interval: '30' } };
    const { wire, dropped } = encode('ContainerDefinition', container);
    expect(wire).toEqual({ name: 'app', dockerLabels: { team: 'web' }, command: ['sleep', '1'], healthCheck: { command: ['CMD'], interval: 30 } });
    expect(dropped).toEqual([]);
  });

  it('keeps a __proto__ map key as data', () => {
    const labels = JSON.parse('{"__proto__":"x","a":"b"}');
    const wire = toWire('ContainerDefinition', { dockerLabels: labels }) as { dockerLabels: Record<string, string> };
    expect(Object.getPrototypeOf(wire.dockerLabels)).toBe(Object.prototype);
    expect(JSON.stringify(wire)).toBe('{"dockerLabels":{"__proto__":"x","a":"b"}}');
  });

  it('accepts class instances as structures', () => {
    class Failure {
      constructor(readonly arn: string, readonly reason: string) {}
    }
    expect(toWire('DescribeTasksResponse', { tasks: [], failures: [new Failure('arn:x', 'MISSING')] })).toEqual({ tasks: [], failures: [{ arn: 'arn:x', reason: 'MISSING' }] });
  });

  it('returns undefined for null/undefined and throws for an unknown shape', () => {
    expect(toWire('Task', null)).toBeUndefined();
    expect(toWire('Task', undefined)).toBeUndefined();
    expect(() => toWire('Tsak', {})).toThrow(/no shape "Tsak"/);
    expect(() => toWire('toString', {})).toThrow(/no shape/);
  });

  it('stops at a cycle in a view', () => {
    const hook: Record<string, unknown> = { hookTargetArn: 'arn' };
    hook.hookDetails = hook; // a document: free-form, so the cycle is followed until the depth guard
    const dropped: string[] = [];
    const wire = toWire('DeploymentLifecycleHook', hook, { onDropped: (p) => dropped.push(p), maxDepth: 8 });
    expect(wire).toMatchObject({ hookTargetArn: 'arn' });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(/^hookDetails\.hookDetails/);
  });

  it('copies documents as JSON', () => {
    const hookDetails = { n: 1, list: [true, null, 'x'], when: new Date(0), skip: undefined };
    expect(toWire('DeploymentLifecycleHook', { hookDetails })).toEqual({ hookDetails: { n: 1, list: [true, null, 'x'], when: '1970-01-01T00:00:00.000Z' } });
  });
});
