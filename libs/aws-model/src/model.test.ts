import { describe, expect, expectTypeOf, it } from 'vitest';
import { ELBV2_MODEL } from './gen/elbv2-model.js';
import type { Elbv2OperationTypes, LoadBalancer } from './gen/elbv2-types.js';
import { SERVICEDISCOVERY_MODEL } from './gen/servicediscovery-model.js';
import { errorShapesOf, idempotencyTokenMembers, inputMembers, isOperation, isShape, modelShape, operationNames, operationOf, requiredMembers, shapeOf } from './model.js';

describe('the generated models', () => {
  it('ELBv2: query protocol, result wrappers, error traits, patterns', () => {
    expect(ELBV2_MODEL.metadata).toMatchObject({ protocol: 'query', apiVersion: '2015-12-01', xmlNamespace: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/' });
    expect(operationOf(ELBV2_MODEL, 'CreateLoadBalancer')).toMatchObject({ input: 'CreateLoadBalancerInput', output: 'CreateLoadBalancerOutput', resultWrapper: 'CreateLoadBalancerResult' });
    expect(errorShapesOf(ELBV2_MODEL, 'CreateLoadBalancer')).toContain('DuplicateLoadBalancerNameException');
    expect(shapeOf(ELBV2_MODEL, 'DuplicateLoadBalancerNameException')).toEqual({ type: 'structure', members: {}, exception: true, error: { code: 'DuplicateLoadBalancerName', httpStatusCode: 400, senderFault: true } });
    expect(shapeOf(ELBV2_MODEL, 'FixedResponseActionStatusCode')).toEqual({ type: 'string', pattern: '^(2|4|5)\\d\\d$' });
    expect(shapeOf(ELBV2_MODEL, 'Port')).toEqual({ type: 'integer', min: 1, max: 65535 });
    expect(requiredMembers(ELBV2_MODEL, 'CreateTargetGroupInput')).toEqual(['Name']);
    expect(operationNames(ELBV2_MODEL)).toHaveLength(Object.keys(ELBV2_MODEL.operations).length);
    expect(operationNames(ELBV2_MODEL)).toContain('DescribeTargetGroups');
    expectTypeOf<Elbv2OperationTypes['DescribeLoadBalancers']['output']['LoadBalancers']>().toEqualTypeOf<LoadBalancer[] | undefined>();
  });

  it('Cloud Map: JSON 1.1, target prefix, idempotency tokens, endpoint host prefix', () => {
    expect(SERVICEDISCOVERY_MODEL.metadata).toMatchObject({ protocol: 'json', jsonVersion: '1.1', targetPrefix: 'Route53AutoNaming_v20170314', apiVersion: '2017-03-14' });
    expect(idempotencyTokenMembers(SERVICEDISCOVERY_MODEL, 'CreateServiceRequest')).toEqual(['CreatorRequestId']);
    expect(idempotencyTokenMembers(SERVICEDISCOVERY_MODEL, 'RegisterInstanceRequest')).toEqual(['CreatorRequestId']);
    expect(operationOf(SERVICEDISCOVERY_MODEL, 'DiscoverInstances')?.hostPrefix).toBe('data-');
    expect(inputMembers(SERVICEDISCOVERY_MODEL, 'RegisterInstanceRequest')).toEqual(['ServiceId', 'InstanceId', 'CreatorRequestId', 'Attributes']);
  });

  it('look-ups use own properties only', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(isOperation(ELBV2_MODEL, name)).toBe(false);
      expect(isShape(SERVICEDISCOVERY_MODEL, name)).toBe(false);
      expect(operationOf(ELBV2_MODEL, name)).toBeUndefined();
    }
    expect(() => modelShape(ELBV2_MODEL, 'Nope')).toThrow(/Elastic Load Balancing v2 model has no shape Nope/);
  });

  it('every shape reference resolves, every pattern compiles', () => {
    for (const model of [ELBV2_MODEL, SERVICEDISCOVERY_MODEL]) {
      const shapes: Record<string, unknown> = model.shapes;
      for (const [name, s] of Object.entries(model.shapes)) {
        const refs = s.type === 'structure' ? Object.values(s.members) : s.type === 'list' ? [s.member] : s.type === 'map' ? [s.key, s.value] : [];
        for (const r of refs) expect(shapes[r], `${name} -> ${r}`).toBeDefined();
        if (s.type === 'string' && s.pattern) expect(() => new RegExp(s.pattern!, 'u')).not.toThrow();
      }
      for (const o of Object.values(model.operations)) for (const r of [o.input, o.output, ...o.errors]) if (r) expect(shapes[r]).toBeDefined();
    }
  });
});
