import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import type { FieldError } from './errors.js';
import { parseTaskDefinition } from './task-definition.js';

/** One task that uses every container field the agent applies, plus the task's volumes. */
function full(): Record<string, unknown> {
  return {
    family: 'full',
    networkMode: 'bridge',
    volumes: [
      { name: 'data', host: { sourcePath: '/srv/data' } },
      { name: 'cache', dockerVolumeConfiguration: { scope: 'task', driver: 'local', driverOpts: { type: 'tmpfs', device: 'tmpfs' }, labels: { team: 'home' } } },
      { name: 'nas', dockerVolumeConfiguration: { scope: 'shared', autoprovision: true, driver: 'local', driverOpts: { type: 'nfs', o: 'addr=NAS,rw', device: ':/export' } } },
      { name: 'scratch' },
      { name: 'efs', efsVolumeConfiguration: { fileSystemId: 'fs-1234' } },
    ],
    containerDefinitions: [
      {
        name: 'db',
        image: 'postgres:16',
        memory: 512,
        essential: true,
        healthCheck: { command: ['CMD-SHELL', 'pg_isready -U postgres || exit 1'], interval: 10, timeout: 5, retries: 5, startPeriod: 30 },
        mountPoints: [{ sourceVolume: 'data', containerPath: '/var/lib/postgresql/data', readOnly: false }],
        ulimits: [
          { name: 'nofile', softLimit: 65535, hardLimit: 65535 },
          { name: 'memlock', softLimit: -1, hardLimit: -1 },
        ],
        linuxParameters: {
          capabilities: { add: ['SYS_NICE', 'CAP_NET_ADMIN'], drop: ['ALL'] },
          devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: ['read', 'write', 'mknod'] }],
          initProcessEnabled: true,
          sharedMemorySize: 256,
          tmpfs: [{ containerPath: '/run', size: 64, mountOptions: ['noexec', 'nosuid'] }],
          maxSwap: 0,
          swappiness: 10,
        },
        stopTimeout: 60,
        restartPolicy: { enabled: true, ignoredExitCodes: [0, 143], restartAttemptPeriod: 300 },
        logConfiguration: { logDriver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
      },
      {
        name: 'migrate',
        image: 'migrate:1',
        memory: 64,
        essential: false,
        dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }],
        environmentFiles: [{ value: '/etc/berth/migrate.env', type: 's3' }],
        startTimeout: 120,
      },
      {
        name: 'web',
        image: 'nginx:1.27',
        memory: 128,
        portMappings: [{ containerPort: 80, hostPort: 8080 }],
        dependsOn: [
          { containerName: 'migrate', condition: 'SUCCESS' },
          { containerName: 'db', condition: 'START' },
        ],
        environmentFiles: [
          { value: '/etc/berth/web.env', type: 's3' },
          { value: 'arn:aws:s3:::my-bucket/web.env', type: 's3' },
        ],
        mountPoints: [
          { sourceVolume: 'cache', containerPath: '/var/cache/nginx' },
          { sourceVolume: 'nas', containerPath: '/srv/nas', readOnly: true },
          { sourceVolume: 'scratch', containerPath: '/tmp/scratch' },
          { sourceVolume: 'efs', containerPath: '/mnt/efs' },
        ],
        volumesFrom: [{ sourceContainer: 'db', readOnly: true }],
        workingDirectory: '/usr/share/nginx',
        user: '101:101',
        hostname: 'web',
        readonlyRootFilesystem: true,
        privileged: false,
        dockerLabels: { 'com.example.team': 'home' },
        logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/web' }, secretOptions: [{ name: 'token', valueFrom: 'arn:aws:ssm:::parameter/x' }] },
        dnsServers: ['1.1.1.1'],
        dnsSearchDomains: ['home.arpa'],
        extraHosts: [{ hostname: 'nas', ipAddress: '192.168.1.10' }],
        dockerSecurityOptions: ['no-new-privileges'],
        systemControls: [{ namespace: 'net.core.somaxconn', value: '1024' }],
        interactive: false,
        pseudoTerminal: false,
        disableNetworking: false,
      },
    ],
  };
}

/** full() with container `i` patched (a field set to undefined is left out, as JSON would). */
function doc(i: number, patch: Record<string, unknown>): Record<string, unknown> {
  const d = full();
  const containers = d.containerDefinitions as Record<string, unknown>[];
  containers[i] = { ...containers[i], ...patch };
  return d;
}

/** full() with task-level fields patched. */
function task(patch: Record<string, unknown>): Record<string, unknown> {
  return { ...full(), ...patch };
}

function errorsOf(doc: unknown): FieldError[] {
  try {
    parseTaskDefinition(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).fieldErrors;
  }
  throw new Error('expected a validation error');
}

/** Asserts exactly one error, at `path`, whose rule contains `rule`. */
function expectError(doc: unknown, path: string, rule: string): void {
  const errs = errorsOf(doc);
  expect(errs.map((e) => e.path)).toEqual([path]);
  expect(errs[0]!.rule).toContain(rule);
}

const c0 = 'containerDefinitions[0]';
const c2 = 'containerDefinitions[2]';

describe('container fields the agent applies', () => {
  it('accepts a definition using every applied field, warning only where Berth differs from ECS', () => {
    const { spec, warnings } = parseTaskDefinition(full());
    expect(spec.volumes).toHaveLength(5);
    expect(spec.containerDefinitions[2]!.extraHosts).toEqual([{ hostname: 'nas', ipAddress: '192.168.1.10' }]);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/^volumes\[4\]\.efsVolumeConfiguration: ignored: .*dockerVolumeConfiguration with the local driver and NFS options/);
    expect(warnings[1]).toBe(
      `${c2}.environmentFiles[1].value: S3 environment files are ignored off AWS: put the file on the node and give its absolute path (arn:aws:s3:::my-bucket/web.env)`,
    );
    expect(warnings[2]).toBe(`${c2}.logConfiguration.logDriver: awslogs is not available off AWS / on Berth nodes; the container logs with json-file instead`);
    expect(warnings[3]).toMatch(/^containerDefinitions\[2\]\.logConfiguration\.secretOptions: .*log drivers get no secrets/);
    expect(warnings.join('\n')).not.toContain('not applied by this Berth version');
  });

  it('still says which container fields are kept but not applied', () => {
    const { warnings } = parseTaskDefinition({ family: 'w', containerDefinitions: [{ name: 'a', image: 'x', memory: 64, links: ['b'] }] });
    expect(warnings).toEqual(['containerDefinitions[0].links: accepted and kept, but not applied by this Berth version']);
  });

  it('reports unknown sub-fields (typos) by path', () => {
    const d = full();
    const c = (d.containerDefinitions as Record<string, unknown>[])[0]!;
    c.healthCheck = { command: ['CMD', 'true'], intervall: 5 };
    c.linuxParameters = { capabilities: { adds: ['NET_ADMIN'] } };
    c.restartPolicy = { enabled: true, restartPeriod: 60 };
    (d.volumes as Record<string, unknown>[])[0] = { name: 'data', host: { path: '/srv' } };
    expect(errorsOf(d).map((e) => `${e.path}: ${e.rule}`)).toEqual([
      'volumes[0].host.path: is not a host volume field',
      `${c0}.healthCheck.intervall: is not a health check field`,
      `${c0}.linuxParameters.capabilities.adds: is not a capabilities field`,
      `${c0}.restartPolicy.restartPeriod: is not a restart policy field`,
    ]);
  });

  it('collects every problem at once', () => {
    const d = doc(0, { stopTimeout: 500, privileged: 'yes', ulimits: [{ name: 'files', softLimit: 1, hardLimit: 1 }] });
    expect(errorsOf(d).map((e) => e.path)).toEqual([`${c0}.privileged`, `${c0}.ulimits[0].name`, `${c0}.stopTimeout`]);
  });
});

describe('healthCheck', () => {
  const hc = (h: Record<string, unknown>) => doc(0, { healthCheck: { command: ['CMD', 'true'], ...h } });
  it('needs a command starting with CMD, CMD-SHELL or NONE', () => {
    expectError(hc({ command: undefined }), `${c0}.healthCheck.command`, 'is required');
    expectError(hc({ command: [] }), `${c0}.healthCheck.command`, 'non-empty array');
    expectError(hc({ command: ['curl', '-f', 'http://localhost'] }), `${c0}.healthCheck.command[0]`, 'must be one of CMD, CMD-SHELL, NONE');
    expectError(hc({ command: ['CMD-SHELL'] }), `${c0}.healthCheck.command`, 'the command to run after CMD-SHELL');
    expectError(hc({ command: ['CMD', 5] }), `${c0}.healthCheck.command[1]`, 'must be a string');
    expectError(hc({ command: ['NONE', 'x'] }), `${c0}.healthCheck.command`, 'just ["NONE"]');
    // db is a HEALTHY dependency of migrate: NONE there is a dependency error, so try NONE on web.
    expect(parseTaskDefinition(doc(2, { healthCheck: { command: ['NONE'] } })).spec).toBeDefined();
  });
  it('keeps ECS ranges', () => {
    expectError(hc({ interval: 4 }), `${c0}.healthCheck.interval`, '5-300');
    expectError(hc({ interval: 301 }), `${c0}.healthCheck.interval`, '5-300');
    expectError(hc({ timeout: 1 }), `${c0}.healthCheck.timeout`, '2-60');
    expectError(hc({ timeout: 61 }), `${c0}.healthCheck.timeout`, '2-60');
    expectError(hc({ retries: 0 }), `${c0}.healthCheck.retries`, '1-10');
    expectError(hc({ retries: 11 }), `${c0}.healthCheck.retries`, '1-10');
    expectError(hc({ startPeriod: -1 }), `${c0}.healthCheck.startPeriod`, '0-300');
    expectError(hc({ startPeriod: 301 }), `${c0}.healthCheck.startPeriod`, '0-300');
    expectError(hc({ interval: 7.5 }), `${c0}.healthCheck.interval`, 'integer');
    expectError(doc(0, { healthCheck: 'curl' }), `${c0}.healthCheck`, 'must be an object');
  });
});

describe('environmentFiles', () => {
  const ef = (files: unknown) => doc(2, { environmentFiles: files });
  it('takes absolute node paths and S3 ARNs, type s3', () => {
    expectError(ef([{ value: 'web.env', type: 's3' }]), `${c2}.environmentFiles[0].value`, 'absolute path to a file on the node, or an S3 object ARN');
    expectError(ef([{ value: 'https://example.com/web.env', type: 's3' }]), `${c2}.environmentFiles[0].value`, 'absolute path');
    expectError(ef([{ value: '/etc/web.env', type: 'file' }]), `${c2}.environmentFiles[0].type`, 'must be s3');
    expectError(ef([{ value: '/etc/web.env' }]), `${c2}.environmentFiles[0].type`, 'is required');
    expectError(ef([{ type: 's3' }]), `${c2}.environmentFiles[0].value`, 'is required');
    expectError(ef('/etc/web.env'), `${c2}.environmentFiles`, 'must be an array');
    expectError(ef(Array.from({ length: 11 }, (_, k) => ({ value: `/etc/${k}.env`, type: 's3' }))), `${c2}.environmentFiles`, 'at most 10');
  });
});

describe('volumes', () => {
  const vols = (v: unknown[]) => task({ volumes: v, containerDefinitions: [{ name: 'a', image: 'x', memory: 8 }] });
  it('need a unique, well-formed name', () => {
    expectError(vols([{ host: { sourcePath: '/srv' } }]), 'volumes[0].name', 'is required');
    expectError(vols([{ name: 'my data' }]), 'volumes[0].name', 'letters, digits, hyphens or underscores');
    expectError(vols([{ name: 'd' }, { name: 'd' }]), 'volumes[1].name', 'must be unique');
    expectError(task({ volumes: { data: {} } }), 'volumes', 'must be an array');
  });
  it('are one kind at most, with absolute host paths', () => {
    expectError(vols([{ name: 'd', host: { sourcePath: '/srv' }, dockerVolumeConfiguration: { scope: 'task' } }]), 'volumes[0]', 'at most one of host, dockerVolumeConfiguration');
    expectError(vols([{ name: 'd', host: { sourcePath: 'srv/data' } }]), 'volumes[0].host.sourcePath', 'must be an absolute path');
    expect(parseTaskDefinition(vols([{ name: 'd', host: {} }, { name: 'e', host: { sourcePath: '' } }])).warnings).toEqual([]);
  });
  it('check Docker volume configuration as ECS does', () => {
    const dvc = (d: Record<string, unknown>) => vols([{ name: 'd', dockerVolumeConfiguration: d }]);
    expectError(dvc({ scope: 'global' }), 'volumes[0].dockerVolumeConfiguration.scope', 'must be task or shared');
    expectError(dvc({ scope: 'task', autoprovision: true }), 'volumes[0].dockerVolumeConfiguration.autoprovision', 'only be true when scope is shared');
    expectError(dvc({ autoprovision: true }), 'volumes[0].dockerVolumeConfiguration.autoprovision', 'only be true when scope is shared');
    expectError(dvc({ scope: 'shared', autoprovision: 'yes' }), 'volumes[0].dockerVolumeConfiguration.autoprovision', 'true or false');
    expectError(dvc({ driver: 7 }), 'volumes[0].dockerVolumeConfiguration.driver', 'must be a string');
    expectError(dvc({ driverOpts: { size: 10 } }), 'volumes[0].dockerVolumeConfiguration.driverOpts.size', 'must be a string');
    expectError(dvc({ labels: ['a=b'] }), 'volumes[0].dockerVolumeConfiguration.labels', 'object of string values');
  });
  it('warn about AWS-only kinds and volumes configured at launch', () => {
    const { warnings } = parseTaskDefinition(
      vols([
        { name: 'f', fsxWindowsFileServerVolumeConfiguration: { fileSystemId: 'fs-1', rootDirectory: '\\\\share', authorizationConfig: {} } },
        { name: 'e', configuredAtLaunch: true },
      ]),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^volumes\[0\]\.fsxWindowsFileServerVolumeConfiguration: ignored: .*"type": "nfs"/);
    expect(warnings[1]).toMatch(/^volumes\[1\]\.configuredAtLaunch: ignored/);
  });
});

describe('mountPoints and volumesFrom', () => {
  it('mount task volumes on absolute paths', () => {
    expectError(doc(0, { mountPoints: [{ sourceVolume: 'dta', containerPath: '/d' }] }), `${c0}.mountPoints[0].sourceVolume`, 'volumes: data, cache, nas, scratch, efs');
    expectError(task({ volumes: undefined, containerDefinitions: [{ name: 'a', image: 'x', memory: 8, mountPoints: [{ sourceVolume: 'd', containerPath: '/d' }] }] }), 'containerDefinitions[0].mountPoints[0].sourceVolume', 'the task defines no volumes');
    expectError(doc(0, { mountPoints: [{ containerPath: '/d' }] }), `${c0}.mountPoints[0].sourceVolume`, 'is required');
    expectError(doc(0, { mountPoints: [{ sourceVolume: 'data' }] }), `${c0}.mountPoints[0].containerPath`, 'is required');
    expectError(doc(0, { mountPoints: [{ sourceVolume: 'data', containerPath: 'var/lib' }] }), `${c0}.mountPoints[0].containerPath`, 'must be an absolute path');
    expectError(doc(0, { mountPoints: [{ sourceVolume: 'data', containerPath: '/d', readOnly: 'no' }] }), `${c0}.mountPoints[0].readOnly`, 'true or false');
    expectError(
      doc(0, { mountPoints: [{ sourceVolume: 'data', containerPath: '/d' }, { sourceVolume: 'cache', containerPath: '/d' }] }),
      `${c0}.mountPoints[1].containerPath`,
      'already a mount point',
    );
  });
  it('take volumes from another container of the task', () => {
    expectError(doc(2, { volumesFrom: [{ sourceContainer: 'dbb' }] }), `${c2}.volumesFrom[0].sourceContainer`, 'must name a container of the task (db, migrate, web)');
    expectError(doc(2, { volumesFrom: [{ sourceContainer: 'web' }] }), `${c2}.volumesFrom[0].sourceContainer`, 'not the container itself');
    expectError(doc(2, { volumesFrom: [{}] }), `${c2}.volumesFrom[0].sourceContainer`, 'is required');
    expectError(doc(2, { volumesFrom: [{ sourceContainer: 'db', readOnly: 1 }] }), `${c2}.volumesFrom[0].readOnly`, 'true or false');
  });
});

describe('dependsOn', () => {
  it('names another container with an ECS condition', () => {
    expectError(doc(2, { dependsOn: [{ containerName: 'cache', condition: 'START' }] }), `${c2}.dependsOn[0].containerName`, 'must name a container of the task');
    expectError(doc(2, { dependsOn: [{ containerName: 'web', condition: 'START' }] }), `${c2}.dependsOn[0].containerName`, 'not the container itself');
    expectError(doc(2, { dependsOn: [{ containerName: 'db', condition: 'RUNNING' }] }), `${c2}.dependsOn[0].condition`, 'must be one of START, COMPLETE, SUCCESS, HEALTHY');
    expectError(doc(2, { dependsOn: [{ containerName: 'db' }] }), `${c2}.dependsOn[0].condition`, 'is required');
  });
  it('cannot wait for an essential container to exit', () => {
    expectError(doc(2, { dependsOn: [{ containerName: 'db', condition: 'COMPLETE' }] }), `${c2}.dependsOn[0].condition`, 'needs db to be non-essential');
    expectError(doc(2, { dependsOn: [{ containerName: 'db', condition: 'SUCCESS' }] }), `${c2}.dependsOn[0].condition`, 'needs db to be non-essential');
  });
  it('HEALTHY needs a health check on the target', () => {
    expectError(doc(2, { dependsOn: [{ containerName: 'migrate', condition: 'HEALTHY' }] }), `${c2}.dependsOn[0].condition`, 'HEALTHY needs migrate to have a healthCheck');
    expectError(doc(0, { healthCheck: { command: ['NONE'] } }), 'containerDefinitions[1].dependsOn[0].condition', 'HEALTHY needs db to have a healthCheck');
  });
  it('detects cycles and names them', () => {
    // web waits for db directly and through migrate: two cycles, each reported once.
    expect(errorsOf(doc(0, { dependsOn: [{ containerName: 'web', condition: 'START' }] }))).toEqual([
      { path: 'containerDefinitions[0].dependsOn', rule: 'must not form a cycle: db -> web -> migrate -> db' },
      { path: 'containerDefinitions[0].dependsOn', rule: 'must not form a cycle: db -> web -> db' },
    ]);
    const errs = errorsOf(
      task({
        volumes: undefined,
        containerDefinitions: [
          { name: 'a', image: 'x', memory: 8, dependsOn: [{ containerName: 'b', condition: 'START' }] },
          { name: 'b', image: 'x', memory: 8, dependsOn: [{ containerName: 'c', condition: 'START' }] },
          { name: 'c', image: 'x', memory: 8, dependsOn: [{ containerName: 'a', condition: 'START' }] },
        ],
      }),
    );
    expect(errs).toEqual([{ path: 'containerDefinitions[0].dependsOn', rule: 'must not form a cycle: a -> b -> c -> a' }]);
  });
});

describe('timeouts', () => {
  it('keeps stopTimeout 0-120 and startTimeout at least 2, in whole seconds', () => {
    expectError(doc(0, { stopTimeout: 121 }), `${c0}.stopTimeout`, '0-120');
    expectError(doc(0, { stopTimeout: -1 }), `${c0}.stopTimeout`, '0-120');
    expectError(doc(0, { stopTimeout: '30' }), `${c0}.stopTimeout`, 'integer');
    expectError(doc(0, { startTimeout: 1 }), `${c0}.startTimeout`, 'at least 2');
    expectError(doc(0, { startTimeout: 2.5 }), `${c0}.startTimeout`, 'integer');
    expect(parseTaskDefinition(doc(0, { stopTimeout: 0, startTimeout: 2 })).spec).toBeDefined();
  });
});

describe('linuxParameters', () => {
  const lp = (l: Record<string, unknown>) => doc(0, { linuxParameters: l });
  const at = `${c0}.linuxParameters`;
  it('checks capabilities', () => {
    expectError(lp({ capabilities: { add: ['net_admin'] } }), `${at}.capabilities.add[0]`, 'capability name in capitals');
    expectError(lp({ capabilities: { drop: ['SYS-ADMIN'] } }), `${at}.capabilities.drop[0]`, 'capability name');
    expectError(lp({ capabilities: { add: 'NET_ADMIN' } }), `${at}.capabilities.add`, 'must be an array');
  });
  it('checks devices', () => {
    expectError(lp({ devices: [{ containerPath: '/dev/x' }] }), `${at}.devices[0].hostPath`, 'is required');
    expectError(lp({ devices: [{ hostPath: 'dev/fuse' }] }), `${at}.devices[0].hostPath`, 'absolute path');
    expectError(lp({ devices: [{ hostPath: '/dev/fuse', containerPath: 'fuse' }] }), `${at}.devices[0].containerPath`, 'absolute path');
    expectError(lp({ devices: [{ hostPath: '/dev/fuse', permissions: ['read', 'exec'] }] }), `${at}.devices[0].permissions[1]`, 'must be one of read, write, mknod');
  });
  it('checks init, shared memory, tmpfs and swap', () => {
    expectError(lp({ initProcessEnabled: 'true' }), `${at}.initProcessEnabled`, 'true or false');
    expectError(lp({ sharedMemorySize: 0 }), `${at}.sharedMemorySize`, 'positive integer');
    expectError(lp({ tmpfs: [{ containerPath: 'run', size: 64 }] }), `${at}.tmpfs[0].containerPath`, 'absolute path');
    expectError(lp({ tmpfs: [{ containerPath: '/run' }] }), `${at}.tmpfs[0].size`, 'is required');
    expectError(lp({ tmpfs: [{ containerPath: '/run', size: 0 }] }), `${at}.tmpfs[0].size`, 'positive integer');
    expectError(lp({ tmpfs: [{ containerPath: '/run', size: 8, mountOptions: [1] }] }), `${at}.tmpfs[0].mountOptions[0]`, 'must be a string');
    expectError(lp({ maxSwap: -1 }), `${at}.maxSwap`, '0 or more');
    expectError(lp({ swappiness: 101 }), `${at}.swappiness`, '0-100');
  });
});

describe('ulimits', () => {
  const ul = (u: Record<string, unknown>) => doc(0, { ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 4096, ...u }] });
  it('uses ECS names and soft <= hard', () => {
    expectError(ul({ name: 'files' }), `${c0}.ulimits[0].name`, 'must be one of core, cpu, data');
    expectError(ul({ softLimit: 8192 }), `${c0}.ulimits[0].softLimit`, 'must not exceed hardLimit (4096)');
    expectError(ul({ softLimit: -1 }), `${c0}.ulimits[0].softLimit`, 'must not exceed hardLimit');
    expectError(ul({ hardLimit: undefined }), `${c0}.ulimits[0].hardLimit`, 'is required');
    expectError(ul({ softLimit: 1.5 }), `${c0}.ulimits[0].softLimit`, 'integer');
    expectError(ul({ hardLimit: -2 }), `${c0}.ulimits[0].hardLimit`, '-1: unlimited');
    expect(parseTaskDefinition(ul({ softLimit: 1024, hardLimit: -1 })).spec).toBeDefined();
  });
});

describe('logConfiguration', () => {
  const lc = (l: Record<string, unknown>) => doc(0, { logConfiguration: l });
  it('applies local drivers, warns about AWS ones, rejects others', () => {
    for (const driver of ['json-file', 'local', 'syslog', 'journald', 'gelf', 'fluentd', 'none']) {
      expect(parseTaskDefinition(lc({ logDriver: driver })).warnings.filter((w) => w.startsWith(c0))).toEqual([]);
    }
    for (const driver of ['awslogs', 'awsfirelens', 'splunk', 'logentries', 'sumologic']) {
      expect(parseTaskDefinition(lc({ logDriver: driver })).warnings).toContain(`${c0}.logConfiguration.logDriver: ${driver} is not available off AWS / on Berth nodes; the container logs with json-file instead`);
    }
    expectError(lc({ logDriver: 'loki' }), `${c0}.logConfiguration.logDriver`, 'must be one of json-file, local, syslog, journald, gelf, fluentd, none, awslogs');
    expectError(lc({ options: {} }), `${c0}.logConfiguration.logDriver`, 'is required');
    expectError(lc({ logDriver: 'json-file', options: { 'max-file': 3 } }), `${c0}.logConfiguration.options.max-file`, 'must be a string');
  });
});

describe('restartPolicy', () => {
  const rp = (r: Record<string, unknown>) => doc(0, { restartPolicy: r });
  it('follows ECS', () => {
    expectError(rp({ ignoredExitCodes: [1] }), `${c0}.restartPolicy.enabled`, 'is required');
    expectError(rp({ enabled: 'true' }), `${c0}.restartPolicy.enabled`, 'true or false');
    expectError(rp({ enabled: true, ignoredExitCodes: ['1'] }), `${c0}.restartPolicy.ignoredExitCodes[0]`, 'must be an integer');
    expectError(rp({ enabled: true, ignoredExitCodes: Array.from({ length: 51 }, (_, k) => k) }), `${c0}.restartPolicy.ignoredExitCodes`, 'at most 50');
    expectError(rp({ enabled: true, restartAttemptPeriod: 59 }), `${c0}.restartPolicy.restartAttemptPeriod`, '60-1800');
    expectError(rp({ enabled: true, restartAttemptPeriod: 1801 }), `${c0}.restartPolicy.restartAttemptPeriod`, '60-1800');
  });
});

describe('plain container settings', () => {
  it('checks strings, booleans, lists and maps', () => {
    expectError(doc(2, { workingDirectory: 'app' }), `${c2}.workingDirectory`, 'absolute path');
    expectError(doc(2, { user: 1000 }), `${c2}.user`, 'must be a string');
    expectError(doc(2, { hostname: ['web'] }), `${c2}.hostname`, 'must be a string');
    for (const field of ['readonlyRootFilesystem', 'privileged', 'interactive', 'pseudoTerminal', 'disableNetworking']) {
      expectError(doc(2, { [field]: 'false' }), `${c2}.${field}`, 'true or false');
    }
    for (const field of ['dnsServers', 'dnsSearchDomains', 'dockerSecurityOptions']) {
      expectError(doc(2, { [field]: 'x' }), `${c2}.${field}`, 'array of strings');
      expectError(doc(2, { [field]: [1] }), `${c2}.${field}[0]`, 'must be a string');
    }
    expectError(doc(2, { dockerLabels: { version: 2 } }), `${c2}.dockerLabels.version`, 'must be a string');
    expectError(doc(2, { dockerLabels: ['a=b'] }), `${c2}.dockerLabels`, 'object of string values');
    expectError(doc(2, { extraHosts: [{ hostname: 'nas' }] }), `${c2}.extraHosts[0].ipAddress`, 'is required');
    expectError(doc(2, { extraHosts: [{ hostname: 'nas', ipAddress: 10 }] }), `${c2}.extraHosts[0].ipAddress`, 'non-empty string');
    expectError(doc(2, { systemControls: [{ value: '1' }] }), `${c2}.systemControls[0].namespace`, 'is required');
    expectError(doc(2, { systemControls: [{ namespace: 'net.ipv4.ip_forward', value: 1 }] }), `${c2}.systemControls[0].value`, 'must be a string');
  });

  it('follows ECS on hostname and extraHosts in awsvpc mode, and says hostname is not applied in host mode', () => {
    const awsvpc: Record<string, unknown> = { ...doc(2, {}), networkMode: 'awsvpc' };
    (awsvpc.containerDefinitions as Record<string, unknown>[])[2]!.portMappings = [{ containerPort: 80 }];
    expect(errorsOf(awsvpc).map((e) => `${e.path}: ${e.rule}`)).toEqual([
      `${c2}.hostname: is not supported in awsvpc network mode`,
      `${c2}.extraHosts: is not supported in awsvpc network mode`,
    ]);
    const host = { ...awsvpc, networkMode: 'host' };
    expect(parseTaskDefinition(host).warnings).toContain(`${c2}.hostname: not applied in host network mode: the container has the node's hostname`);
  });
});
