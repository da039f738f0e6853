// validateInput and toWire on other models than ECS (the ECS cases are in @berth/ecs-model's tests).
import { describe, expect, it } from 'vitest';
import { SERVICEDISCOVERY_MODEL } from './gen/servicediscovery-model.js';
import type { CreateServiceRequest } from './gen/servicediscovery-types.js';
import { validateInput } from './validate.js';
import { toWire } from './wire.js';

describe('validateInput on Cloud Map (JSON 1.1)', () => {
  it('types the value, drops unknown members into ignored', () => {
    const r = validateInput<CreateServiceRequest>(SERVICEDISCOVERY_MODEL, 'CreateService', { Name: 'web', NamespaceId: 'ns-1', DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 60 }] }, Extra: 1 });
    expect(r).toEqual({ ok: true, value: { Name: 'web', NamespaceId: 'ns-1', DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 60 }] } }, ignored: ['Extra'] });
  });

  it('enforces the model patterns, with the field path', () => {
    const r = validateInput(SERVICEDISCOVERY_MODEL, 'RegisterInstance', { ServiceId: 'srv-1', InstanceId: 'bad id!', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1', 'k\u0001': 'v' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      { path: 'InstanceId', rule: 'must match the pattern ^[0-9a-zA-Z_/:.@-]+$', value: 'bad id!' },
      { path: 'Attributes["k\\u0001"]', rule: 'must match the pattern ^[a-zA-Z0-9!-~]+$', value: 'k\u0001' },
    ]);
  });

  it('names the service in the unknown-operation error', () => {
    expect(validateInput(SERVICEDISCOVERY_MODEL, 'RunTask', {})).toEqual({ ok: false, errors: [{ path: '', rule: 'is not a ServiceDiscovery operation', value: 'RunTask' }], ignored: [] });
  });
});

describe('toWire on Cloud Map', () => {
  it('encodes timestamps as epoch seconds and drops what the model lacks', () => {
    const dropped: string[] = [];
    expect(toWire(SERVICEDISCOVERY_MODEL, 'GetOperationResponse', { Operation: { Id: 'op-1', Status: 'SUCCESS', CreateDate: new Date(1714557600123), Targets: { NAMESPACE: 'ns-1' }, nope: 1 } }, { onDropped: (p) => dropped.push(p) })).toEqual({
      Operation: { Id: 'op-1', Status: 'SUCCESS', CreateDate: 1714557600.123, Targets: { NAMESPACE: 'ns-1' } },
    });
    expect(dropped).toEqual(['Operation.nope']);
    expect(() => toWire(SERVICEDISCOVERY_MODEL, 'Nope', {})).toThrow(/ServiceDiscovery model has no shape "Nope"/);
  });
});
