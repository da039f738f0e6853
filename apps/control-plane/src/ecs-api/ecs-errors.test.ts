import { conflict, invalid, notFound } from '@berth/domain';
import { InvalidTokenError } from '@berth/store';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EcsError, toEcsError } from './ecs-errors.js';

const log = pino({ level: 'silent' });

describe('toEcsError', () => {
  it('answers ECS exception names, 400 for the caller and 5xx only for the server', () => {
    const cases: [unknown, string, number][] = [
      [notFound('cluster x not found').as('cluster-not-found'), 'ClusterNotFoundException', 400],
      [notFound('service x not found').as('service-not-found'), 'ServiceNotFoundException', 400],
      [invalid('service: x is DRAINING').as('service-not-active'), 'ServiceNotActiveException', 400],
      [conflict('cluster x has 1 service(s)').as('cluster-contains-services'), 'ClusterContainsServicesException', 400],
      [conflict('cluster x has 2 task(s)').as('cluster-contains-tasks'), 'ClusterContainsTasksException', 400],
      [conflict('cluster x has 1 node(s)').as('cluster-contains-nodes'), 'ClusterContainsContainerInstancesException', 400],
      [notFound('task definition web:9 not found').as('task-definition-not-found'), 'ClientException', 400],
      [invalid('count: must be 1-10'), 'InvalidParameterException', 400],
      [conflict('already exists'), 'ClientException', 400],
      [new InvalidTokenError(), 'InvalidParameterException', 400],
      [Object.assign(new Error('invalid byte sequence'), { code: '22021' }), 'InvalidParameterException', 400],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'ServerException', 503],
      [new Error('boom'), 'ServerException', 500],
    ];
    for (const [err, type, status] of cases) {
      const e = toEcsError(err, 'Op', log);
      expect([e.type, e.status], String((err as Error).message)).toEqual([type, status]);
    }
  });

  it('never puts an unexpected error\'s details in the reply', () => {
    expect(toEcsError(new Error('password=hunter2'), 'RunTask', log).message).toBe('internal error in RunTask (see the control-plane log)');
  });

  it('passes an EcsError through', () => {
    const e = new EcsError('UnsupportedFeatureException', 'CreateCapacityProvider is not supported');
    expect(toEcsError(e, 'x', log)).toBe(e);
  });
});
