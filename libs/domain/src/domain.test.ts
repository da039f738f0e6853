import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  arns,
  checkTaskTransition,
  DEFAULT_ARN_CONTEXT,
  newTaskId,
  parseCpuUnits,
  parseMemoryMib,
  parseTaskDefinitionRef,
  resourceId,
  seededRandom,
  TASK_STATUSES,
  TASK_TRANSITIONS,
  taskResources,
  BerthError,
} from './index.js';

describe('task lifecycle', () => {
  it('moves forward only and STOPPED is final', () => {
    expect(checkTaskTransition('PENDING', 'RUNNING')).toEqual({ ok: true });
    expect(checkTaskTransition('PENDING', 'STOPPED')).toEqual({ ok: true });
    expect(checkTaskTransition('RUNNING', 'RUNNING')).toEqual({ ok: true });
    expect(checkTaskTransition('STOPPED', 'RUNNING')).toEqual({ ok: false, reason: 'a task cannot go from STOPPED back to RUNNING' });
    expect(checkTaskTransition('RUNNING', 'PENDING').ok).toBe(false);
    expect(checkTaskTransition('RUNNING', 'EXPLODED')).toEqual({ ok: false, reason: 'unknown task status "EXPLODED"' });
    expect(TASK_TRANSITIONS.STOPPED).toEqual([]);
  });

  it('allows exactly the later statuses from each status', () => {
    TASK_STATUSES.forEach((from, i) => {
      TASK_STATUSES.forEach((to, j) => {
        expect(checkTaskTransition(from, to).ok, `${from} -> ${to}`).toBe(j >= i);
      });
    });
  });
});

describe('ARNs and references', () => {
  const c = DEFAULT_ARN_CONTEXT;
  it('builds ECS long-format ARNs and reads ids back', () => {
    const arn = arns.task(c, 'default', 'a'.repeat(32));
    expect(arn).toBe(`arn:aws:ecs:local:000000000000:task/default/${'a'.repeat(32)}`);
    expect(resourceId(arn)).toBe('a'.repeat(32));
    expect(resourceId('plain-id')).toBe('plain-id');
    expect(resourceId(arns.containerInstance(c, 'lab', 'n-1'))).toBe('n-1');
  });

  it('parses family, family:revision and task definition ARNs', () => {
    expect(parseTaskDefinitionRef('web')).toEqual({ family: 'web' });
    expect(parseTaskDefinitionRef('web:3')).toEqual({ family: 'web', revision: 3 });
    expect(parseTaskDefinitionRef(arns.taskDefinition(c, 'web', 4))).toEqual({ family: 'web', revision: 4 });
    expect(parseTaskDefinitionRef('web:0')).toBeUndefined();
    expect(parseTaskDefinitionRef('we b')).toBeUndefined();
    expect(parseTaskDefinitionRef('')).toBeUndefined();
  });

  it('makes 32-hex task ids from injected randomness, repeatably', () => {
    const a = newTaskId(seededRandom(1));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newTaskId(seededRandom(1))).toBe(a);
  });
});

describe('resources', () => {
  it('reads ECS cpu and memory strings', () => {
    expect(parseCpuUnits('1 vCPU')).toBe(1024);
    expect(parseCpuUnits('0.25 vcpu')).toBe(256);
    expect(parseCpuUnits('512')).toBe(512);
    expect(parseCpuUnits(2048)).toBe(2048);
    expect(typeof parseCpuUnits('lots')).toBe('string');
    expect(parseMemoryMib('1 GB')).toBe(1024);
    expect(parseMemoryMib('2GB')).toBe(2048);
    expect(parseMemoryMib('512 MiB')).toBe(512);
    expect(parseMemoryMib(300)).toBe(300);
    expect(typeof parseMemoryMib('1 TB')).toBe('string');
  });

  it('sums container reservations when the task sets none', () => {
    const spec = {
      family: 'f',
      containerDefinitions: [
        { name: 'a', image: 'x', cpu: 256, memory: 128 },
        { name: 'b', image: 'x', memoryReservation: 64 },
      ],
    };
    expect(taskResources(spec)).toEqual({ cpu: 256, memoryMib: 192 });
    expect(taskResources({ ...spec, cpu: '1024', memory: '512' })).toEqual({ cpu: 1024, memoryMib: 512 });
  });
});

describe('applyOverrides', () => {
  const spec = {
    family: 'f',
    containerDefinitions: [{ name: 'app', image: 'x', memory: 64, command: ['serve'], environment: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
  };
  it('replaces the command and merges the environment by name', () => {
    const out = applyOverrides(spec, { containerOverrides: [{ name: 'app', command: ['migrate'], environment: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }], memory: '1 GB' });
    expect(out.containerDefinitions[0]).toMatchObject({ command: ['migrate'], environment: [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }] });
    expect(out.memory).toBe('1024');
    expect(spec.containerDefinitions[0]!.command).toEqual(['serve']);
  });
  it('names an override for a container that does not exist', () => {
    expect(() => applyOverrides(spec, { containerOverrides: [{ name: 'nope' }] })).toThrow(BerthError);
    expect(() => applyOverrides(spec, { containerOverrides: [{ name: 'nope' }] })).toThrow(/overrides.containerOverrides\[0\].name: must name a container of the task definition \(app\)/);
  });
});
