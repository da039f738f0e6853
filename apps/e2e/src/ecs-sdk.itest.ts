import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessDeniedException,
  ClusterNotFoundException,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECS,
  InvalidParameterException,
  paginateListTasks,
  ServiceNotFoundException,
  UnsupportedFeatureException,
  waitUntilServicesInactive,
  waitUntilServicesStable,
  waitUntilTasksRunning,
  waitUntilTasksStopped,
  type Service,
} from '@aws-sdk/client-ecs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { requireDocker, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker, LocalCluster } from './cluster.js';
import { berth } from './processes.js';

/**
 * The ECS endpoint driven with the AWS SDK for JavaScript v3, unmodified,
 * against a real control plane and agent on the real engine, over TLS with the
 * cluster CA and SigV4 access keys: typed exceptions, paginators, and the
 * SDK's own waiters (tasks-running, tasks-stopped, services-stable,
 * services-inactive) returning when ECS's would.
 */
const run = requireDocker();

/** A sleeper that stops at once (init forwards SIGTERM). */
const sleeper = (family: string, env: string, command = ['sleep', '3600']) => ({
  family,
  containerDefinitions: [
    {
      name: 'app',
      image: TEST_IMAGE,
      memory: 16,
      stopTimeout: 2,
      command,
      environment: [{ name: 'REV', value: env }],
      linuxParameters: { initProcessEnabled: true },
    },
  ],
  tags: [{ key: 'team', value: 'lab' }],
});

/** The SDK's waiters poll every few seconds; these keep a test short without changing what they check. */
const waiter = (client: ECS, maxWaitTime = 180) => ({ client, maxWaitTime, minDelay: 1, maxDelay: 2 });

describe.runIf(run)('the ECS API with @aws-sdk/client-ecs', () => {
  const cluster = new LocalCluster();
  let ecs: ECS;
  let viewer: ECS;

  /** An access key made with the CLI, as a user makes one. */
  async function accessKey(role: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const r = await berth(cluster.server, ['apitoken', 'create', `sdk-${role}`, '--role', role, '--aws']);
    expect(r.code, r.stderr).toBe(0);
    const accessKeyId = /aws_access_key_id = (\S+)/.exec(r.stdout)![1]!;
    const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(r.stdout)![1]!;
    return { accessKeyId, secretAccessKey };
  }

  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new ECS({
      endpoint: `https://127.0.0.1:${cluster.ecsPort}`,
      region: 'local',
      credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(cluster.caFile), keepAlive: true }) }),
    });

  beforeAll(async () => {
    await cluster.start();
    ecs = client(await accessKey('admin'));
    viewer = client(await accessKey('viewer'));
  });
  afterAll(async () => {
    await ecs?.deleteService({ service: 'sdk-web', force: true }).catch(() => undefined);
    ecs?.destroy();
    viewer?.destroy();
    await cluster.stop();
    for (const id of docker(['ps', '-aq', '--filter', 'label=berth.family=sdk-web']).split('\n').filter(Boolean)) docker(['rm', '-f', id]);
  });

  it('answers typed exceptions the SDK maps to its classes', async () => {
    await expect(ecs.listServices({ cluster: 'nope' })).rejects.toBeInstanceOf(ClusterNotFoundException);
    await expect(ecs.updateService({ service: 'missing', desiredCount: 1 })).rejects.toBeInstanceOf(ServiceNotFoundException);
    await expect(ecs.describeTasks({ tasks: [] })).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(ecs.createCapacityProvider({ name: 'cp', autoScalingGroupProvider: { autoScalingGroupArn: 'arn:x' } })).rejects.toBeInstanceOf(UnsupportedFeatureException);
    await expect(viewer.registerTaskDefinition(sleeper('sdk-denied', 'x'))).rejects.toBeInstanceOf(AccessDeniedException);
    const err = await ecs.listServices({ cluster: 'nope' }).catch((e: ClusterNotFoundException) => e);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('runs a task: tasks-running, then StopTask and tasks-stopped, with containers, runtime ids and exit codes', async () => {
    const reg = await ecs.registerTaskDefinition(sleeper('sdk-task', 'one'));
    expect(reg.taskDefinition!.revision).toBe(1);
    expect(reg.taskDefinition!.registeredAt).toBeInstanceOf(Date);
    expect(reg.tags).toEqual([{ key: 'team', value: 'lab' }]);
    const ran = await ecs.runTask({ taskDefinition: 'sdk-task', startedBy: 'sdk-test', tags: [{ key: 'run', value: '1' }], propagateTags: 'TASK_DEFINITION' });
    expect(ran.failures).toEqual([]);
    const arn = ran.tasks![0]!.taskArn!;
    expect(arn).toMatch(/^arn:aws:ecs:local:000000000000:task\/default\/[0-9a-f]{32}$/);
    await waitUntilTasksRunning({ ...waiter(ecs) }, { tasks: [arn] });
    const running = (await ecs.describeTasks({ tasks: [arn], include: ['TAGS'] })).tasks![0]!;
    expect(running.lastStatus).toBe('RUNNING');
    expect(running.startedAt).toBeInstanceOf(Date);
    expect(running.tags).toEqual(expect.arrayContaining([{ key: 'run', value: '1' }, { key: 'team', value: 'lab' }]));
    const container = running.containers![0]!;
    expect(container.runtimeId).toMatch(/^[0-9a-f]{64}$/);
    expect(containersOf(arn.split('/').pop()!).map((c) => c.id)).toContain(container.runtimeId);
    await ecs.stopTask({ task: arn, reason: 'sdk test done' });
    await waitUntilTasksStopped({ ...waiter(ecs) }, { tasks: [arn] });
    const stopped = (await ecs.describeTasks({ tasks: [arn] })).tasks![0]!;
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'sdk test done' });
    expect(stopped.stoppedAt!.getTime()).toBeGreaterThanOrEqual(stopped.startedAt!.getTime());
    expect(typeof stopped.containers![0]!.exitCode).toBe('number');
    // Stopped tasks stay describable, and ListTasks finds them with desiredStatus STOPPED.
    const listed: string[] = [];
    for await (const page of paginateListTasks({ client: ecs, pageSize: 1 }, { desiredStatus: 'STOPPED', family: 'sdk-task' })) listed.push(...(page.taskArns ?? []));
    expect(listed).toEqual([arn]);
  });

  it('tasks-running fails at once for a task that exits (as ECS)', async () => {
    await ecs.registerTaskDefinition(sleeper('sdk-exit', 'x', ['sh', '-c', 'exit 3']));
    const arn = (await ecs.runTask({ taskDefinition: 'sdk-exit' })).tasks![0]!.taskArn!;
    await expect(waitUntilTasksRunning({ ...waiter(ecs) }, { tasks: [arn] })).rejects.toThrow(/FAILURE|failure/);
    const t = (await ecs.describeTasks({ tasks: [arn] })).tasks![0]!;
    expect(t.lastStatus).toBe('STOPPED');
    expect(t.containers![0]!.exitCode).toBe(3);
    expect(t.stopCode).toBe('EssentialContainerExited');
  });

  it('StartTask places on a named container instance; ListContainerInstances takes a cluster query filter', async () => {
    const all = await ecs.listContainerInstances({});
    expect(all.containerInstanceArns).toHaveLength(1);
    const linux = await ecs.listContainerInstances({ filter: 'attribute:ecs.os-type == linux' });
    expect(linux.containerInstanceArns).toEqual(all.containerInstanceArns);
    expect((await ecs.listContainerInstances({ filter: 'attribute:ecs.os-type == windows' })).containerInstanceArns).toEqual([]);
    await expect(ecs.listContainerInstances({ filter: 'attribute:ecs.os-type ==' })).rejects.toBeInstanceOf(InvalidParameterException);
    const ci = (await ecs.describeContainerInstances({ containerInstances: all.containerInstanceArns! })).containerInstances![0]!;
    expect(ci.agentConnected).toBe(true);
    expect(ci.registeredResources!.find((r) => r.name === 'MEMORY')!.integerValue).toBeGreaterThan(0);
    const started = await ecs.startTask({ taskDefinition: 'sdk-task', containerInstances: [ci.containerInstanceArn!] });
    expect(started.failures).toEqual([]);
    expect(started.tasks![0]!.containerInstanceArn).toBe(ci.containerInstanceArn);
    const missing = await ecs.startTask({ taskDefinition: 'sdk-task', containerInstances: ['n-0000000000000000'] });
    expect(missing.failures![0]!.reason).toBe('MISSING');
    await ecs.stopTask({ task: started.tasks![0]!.taskArn! });
    await waitUntilTasksStopped({ ...waiter(ecs) }, { tasks: [started.tasks![0]!.taskArn!] });
  });

  it('a service: services-stable, a new revision and --force-new-deployment (PRIMARY made before the reply), scale, delete and services-inactive', async () => {
    await ecs.registerTaskDefinition(sleeper('sdk-web', 'one'));
    const created = await ecs.createService({
      serviceName: 'sdk-web',
      taskDefinition: 'sdk-web',
      desiredCount: 2,
      deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } },
      tags: [{ key: 'tier', value: 'web' }],
    });
    expect(created.service!.deployments).toHaveLength(1);
    expect(created.service!.createdAt).toBeInstanceOf(Date);
    await waitUntilServicesStable({ ...waiter(ecs) }, { services: ['sdk-web'] });

    const rev2 = await ecs.registerTaskDefinition(sleeper('sdk-web', 'two'));
    const updated = await ecs.updateService({ service: 'sdk-web', taskDefinition: rev2.taskDefinition!.taskDefinitionArn });
    const primary = updated.service!.deployments!.find((d) => d.status === 'PRIMARY')!;
    expect(primary.taskDefinition).toBe(rev2.taskDefinition!.taskDefinitionArn);
    expect(primary.rolloutState).toBe('IN_PROGRESS');
    await waitUntilServicesStable({ ...waiter(ecs) }, { services: ['sdk-web'] });
    const after = await describe1('sdk-web');
    expect(after.deployments).toHaveLength(1);
    expect(after.deployments![0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED', taskDefinition: rev2.taskDefinition!.taskDefinitionArn });
    expect(after.runningCount).toBe(2);

    const forced = await ecs.updateService({ service: after.serviceArn!, forceNewDeployment: true });
    expect(forced.service!.deployments!.length).toBe(2);
    expect(forced.service!.deployments![0]!.id).not.toBe(after.deployments![0]!.id);
    await waitUntilServicesStable({ ...waiter(ecs) }, { services: [after.serviceArn!] });

    const history = await ecs.listServiceDeployments({ service: 'sdk-web' });
    expect(history.serviceDeployments!.map((d) => d.status)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);

    await ecs.updateService({ service: 'sdk-web', desiredCount: 3 });
    await waitUntilServicesStable({ ...waiter(ecs) }, { services: ['sdk-web'] });
    expect((await describe1('sdk-web')).runningCount).toBe(3);
    const tasks: string[] = [];
    for await (const page of paginateListTasks({ client: ecs, pageSize: 2 }, { serviceName: 'sdk-web' })) tasks.push(...(page.taskArns ?? []));
    expect(tasks).toHaveLength(3);

    const tagged = await ecs.send(new DescribeServicesCommand({ services: ['sdk-web'], include: ['TAGS'] }));
    expect(tagged.services![0]!.tags).toEqual([{ key: 'tier', value: 'web' }]);

    await ecs.deleteService({ service: 'sdk-web', force: true });
    await waitUntilServicesInactive({ ...waiter(ecs) }, { services: ['sdk-web'] });
    expect((await describe1('sdk-web')).status).toBe('INACTIVE');
    await waitFor('the service containers gone', async () => docker(['ps', '-q', '--filter', 'label=berth.family=sdk-web']) === '', 60_000);
  });

  it('describes missing things as failures with reason MISSING, never errors', async () => {
    const s = await ecs.describeServices({ services: ['nope'] });
    expect(s.services).toEqual([]);
    expect(s.failures).toEqual([{ arn: 'arn:aws:ecs:local:000000000000:service/default/nope', reason: 'MISSING' }]);
    const t = await ecs.send(new DescribeTasksCommand({ tasks: ['0'.repeat(32)] }));
    expect(t.failures![0]!.reason).toBe('MISSING');
    const c = await ecs.describeClusters({ clusters: ['default', 'nope'] });
    expect(c.clusters!.map((x) => x.clusterName)).toEqual(['default']);
    expect(c.failures![0]!.reason).toBe('MISSING');
  });

  it('berth aws-profile writes a profile the AWS CLI uses: credentials, CA bundle, region (and endpoint_url for CLIs that read it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-aws-'));
    const r = await berth(cluster.server, ['aws-profile', '--aws-dir', dir, '--role', 'viewer', '--endpoint', `https://127.0.0.1:${cluster.ecsPort}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(dir, 'credentials')).mode & 0o777).toBe(0o600);
    const config = readFileSync(join(dir, 'config'), 'utf8');
    expect(config).toContain('[profile berth]');
    expect(config).toContain(`endpoint_url = https://127.0.0.1:${cluster.ecsPort}`);
    // Debian's AWS CLI (2.9) does not read endpoint_url from a profile yet: it is given on the command line.
    const aws = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
    const env = { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
    const out = execFileSync(aws, ['--profile', 'berth', 'ecs', 'list-clusters', '--endpoint-url', `https://127.0.0.1:${cluster.ecsPort}`], { env, encoding: 'utf8' });
    expect(JSON.parse(out).clusterArns).toContain('arn:aws:ecs:local:000000000000:cluster/default');
    // A second profile keeps the first.
    expect((await berth(cluster.server, ['aws-profile', '--aws-dir', dir, '--profile', 'other'])).code).toBe(0);
    expect(readFileSync(join(dir, 'credentials'), 'utf8')).toMatch(/\[berth\][\s\S]*\[other\]/);
  });

  async function describe1(name: string): Promise<Service> {
    return (await ecs.describeServices({ services: [name] })).services![0]!;
  }
});
