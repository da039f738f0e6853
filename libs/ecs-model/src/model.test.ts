import { describe, expect, expectTypeOf, it } from 'vitest';
import { ECS_METADATA, OPERATIONS, SHAPES } from './gen/ecs-model.js';
import type { DescribeTasksRequest, DescribeTasksResponse, EcsOperationName, EcsOperationTypes, EcsShapeTypes, LaunchType, Task } from './gen/ecs-types.js';
import { errorShapesOf, inputMembers, isOperation, isShape, operationNames, operationOf, requiredMembers, shapeOf } from './model.js';
import type { ShapeDef } from './model-types.js';

describe('generated model', () => {
  it('has the service metadata a JSON 1.1 endpoint needs', () => {
    expect(ECS_METADATA.targetPrefix).toBe('AmazonEC2ContainerServiceV20141113');
    expect(ECS_METADATA.apiVersion).toBe('2014-11-13');
    expect(ECS_METADATA.signingName).toBe('ecs');
    expect(ECS_METADATA.jsonVersion).toBe('1.1');
  });

  it('has 77 operations, sorted', () => {
    const names = operationNames();
    expect(names).toHaveLength(77);
    expect([...names].sort()).toEqual(names);
    for (const op of ['RegisterTaskDefinition', 'RunTask', 'CreateService', 'UpdateService', 'DescribeTasks', 'ListServiceDeployments']) expect(names).toContain(op);
  });

  it('names DescribeTasks input and output', () => {
    expect(OPERATIONS.DescribeTasks.input).toBe('DescribeTasksRequest');
    expect(OPERATIONS.DescribeTasks.output).toBe('DescribeTasksResponse');
    expect(OPERATIONS.DescribeTasks.readonly).toBe(true);
    expect(OPERATIONS.RunTask.readonly).toBeUndefined();
    expect(errorShapesOf('DescribeTasks')).toEqual(expect.arrayContaining(['ServerException', 'ClientException', 'InvalidParameterException', 'ClusterNotFoundException']));
  });

  it('types Task.createdAt as a timestamp and Task.cpu as a string', () => {
    const task = shapeOf('Task');
    expect(task?.type).toBe('structure');
    if (task?.type !== 'structure') return;
    expect(SHAPES[task.members.createdAt as keyof typeof SHAPES]).toEqual({ type: 'timestamp' });
    expect(SHAPES[task.members.cpu as keyof typeof SHAPES]).toEqual({ type: 'string' });
    expect(inputMembers('ContainerDefinition')).toContain('portMappings');
  });

  it('has the LaunchType enum', () => {
    expect(SHAPES.LaunchType).toEqual({ type: 'string', enum: ['EC2', 'FARGATE', 'EXTERNAL', 'MANAGED_INSTANCES'] });
  });

  it('keeps constraints: lengths, ranges, counts, required, exceptions, documents', () => {
    expect(SHAPES.TagKey).toMatchObject({ type: 'string', min: 1, max: 128 });
    expect(SHAPES.PortNumber).toEqual({ type: 'integer', min: 0, max: 65535 });
    expect(SHAPES.Tags).toEqual({ type: 'list', member: 'Tag', min: 0, max: 50 });
    expect(SHAPES.DockerLabelsMap).toEqual({ type: 'map', key: 'String', value: 'String' });
    expect(requiredMembers('RegisterTaskDefinitionRequest')).toEqual(['family', 'containerDefinitions']);
    expect(SHAPES.ClusterNotFoundException).toMatchObject({ type: 'structure', exception: true });
    expect(SHAPES.ServerException).toMatchObject({ exception: true, fault: true });
    expect(SHAPES.HookDetails).toEqual({ type: 'structure', members: {}, document: true });
  });

  it('is closed: every reference names a shape of the right kind', () => {
    const all = Object.entries(SHAPES) as [string, ShapeDef][];
    for (const [name, s] of all) {
      if (s.type === 'structure') {
        for (const target of Object.values(s.members)) expect(isShape(target), `${name} -> ${target}`).toBe(true);
        for (const r of s.required ?? []) expect(Object.keys(s.members)).toContain(r);
      }
      if (s.type === 'list') expect(isShape(s.member)).toBe(true);
      if (s.type === 'map') expect(shapeOf(s.key)?.type).toBe('string');
    }
    for (const op of operationNames()) {
      const o = OPERATIONS[op];
      expect(shapeOf(o.input!)?.type, op).toBe('structure');
      expect(shapeOf(o.output!)?.type, op).toBe('structure');
      for (const e of o.errors) expect(shapeOf(e)).toMatchObject({ exception: true });
    }
  });

  it('has no documentation strings', () => {
    expect(JSON.stringify(SHAPES)).not.toMatch(/<p>|documentation/);
  });

  it('look-ups do not see Object.prototype', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', '']) {
      expect(isOperation(name)).toBe(false);
      expect(isShape(name)).toBe(false);
      expect(operationOf(name)).toBeUndefined();
      expect(errorShapesOf(name)).toEqual([]);
      expect(inputMembers(name)).toEqual([]);
    }
    expect(isOperation('describeTasks')).toBe(false);
    expect(inputMembers('String')).toEqual([]);
  });

  it('types follow the model', () => {
    expectTypeOf<EcsOperationTypes['DescribeTasks']['input']>().toEqualTypeOf<DescribeTasksRequest>();
    expectTypeOf<EcsOperationTypes['DescribeTasks']['output']>().toEqualTypeOf<DescribeTasksResponse>();
    expectTypeOf<DescribeTasksRequest['tasks']>().toEqualTypeOf<string[]>();
    expectTypeOf<Task['createdAt']>().toEqualTypeOf<Date | number | undefined>();
    expectTypeOf<Task['launchType']>().toEqualTypeOf<LaunchType | undefined>();
    expectTypeOf<LaunchType>().toEqualTypeOf<'EC2' | 'FARGATE' | 'EXTERNAL' | 'MANAGED_INSTANCES'>();
    expectTypeOf<EcsShapeTypes['String']>().toEqualTypeOf<string>();
    expectTypeOf<'RunTask'>().toExtend<EcsOperationName>();
  });
});
