import { describe, expect, it } from 'vitest';
import type { DesiredTask } from '@berth/proto';
import { parseEnvFile, planTask, toCreateSpec } from './create-spec.js';
import type { TaskDefinitionSpec } from '@berth/domain';

const task: DesiredTask = { taskId: 'f'.repeat(32), taskArn: 'arn:aws:ecs:local:0:task/default/ff', cluster: 'default', family: 'web', revision: 3, desiredStatus: 'RUNNING', taskDefinitionJson: '{}', secrets: [], secretsError: '' };

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
    }, { bindIp: '127.0.0.1', pauseImage: 'berth/pause:1' });
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
        MemorySwap: 128 * 1024 * 1024,
        CpuShares: 2,
      },
      stopTimeoutSec: 5,
    });
  });

  it('publishes nothing in host and none modes, and defaults the stop timeout to 30 s', () => {
    const host = toCreateSpec(task, { family: 'w', networkMode: 'host', containerDefinitions: [] }, { name: 'a', image: 'x', portMappings: [{ containerPort: 80 }] }, { bindIp: '0.0.0.0', pauseImage: 'p:1' });
    expect(host.hostConfig).toEqual({ NetworkMode: 'host' });
    expect(host.exposedPorts).toEqual({ '80/tcp': {} });
    expect(host.stopTimeoutSec).toBe(30);
    const none = toCreateSpec(task, { family: 'w', networkMode: 'none', containerDefinitions: [] }, { name: 'a', image: 'x', portMappings: [{ containerPort: 80 }] }, { bindIp: '0.0.0.0', pauseImage: 'p:1' });
    expect(none.exposedPorts).toEqual({});
    expect(none.cmd).toBeUndefined();
  });

  it('maps the rest of the container definition', () => {
    const spec: TaskDefinitionSpec = {
      family: 'w',
      volumes: [{ name: 'data', host: { sourcePath: '/srv/data' } }, { name: 'cache' }],
      containerDefinitions: [],
    };
    const warnings: string[] = [];
    const volumes = new Map([
      ['data', { mount: 'bind' as const, source: '/srv/data' }],
      ['cache', { mount: 'volume' as const, source: 'berth-x-cache' }],
    ]);
    const out = toCreateSpec(task, spec, {
      name: 'app',
      image: 'x',
      memory: 64,
      workingDirectory: '/app',
      user: '1000:1000',
      readonlyRootFilesystem: true,
      privileged: false,
      dockerLabels: { team: 'home', 'berth.task-id': 'spoofed' },
      healthCheck: { command: ['CMD-SHELL', 'true'], interval: 5, retries: 2 },
      mountPoints: [{ sourceVolume: 'data', containerPath: '/data', readOnly: true }, { sourceVolume: 'cache', containerPath: '/cache' }, { sourceVolume: 'nope', containerPath: '/x' }],
      linuxParameters: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, devices: [{ hostPath: '/dev/fuse', permissions: ['read', 'write'] }], initProcessEnabled: true, maxSwap: 32, sharedMemorySize: 64, tmpfs: [{ containerPath: '/run', size: 16 }] },
      ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 4096 }],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'g' } },
      extraHosts: [{ hostname: 'nas', ipAddress: '192.168.1.5' }],
    }, { bindIp: '127.0.0.1', pauseImage: 'p:1' }, { volumes, envFileLines: ['FROM_FILE=1'], warnings });
    expect(out.labels['berth.task-id']).toBe(task.taskId); // Berth's labels cannot be overridden
    expect(out.labels.team).toBe('home');
    expect(out).toMatchObject({ workingDir: '/app', user: '1000:1000', env: ['FROM_FILE=1'] });
    expect(out.healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 5e9, Retries: 2, StartPeriod: 0 });
    expect(out.hostConfig).toMatchObject({
      ReadonlyRootfs: true,
      MemorySwap: 96 * 1024 * 1024,
      CapAdd: ['NET_ADMIN'],
      CapDrop: ['ALL'],
      Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rw' }],
      Init: true,
      ShmSize: 64 * 1024 * 1024,
      Tmpfs: { '/run': 'size=16m' },
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }],
      Binds: ['/srv/data:/data:ro'],
      Mounts: [{ Type: 'volume', Source: 'berth-x-cache', Target: '/cache', ReadOnly: false }],
      ExtraHosts: ['nas:192.168.1.5'],
    });
    expect(out.hostConfig.Privileged).toBeUndefined();
    expect(out.hostConfig.LogConfig).toBeUndefined();
    expect(warnings).toEqual([
      'containerDefinitions[app].mountPoints: volume "nope" is not a volume of the task; not mounted',
      'containerDefinitions[app].logConfiguration.logDriver: awslogs is not available on Berth nodes; the container logs with json-file',
    ]);
  });

  it('plans an awsvpc task around a namespace holder, and task-scoped volumes per task', () => {
    const spec: TaskDefinitionSpec = {
      family: 'w',
      networkMode: 'awsvpc',
      volumes: [{ name: 'scratch' }, { name: 'nfs', dockerVolumeConfiguration: { scope: 'shared', autoprovision: true, driver: 'local', driverOpts: { type: 'nfs', o: 'addr=nas,rw', device: ':/export' } } }],
      containerDefinitions: [
        { name: 'web', image: 'x', portMappings: [{ containerPort: 8080 }], mountPoints: [{ sourceVolume: 'scratch', containerPath: '/s' }, { sourceVolume: 'nfs', containerPath: '/n' }] },
        { name: 'side', image: 'y', environmentFiles: [{ value: 'arn:aws:s3:::b/k.env', type: 's3' }] },
      ],
    };
    const plan = planTask(task, spec, { bindIp: '127.0.0.1', pauseImage: 'berth/pause:1' }, new Map([['web', ['A=1']]]));
    expect(plan.pause).toMatchObject({
      name: `berth-${task.taskId}.pause`,
      image: 'berth/pause:1',
      labels: { 'berth.container-name': '.pause', 'berth.role': 'pause', 'berth.task-id': task.taskId },
      hostConfig: { NetworkMode: 'bridge', PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } },
    });
    const web = plan.containers.get('web')!;
    expect(web.hostConfig.NetworkMode).toBe(`container:berth-${task.taskId}.pause`);
    expect(web.hostConfig.PortBindings).toBeUndefined();
    expect(web.env).toEqual(['A=1']);
    expect(web.hostConfig.Mounts).toEqual([
      { Type: 'volume', Source: `berth-${task.taskId}-scratch`, Target: '/s', ReadOnly: false },
      { Type: 'volume', Source: 'nfs', Target: '/n', ReadOnly: false },
    ]);
    expect(plan.volumes).toEqual([
      { name: `berth-${task.taskId}-scratch`, driver: 'local', driverOpts: {}, labels: { 'berth.managed': 'true', 'berth.task-id': task.taskId }, shared: false, autoprovision: true },
      { name: 'nfs', driver: 'local', driverOpts: { type: 'nfs', o: 'addr=nas,rw', device: ':/export' }, labels: { 'berth.managed': 'true' }, shared: true, autoprovision: true },
    ]);
    expect(plan.warnings).toEqual(['containerDefinitions[side].environmentFiles: arn:aws:s3:::b/k.env: S3 files are not read off AWS; put the file on the node and give its absolute path']);
  });

  it('says which fields of the definition no node applies', () => {
    const plan = planTask(task, { family: 'w', containerDefinitions: [{ name: 'app', image: 'x', memory: 8, links: ['db'], firelensConfiguration: { type: 'fluentbit' } }] }, { bindIp: '0.0.0.0', pauseImage: 'p:1' });
    expect(plan.warnings).toEqual(['containerDefinitions[app].links: not applied on Berth nodes', 'containerDefinitions[app].firelensConfiguration: not applied on Berth nodes']);
  });

  it('adds secrets as variables and read-only file binds', () => {
    const secrets = { env: new Map([['app', ['DB_PASSWORD=s3cret']]]), binds: new Map([['app', ['/run/berth/secrets/t/0:/run/secrets/key:ro']]]) };
    const plan = planTask(task, { family: 'w', containerDefinitions: [{ name: 'app', image: 'x', memory: 8, environment: [{ name: 'A', value: '1' }] }] }, { bindIp: '0.0.0.0', pauseImage: 'p:1' }, new Map(), secrets);
    const spec = plan.containers.get('app')!;
    expect(spec.env).toEqual(['A=1', 'DB_PASSWORD=s3cret']);
    expect(spec.hostConfig.Binds).toEqual(['/run/berth/secrets/t/0:/run/secrets/key:ro']);
  });

  it('reads environment files as Docker does', () => {
    expect(parseEnvFile('# comment\nA=1\n\n  B=two words \nnot-a-pair\r\nC=\n')).toEqual(['A=1', 'B=two words', 'C=']);
  });
});
