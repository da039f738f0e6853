import { describe, expect, it } from 'vitest';
import type { DesiredTask } from '@berth/proto';
import { toCreateSpec } from './create-spec.js';

const task: DesiredTask = { taskId: 'f'.repeat(32), taskArn: 'arn:aws:ecs:local:0:task/default/ff', cluster: 'default', family: 'web', revision: 3, desiredStatus: 'RUNNING', taskDefinitionJson: '{}' };

describe('toCreateSpec', () => {
  it('maps an ECS container definition onto Docker create options', () => {
    const spec = {
      family: 'web',
      containerDefinitions: [],
    };
    const out = toCreateSpec(task, spec, {
      name: 'web',
      image: 'nginx:1.27',
      command: ['nginx', '-g', 'daemon off;'],
      entryPoint: ['/docker-entrypoint.sh'],
      environment: [{ name: 'A', value: '1' }],
      cpu: 1,
      memory: 128,
      memoryReservation: 64,
      stopTimeout: 5,
      portMappings: [{ containerPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }],
    }, { bindIp: '127.0.0.1' });
    expect(out).toEqual({
      name: `berth-${'f'.repeat(32)}-web`,
      image: 'nginx:1.27',
      cmd: ['nginx', '-g', 'daemon off;'],
      entrypoint: ['/docker-entrypoint.sh'],
      env: ['A=1'],
      labels: {
        'berth.managed': 'true',
        'berth.task-id': 'f'.repeat(32),
        'berth.task-arn': 'arn:aws:ecs:local:0:task/default/ff',
        'berth.cluster': 'default',
        'berth.container-name': 'web',
        'berth.family': 'web',
        'berth.revision': '3',
      },
      exposedPorts: { '80/tcp': {}, '53/udp': {} },
      hostConfig: {
        NetworkMode: 'bridge',
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] },
        Memory: 128 * 1024 * 1024,
        MemoryReservation: 64 * 1024 * 1024,
        CpuShares: 2,
      },
      stopTimeoutSec: 5,
    });
  });

  it('publishes nothing in host and none modes, and defaults the stop timeout to 30 s', () => {
    const host = toCreateSpec(task, { family: 'w', networkMode: 'host', containerDefinitions: [] }, { name: 'a', image: 'x', portMappings: [{ containerPort: 80 }] }, { bindIp: '0.0.0.0' });
    expect(host.hostConfig).toEqual({ NetworkMode: 'host' });
    expect(host.exposedPorts).toEqual({ '80/tcp': {} });
    expect(host.stopTimeoutSec).toBe(30);
    const none = toCreateSpec(task, { family: 'w', networkMode: 'none', containerDefinitions: [] }, { name: 'a', image: 'x', portMappings: [{ containerPort: 80 }] }, { bindIp: '0.0.0.0' });
    expect(none.exposedPorts).toEqual({});
    expect(none.cmd).toBeUndefined();
  });
});
