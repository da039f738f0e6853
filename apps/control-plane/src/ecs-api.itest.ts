import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AccessDeniedException,
  ClusterNotFoundException,
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  InvalidParameterException,
  ListClustersCommand,
  ListServicesCommand,
  paginateListClusters,
  paginateListServices,
  paginateListTaskDefinitions,
  paginateListTasks,
  RunTaskCommand,
  ServiceNotFoundException,
  StopTaskCommand,
  UnsupportedFeatureException,
  UpdateServiceCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
  waitUntilTasksRunning,
  waitUntilTasksStopped,
} from '@aws-sdk/client-ecs';
import { OPERATIONS, operationNames, type EcsOperationName } from '@berth/ecs-model';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECS_HANDLERS, ECS_PARTIAL } from './ecs-api/ecs-operations.js';
import { MAX_BODY_BYTES } from './ecs-api/ecs-server.js';
import { OPERATION_ROLE } from './grpc/auth.js';
import { applyTaskStatusReports } from './services/tasks.js';
import { BACKENDS, type BackendEnv } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';
import { createKeyOverGrpc, ECS_TARGET_PREFIX, JSON_11, startEcsControlPlane, type AwsKey, type EcsTestPlane, type RawResponse } from './test-support/ecs-client.js';

/**
 * The ECS endpoint end to end, with real SigV4 signatures (raw requests
 * signed by @smithy/signature-v4, and @aws-sdk/client-ecs): every operation
 * of the ECS model, the AWS JSON 1.1 protocol, authentication and roles,
 * typed SDK errors, the SDK paginators and waiters, names / ids / ARNs, and
 * tags. The "every operation" test writes docs/ecs-api.md from what the
 * endpoint answered (the doc's source of truth: rerun it after changing
 * ECS_HANDLERS or ECS_PARTIAL, or `node scripts/gen-ecs-api-doc.mjs`).
 */

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
const DOC_PATH = join(import.meta.dirname, '..', '..', '..', 'docs', 'ecs-api.md');
const ARN = 'arn:aws:ecs:local:000000000000';
const HEX32 = /^[0-9a-f]{32}$/;
const container = (name = 'app') => ({ name, image: 'busybox', memory: 8, essential: true });
/** What the first backend of this process wrote, so the second checks it answers the same. */
let docWritten: string | undefined;

describe.each(BACKENDS)('ECS endpoint on $name', (backend) => {
  let env: BackendEnv | undefined;
  let e: EcsTestPlane;

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    e = await startEcsControlPlane(env, log);
  });
  afterAll(async () => {
    if (!env) return;
    await e?.close();
    await env.cleanup();
  });

  /** A 200's body (the failure prints the answer). */
  const ok = async (p: Promise<RawResponse>): Promise<Record<string, unknown>> => {
    const r = await p;
    expect(r.status, `${r.status} ${r.text}`).toBe(200);
    return r.body!;
  };
  /** A typed ECS error: HTTP status, __type, x-amzn-ErrorType and a message. */
  const fails = async (p: Promise<RawResponse>, type: string, status = 400): Promise<RawResponse> => {
    const r = await p;
    expect({ status: r.status, type: r.type }, r.text).toEqual({ status, type });
    expect(r.headers['x-amzn-errortype']).toBe(type);
    expect(r.message).toEqual(expect.any(String));
    return r;
  };
  const cluster = (name: string) => ok(e.call('CreateCluster', { clusterName: name }));
  const taskDef = async (family: string) => (await ok(e.call('RegisterTaskDefinition', { family, containerDefinitions: [container()] }))).taskDefinition as Record<string, unknown>;
  const runTasks = async (clusterName: string, taskDefinition: string, count = 1) => {
    const b = await ok(e.call('RunTask', { cluster: clusterName, taskDefinition, count }));
    expect(b.failures).toEqual([]);
    return b.tasks as Record<string, unknown>[];
  };
  const service = async (clusterName: string, serviceName: string, taskDefinition: string, desiredCount = 0) =>
    (await ok(e.call('CreateService', { cluster: clusterName, serviceName, taskDefinition, desiredCount }))).service as Record<string, unknown>;

  // ---- a. every operation ------------------------------------------------------------------------------

  it('answers every operation of the ECS model: the supported ones 200 or a typed 4xx, the others UnsupportedFeatureException (and writes docs/ecs-api.md)', async () => {
    if (!env) return;
    const names = operationNames();
    expect(names.length).toBe(77);
    const results: OperationResult[] = [];
    for (const op of names) {
      const r = await e.call(op, {});
      const implemented = Object.hasOwn(ECS_HANDLERS, op);
      results.push({ op, implemented, readonly: OPERATIONS[op].readonly === true, status: r.status, type: r.type });
      const where = `${op}: ${r.status} ${r.text}`;
      expect.soft(r.headers['content-type'], where).toBe(JSON_11);
      if (!implemented) {
        expect.soft({ status: r.status, type: r.type, header: r.headers['x-amzn-errortype'] }, where).toEqual({ status: 400, type: 'UnsupportedFeatureException', header: 'UnsupportedFeatureException' });
        expect.soft(r.message, where).toContain(op);
        continue;
      }
      expect.soft(r.status, where).toBeLessThan(500);
      if (r.status === 200) continue;
      expect.soft(r.status, where).toBe(400);
      expect.soft(r.type, where).toMatch(/^[A-Za-z]+Exception$/);
      expect.soft(r.type, where).not.toBe('UnknownOperationException');
      expect.soft(r.type, where).not.toBe('UnsupportedFeatureException');
      expect.soft(r.headers['x-amzn-errortype'], where).toBe(r.type);
    }
    const doc = renderEcsApiDoc(results);
    writeFileSync(DOC_PATH, doc);
    // Both stores answer the same: the doc does not depend on which backend wrote it.
    if (docWritten !== undefined) expect(doc).toBe(docWritten);
    docWritten = doc;
    // Every partial note names a supported operation; the roles table agrees with the model's read-only flag.
    for (const op of Object.keys(ECS_PARTIAL)) expect(Object.hasOwn(ECS_HANDLERS, op), op).toBe(true);
    for (const r of results.filter((x) => x.implemented)) expect.soft(OPERATION_ROLE[r.op] === 'viewer', `${r.op}: viewer role vs model readonly`).toBe(r.readonly);
  });

  // ---- b. protocol ---------------------------------------------------------------------------------------

  it('takes an empty body as {}, and answers with x-amzn-RequestId, Date and application/x-amz-json-1.1', async () => {
    if (!env) return;
    const r = await e.call('ListClusters', undefined);
    expect(r.status, r.text).toBe(200);
    expect(r.body!.clusterArns).toEqual(expect.any(Array));
    for (const x of [r, await e.call('ListServices', { cluster: 'nope' })]) {
      expect(x.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(Date.parse(String(x.headers.date)) - Date.now())).toBeLessThan(60_000);
      expect(x.headers['content-type']).toBe(JSON_11);
    }
    const ids = new Set(await Promise.all([1, 2, 3].map(async () => (await e.call('ListClusters', {})).headers['x-amzn-requestid'])));
    expect(ids.size).toBe(3);
  });

  it('sends timestamps as epoch seconds (JSON numbers)', async () => {
    if (!env) return;
    const td = await taskDef('proto-ts');
    expect(typeof td.registeredAt).toBe('number');
    expect(Math.abs((td.registeredAt as number) - Date.now() / 1000)).toBeLessThan(60);
    await cluster('proto-ts');
    const [task] = await runTasks('proto-ts', 'proto-ts');
    expect(typeof task!.createdAt).toBe('number');
    expect(Math.abs((task!.createdAt as number) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('takes any path (signed accordingly)', async () => {
    if (!env) return;
    await ok(e.call('ListClusters', {}, { path: '/foo/bar' }));
    await ok(e.call('ListClusters', {}, { path: '/foo/bar/' }));
    await ok(e.call('ListClusters', {}, { path: '/foo/bar?x=1&y=two' }));
  });

  it('refuses unknown targets, other methods, malformed JSON and bodies of the wrong types', async () => {
    if (!env) return;
    const unknown = await fails(e.call('NoSuchOperation', {}), 'UnknownOperationException');
    expect(unknown.message).toContain('NoSuchOperation');
    await fails(e.call('ListClusters', {}, { target: 'AmazonEC2ContainerServiceV20141113.listClusters' }), 'UnknownOperationException');
    await fails(e.call('ListClusters', {}, { target: 'AWSSecurityTokenServiceV20110615.GetCallerIdentity' }), 'UnknownOperationException');
    await fails(e.call('ListClusters', {}, { target: null }), 'UnknownOperationException');
    await fails(e.call('ListClusters', {}, { target: `${ECS_TARGET_PREFIX}.toString` }), 'UnknownOperationException');
    const get = await e.call('ListClusters', undefined, { method: 'GET' });
    expect(get.status, get.text).toBe(400);
    expect(get.type).toEqual(expect.any(String));
    await fails(e.call('ListClusters', '{"maxResults":'), 'SerializationException');
    await fails(e.call('ListClusters', Buffer.from([0xff, 0xfe, 0x00])), 'SerializationException');
    const wrong = await fails(e.call('ListClusters', { maxResults: 'ten' }), 'InvalidParameterException');
    expect(wrong.message).toContain('maxResults');
    const nested = await fails(e.call('RegisterTaskDefinition', { family: 'x', containerDefinitions: [{ name: 'a', image: 'b', portMappings: [{ hostPort: '443' }] }] }), 'InvalidParameterException');
    expect(nested.message).toContain('containerDefinitions[0].portMappings[0].hostPort');
    for (const body of ['[]', '"x"', '1', 'null', 'true']) {
      const r = await e.call('ListClusters', body);
      expect(r.status < 500 && r.type !== undefined, `${body}: ${r.status} ${r.text}`).toBe(true);
    }
    await fails(e.call('ListClusters', { maxResults: 1000 }), 'InvalidParameterException');
  });

  it('refuses what ECS refuses in lists and runs: RunTask count 0 or 11, garbage nextTokens, maxResults 0', async () => {
    if (!env) return;
    await cluster('proto-limits');
    await taskDef('proto-limits');
    await service('proto-limits', 'svc', 'proto-limits');
    for (const count of [0, 11, -1]) {
      const r = await e.call('RunTask', { cluster: 'proto-limits', taskDefinition: 'proto-limits', count });
      expect.soft({ status: r.status, type: r.type }, `RunTask count ${count}: ${r.text.slice(0, 200)}`).toEqual({ status: 400, type: 'InvalidParameterException' });
    }
    expect.soft((await ok(e.call('ListTasks', { cluster: 'proto-limits' }))).taskArns, 'no task was started').toEqual([]);
    for (const [op, body] of [
      ['ListClusters', { nextToken: 'garbage' }],
      ['ListTasks', { cluster: 'proto-limits', nextToken: 'garbage' }],
      ['ListServices', { cluster: 'proto-limits', nextToken: 'garbage' }],
      ['ListTaskDefinitions', { nextToken: 'garbage' }],
      ['ListTaskDefinitionFamilies', { nextToken: 'garbage' }],
      ['ListContainerInstances', { cluster: 'proto-limits', nextToken: 'garbage' }],
      ['ListServiceDeployments', { cluster: 'proto-limits', service: 'svc', nextToken: '!!' }],
      ['ListServices', { cluster: 'proto-limits', maxResults: 0 }],
      ['ListServiceDeployments', { cluster: 'proto-limits', service: 'svc', maxResults: 101 }],
    ] as const) {
      const r = await e.call(op, body);
      expect.soft({ status: r.status, type: r.type }, `${op} ${JSON.stringify(body)}: ${r.text.slice(0, 300)}`).toEqual({ status: 400, type: 'InvalidParameterException' });
    }
  });

  it('answers ClusterNotFoundException and ServiceNotFoundException', async () => {
    if (!env) return;
    expect((await fails(e.call('ListServices', { cluster: 'nope' }), 'ClusterNotFoundException')).message).toContain('nope');
    await fails(e.call('ListTasks', { cluster: 'nope' }), 'ClusterNotFoundException');
    await fails(e.call('DescribeServices', { cluster: 'nope', services: ['x'] }), 'ClusterNotFoundException');
    await cluster('proto-nf');
    await fails(e.call('UpdateService', { cluster: 'proto-nf', service: 'ghost', desiredCount: 1 }), 'ServiceNotFoundException');
    const d = await ok(e.call('DescribeClusters', { clusters: ['proto-nf', 'ghost'] }));
    expect(d.failures).toEqual([{ arn: `${ARN}:cluster/ghost`, reason: 'MISSING' }]);
  });

  it('refuses a body over 1 MiB with 413, declared or chunked, and keeps answering', async () => {
    if (!env) return;
    const big = Buffer.from(JSON.stringify({ clusterName: 'x'.repeat(MAX_BODY_BYTES) }));
    await fails(e.call('CreateCluster', big), 'RequestEntityTooLargeException', 413);
    await fails(e.call('CreateCluster', big, { chunked: true }), 'RequestEntityTooLargeException', 413);
    // Just under the limit is read (and refused for its content, not its size).
    const under = Buffer.from(JSON.stringify({ clusterName: 'x'.repeat(MAX_BODY_BYTES - 100) }));
    expect(under.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const r = await e.call('CreateCluster', under);
    expect(r.status, r.text.slice(0, 300)).toBe(400);
    await ok(e.call('ListClusters', {}));
  });

  it('names fields outside the ECS model in x-berth-ignored-fields', async () => {
    if (!env) return;
    const r = await e.call('ListClusters', { maxResults: 5, bogusField: 1, nested: { x: 1 } });
    expect(r.status, r.text).toBe(200);
    expect(String(r.headers['x-berth-ignored-fields']).split(',').sort()).toEqual(['bogusField', 'nested']);
    const plain = await e.call('ListClusters', { maxResults: 5 });
    expect(plain.headers['x-berth-ignored-fields']).toBeUndefined();
    const td = await e.call('RegisterTaskDefinition', { family: 'ignored', containerDefinitions: [{ ...container(), bogus: true }], cpuArchitecture: 'x' });
    expect(td.status, td.text).toBe(200);
    expect(String(td.headers['x-berth-ignored-fields']).split(',').sort()).toEqual(['containerDefinitions[0].bogus', 'cpuArchitecture']);
  });

  // ---- c. SigV4 end to end -------------------------------------------------------------------------------

  it('refuses a request changed after signing: body, x-amz-target, path', async () => {
    if (!env) return;
    const body = { maxResults: 1 };
    await ok(e.call('ListClusters', body));
    const swapBody = (r: { body: Buffer }) => void (r.body = Buffer.from(JSON.stringify({ maxResults: 2 })));
    await fails(e.call('ListClusters', body, { tamper: swapBody }), 'InvalidSignatureException');
    // With x-amz-content-sha256 signed (as S3 clients send it) too.
    await ok(e.call('ListClusters', body, { checksum: true }));
    await fails(e.call('ListClusters', body, { checksum: true, tamper: swapBody }), 'InvalidSignatureException');
    await fails(e.call('ListClusters', body, { tamper: (r) => void (r.headers['x-amz-target'] = `${ECS_TARGET_PREFIX}.DescribeClusters`) }), 'InvalidSignatureException');
    // The path and query are signed too.
    await fails(e.call('ListClusters', body, { path: '/foo', tamper: (r) => void (r.path = '/bar') }), 'InvalidSignatureException');
    await fails(e.call('ListClusters', body, { path: '/foo?a=1', tamper: (r) => void (r.path = '/foo?a=2') }), 'InvalidSignatureException');
  });

  it('refuses a request signed 6 minutes ago or 6 minutes ahead', async () => {
    if (!env) return;
    const old = await fails(e.call('ListClusters', {}, { signingDate: new Date(Date.now() - 6 * 60_000) }), 'InvalidSignatureException');
    expect(old.message).toMatch(/Signature expired/);
    const ahead = await fails(e.call('ListClusters', {}, { signingDate: new Date(Date.now() + 6 * 60_000) }), 'InvalidSignatureException');
    expect(ahead.message).toMatch(/not yet current/);
    await ok(e.call('ListClusters', {}, { signingDate: new Date(Date.now() - 4 * 60_000) }));
  });

  it('takes any region in the credential scope, but only the ecs service', async () => {
    if (!env) return;
    for (const region of ['x', 'us-east-1', 'eu-central-2', 'local']) await ok(e.call('ListClusters', {}, { region }));
    await fails(e.call('ListClusters', {}, { service: 'sts' }), 'InvalidSignatureException');
    await fails(e.call('ListClusters', {}, { service: 'ecr' }), 'InvalidSignatureException');
  });

  it('refuses unknown keys, wrong secrets, missing signatures, deleted and expired keys', async () => {
    if (!env) return;
    await fails(e.call('ListClusters', {}, { key: { accessKeyId: 'BKIA0000000000000000', secretAccessKey: 'x' } }), 'UnrecognizedClientException');
    await fails(e.call('ListClusters', {}, { key: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } }), 'UnrecognizedClientException');
    await fails(e.call('ListClusters', {}, { key: { accessKeyId: e.admin.accessKeyId, secretAccessKey: `${e.admin.secretAccessKey}x` } }), 'InvalidSignatureException');
    const missing = await fails(e.call('ListClusters', {}, { key: null }), 'MissingAuthenticationTokenException');
    expect(missing.headers['x-amzn-requestid']).toEqual(expect.any(String));
    // Deleted through the API (as `berth apitoken delete` does): refused at the next call.
    const doomed = await e.makeKey('operator', { name: 'doomed' });
    await ok(e.call('ListClusters', {}, { key: doomed }));
    await e.deleteKey(doomed.accessKeyId);
    await fails(e.call('ListClusters', {}, { key: doomed }), 'UnrecognizedClientException');
    // Expired: made an hour ago with a minute to live.
    const expired = await e.makeKey('viewer', { name: 'expired', ttlSeconds: 60, clock: { now: () => new Date(Date.now() - 3_600_000) } });
    const x = await fails(e.call('ListClusters', {}, { key: expired }), 'ExpiredTokenException');
    expect(x.message).toContain(expired.accessKeyId);
    // The SDK corrects its clock from the Date header after an InvalidSignatureException (a skewed client).
    const skewed = new ECSClient({ endpoint: e.endpoint, region: 'local', credentials: e.admin, systemClockOffset: -15 * 60_000 });
    try {
      expect((await skewed.send(new ListClustersCommand({}))).clusterArns).toEqual(expect.any(Array));
      expect(Math.abs(skewed.config.systemClockOffset)).toBeLessThan(60_000);
    } finally {
      skewed.destroy();
    }
    // A key made through the gRPC API (as the CLI makes them) works with the SDK.
    const grpcKey = await createKeyOverGrpc(e.cp, 'viewer', 'grpc-made');
    expect(grpcKey.accessKeyId).toMatch(/^BKIA[0-9A-F]{16}$/);
    expect((await e.client(grpcKey).send(new ListClustersCommand({}))).clusterArns).toEqual(expect.any(Array));
  });

  describe('roles', () => {
    let viewer: AwsKey;
    let labOperator: AwsKey;
    let labTask: string;
    let defaultTask: string;
    /** A body each write would succeed with for an admin. */
    let writes: Partial<Record<EcsOperationName, unknown>>;
    let reads: Partial<Record<EcsOperationName, unknown>>;

    beforeAll(async () => {
      if (!env) return;
      viewer = await e.makeKey('viewer', { name: 'viewer' });
      labOperator = await e.makeKey('operator', { name: 'lab-operator', cluster: 'lab' });
      await cluster('lab');
      await cluster('lab-empty');
      await cluster('default');
      await taskDef('web');
      await taskDef('web-old');
      await service('lab', 'svc', 'web', 1);
      await ok(e.call('TagResource', { resourceArn: `${ARN}:cluster/lab`, tags: [{ key: 'keep', value: 'yes' }] }));
      labTask = (await runTasks('lab', 'web'))[0]!.taskArn as string;
      defaultTask = (await runTasks('default', 'web'))[0]!.taskArn as string;
      const node = 'f'.repeat(32);
      writes = {
        CreateCluster: { clusterName: 'viewer-made' },
        DeleteCluster: { cluster: 'lab-empty' },
        UpdateCluster: { cluster: 'lab', settings: [{ name: 'containerInsights', value: 'enabled' }] },
        UpdateClusterSettings: { cluster: 'lab', settings: [{ name: 'containerInsights', value: 'enabled' }] },
        RegisterTaskDefinition: { family: 'viewer-made', containerDefinitions: [container()] },
        DeregisterTaskDefinition: { taskDefinition: 'web-old:1' },
        DeleteTaskDefinitions: { taskDefinitions: ['web-old:1'] },
        RunTask: { cluster: 'lab', taskDefinition: 'web' },
        StartTask: { cluster: 'lab', taskDefinition: 'web', containerInstances: [node] },
        StopTask: { cluster: 'lab', task: labTask },
        CreateService: { cluster: 'lab', serviceName: 'viewer-made', taskDefinition: 'web', desiredCount: 1 },
        UpdateService: { cluster: 'lab', service: 'svc', desiredCount: 3 },
        DeleteService: { cluster: 'lab', service: 'svc', force: true },
        TagResource: { resourceArn: `${ARN}:cluster/lab`, tags: [{ key: 'new', value: 'x' }] },
        UntagResource: { resourceArn: `${ARN}:cluster/lab`, tagKeys: ['keep'] },
        PutAttributes: { cluster: 'lab', attributes: [{ name: 'room', value: 'attic', targetType: 'container-instance', targetId: node }] },
        DeleteAttributes: { cluster: 'lab', attributes: [{ name: 'room', targetType: 'container-instance', targetId: node }] },
        UpdateContainerInstancesState: { cluster: 'lab', containerInstances: [node], status: 'DRAINING' },
        DeregisterContainerInstance: { cluster: 'lab', containerInstance: node, force: true },
      };
      reads = {
        ListClusters: {},
        DescribeClusters: { clusters: ['lab'], include: ['TAGS', 'SETTINGS', 'STATISTICS'] },
        ListServices: { cluster: 'lab' },
        DescribeServices: { cluster: 'lab', services: ['svc'], include: ['TAGS'] },
        ListTasks: { cluster: 'lab' },
        DescribeTasks: { cluster: 'lab', tasks: [labTask], include: ['TAGS'] },
        DescribeTaskDefinition: { taskDefinition: 'web', include: ['TAGS'] },
        ListTaskDefinitions: {},
        ListTaskDefinitionFamilies: {},
        ListContainerInstances: { cluster: 'lab' },
        DescribeContainerInstances: { cluster: 'lab', containerInstances: [node] },
        ListAttributes: { cluster: 'lab', targetType: 'container-instance' },
        ListTagsForResource: { resourceArn: `${ARN}:cluster/lab` },
        ListServiceDeployments: { cluster: 'lab', service: 'svc' },
        DescribeServiceDeployments: { serviceDeploymentArns: [`${ARN}:service-deployment/lab/svc/123`] },
      };
    });

    /** What a denied write must not change. */
    const state = async () => ({
      clusters: (await ok(e.call('ListClusters', {}))).clusterArns,
      taskDefinitions: (await ok(e.call('ListTaskDefinitions', {}))).taskDefinitionArns,
      inactive: (await ok(e.call('ListTaskDefinitions', { status: 'INACTIVE' }))).taskDefinitionArns,
      services: (await ok(e.call('ListServices', { cluster: 'lab' }))).serviceArns,
      svc: ((await ok(e.call('DescribeServices', { cluster: 'lab', services: ['svc'] }))).services as { desiredCount: number; status: string }[]).map((s) => [s.desiredCount, s.status]),
      tasks: (await ok(e.call('ListTasks', { cluster: 'lab' }))).taskArns,
      tags: (await ok(e.call('ListTagsForResource', { resourceArn: `${ARN}:cluster/lab` }))).tags,
      settings: ((await ok(e.call('DescribeClusters', { clusters: ['lab'], include: ['SETTINGS'] }))).clusters as { settings: unknown }[])[0]!.settings,
    });

    it('denies a viewer key every write (AccessDeniedException), changing nothing; its reads succeed', async () => {
      if (!env) return;
      const implementedWrites = operationNames().filter((op) => Object.hasOwn(ECS_HANDLERS, op) && !OPERATIONS[op].readonly);
      expect(implementedWrites.length).toBeGreaterThanOrEqual(15);
      const before = await state();
      for (const op of implementedWrites) {
        expect.soft(writes[op], `a write body for ${op}`).toBeDefined();
        const r = await e.call(op, writes[op] ?? { cluster: 'lab' }, { key: viewer });
        expect.soft({ status: r.status, type: r.type, header: r.headers['x-amzn-errortype'] }, `${op}: ${r.text}`).toEqual({ status: 400, type: 'AccessDeniedException', header: 'AccessDeniedException' });
        expect.soft(r.message, op).toContain(op);
      }
      expect(await state()).toEqual(before);
      const implementedReads = operationNames().filter((op) => Object.hasOwn(ECS_HANDLERS, op) && OPERATIONS[op].readonly);
      for (const op of implementedReads) {
        expect.soft(reads[op], `a read body for ${op}`).toBeDefined();
        const r = await e.call(op, reads[op] ?? {}, { key: viewer });
        expect.soft(r.status, `${op}: ${r.text}`).toBe(200);
      }
    });

    it('the same writes succeed for an admin key (so the viewer test proved something)', async () => {
      if (!env) return;
      // The order matters: stop and delete last.
      const order: EcsOperationName[] = ['CreateCluster', 'UpdateCluster', 'UpdateClusterSettings', 'RegisterTaskDefinition', 'RunTask', 'CreateService', 'UpdateService', 'TagResource', 'UntagResource', 'StopTask', 'DeleteService', 'DeleteCluster', 'DeregisterTaskDefinition', 'DeleteTaskDefinitions'];
      for (const op of order) {
        const r = await e.call(op, writes[op]);
        expect.soft(r.status, `${op}: ${r.text}`).toBe(200);
      }
      // Without a node, StartTask answers a failure per instance, and the instance operations a typed error.
      const start = await e.call('StartTask', writes.StartTask);
      expect(start.status, start.text).toBe(200);
      expect((start.body!.failures as unknown[]).length).toBe(1);
      for (const op of ['PutAttributes', 'DeleteAttributes', 'UpdateContainerInstancesState', 'DeregisterContainerInstance'] as const) {
        const r = await e.call(op, writes[op]);
        expect.soft(r.status < 500 && (r.status === 200 || r.type !== undefined), `${op}: ${r.status} ${r.text}`).toBe(true);
      }
    });

    it('keeps a cluster-scoped operator key to its cluster', async () => {
      if (!env) return;
      const k = { key: labOperator };
      await ok(e.call('ListServices', { cluster: 'lab' }, k));
      await ok(e.call('ListServices', { cluster: `${ARN}:cluster/lab` }, k));
      await ok(e.call('ListClusters', {}, k));
      await ok(e.call('RegisterTaskDefinition', { family: 'lab-made', containerDefinitions: [container()] }, k));
      const run = await ok(e.call('RunTask', { cluster: 'lab', taskDefinition: 'web' }, k));
      await ok(e.call('StopTask', { cluster: 'lab', task: (run.tasks as { taskArn: string }[])[0]!.taskArn }, k));
      const denied = [
        ['ListServices', { cluster: 'default' }],
        ['ListServices', { cluster: `${ARN}:cluster/default` }],
        ['ListServices', {}],
        ['RunTask', { cluster: 'default', taskDefinition: 'web' }],
        ['DescribeClusters', { clusters: ['lab', 'default'] }],
        ['DescribeTasks', { tasks: [defaultTask] }],
        ['StopTask', { task: defaultTask }],
        ['CreateService', { cluster: 'default', serviceName: 'x', taskDefinition: 'web' }],
        ['TagResource', { resourceArn: `${ARN}:cluster/default`, tags: [{ key: 'a', value: 'b' }] }],
      ] as const;
      for (const [op, body] of denied) {
        const r = await e.call(op, body, k);
        expect.soft({ status: r.status, type: r.type }, `${op} ${JSON.stringify(body)}: ${r.text}`).toEqual({ status: 400, type: 'AccessDeniedException' });
      }
      // Its own cluster named, another's task ARN: the ARN names the other cluster, so it is denied (the task is untouched).
      for (const [op, body] of [['StopTask', { cluster: 'lab', task: defaultTask }], ['DescribeTasks', { cluster: 'lab', tasks: [defaultTask] }]] as const) {
        const cross = await e.call(op, body, k);
        expect({ status: cross.status, type: cross.type }, cross.text).toEqual({ status: 400, type: 'AccessDeniedException' });
      }
      const still = await ok(e.call('DescribeTasks', { cluster: 'default', tasks: [defaultTask] }));
      expect((still.tasks as { desiredStatus: string }[])[0]!.desiredStatus).toBe('RUNNING');
    });

    it('lets a cluster-scoped key name its own cluster through ARNs alone (tags, StopTask, DescribeServices, UpdateService by ARN)', async () => {
      if (!env) return;
      const k = { key: labOperator };
      const [task] = await runTasks('lab', 'web');
      await service('lab', 'svc-scoped', 'web');
      const svcArn = `${ARN}:service/lab/svc-scoped`;
      const allowed = [
        ['DescribeTasks', { tasks: [task!.taskArn] }],
        ['DescribeServices', { services: [svcArn] }],
        ['UpdateService', { service: svcArn, desiredCount: 1 }],
        ['ListServiceDeployments', { service: svcArn }],
        ['ListTagsForResource', { resourceArn: `${ARN}:cluster/lab` }],
        ['TagResource', { resourceArn: svcArn, tags: [{ key: 'scoped', value: 'yes' }] }],
        ['UntagResource', { resourceArn: svcArn, tagKeys: ['scoped'] }],
        ['StopTask', { task: task!.taskArn }],
      ] as const;
      for (const [op, body] of allowed) {
        const r = await e.call(op, body, k);
        expect.soft(r.status, `${op} ${JSON.stringify(body)}: ${r.text.slice(0, 300)}`).toBe(200);
      }
    });
  });

  // ---- d. typed SDK errors -------------------------------------------------------------------------------

  it('gives the SDK typed errors', async () => {
    if (!env) return;
    const sdk = e.client();
    const viewerSdk = e.client(await e.makeKey('viewer', { name: 'sdk-viewer' }));
    await sdk.send(new CreateClusterCommand({ clusterName: 'sdk' }));
    const err = async (p: Promise<unknown>) => p.then(() => undefined, (x: unknown) => x);
    const nf = await err(sdk.send(new ListServicesCommand({ cluster: 'nope' })));
    expect(nf).toBeInstanceOf(ClusterNotFoundException);
    expect((nf as ClusterNotFoundException).$metadata.httpStatusCode).toBe(400);
    expect((nf as ClusterNotFoundException).$metadata.requestId).toEqual(expect.any(String));
    expect(await err(sdk.send(new ListClustersCommand({ maxResults: 1000 })))).toBeInstanceOf(InvalidParameterException);
    expect(await err(sdk.send(new DescribeServicesCommand({ cluster: 'sdk', services: Array.from({ length: 11 }, (_, i) => `s${i}`) })))).toBeInstanceOf(InvalidParameterException);
    expect(await err(sdk.send(new UpdateServiceCommand({ cluster: 'sdk', service: 'ghost', desiredCount: 1 })))).toBeInstanceOf(ServiceNotFoundException);
    const unsupported = await err(sdk.send(new CreateCapacityProviderCommand({ name: 'cp', autoScalingGroupProvider: { autoScalingGroupArn: 'arn:aws:autoscaling:x' } })));
    expect(unsupported).toBeInstanceOf(UnsupportedFeatureException);
    expect((unsupported as Error).message).toContain('CreateCapacityProvider');
    const denied = await err(viewerSdk.send(new CreateClusterCommand({ clusterName: 'viewer-sdk' })));
    expect(denied).toBeInstanceOf(AccessDeniedException);
    expect((await viewerSdk.send(new ListClustersCommand({}))).clusterArns).not.toContain(`${ARN}:cluster/viewer-sdk`);
  });

  // ---- e. pagination -------------------------------------------------------------------------------------

  it('pages clusters with the SDK paginator (page size 10), every cluster once', async () => {
    if (!env) return;
    const names = Array.from({ length: 25 }, (_, i) => `page-cl-${String(i).padStart(2, '0')}`);
    for (const n of names) await cluster(n);
    const sdk = e.client();
    const pages: string[][] = [];
    for await (const p of paginateListClusters({ client: sdk, pageSize: 10 }, {})) pages.push(p.clusterArns ?? []);
    const all = pages.flat();
    expect(new Set(all).size).toBe(all.length);
    for (const n of names) expect(all).toContain(`${ARN}:cluster/${n}`);
    expect(pages.slice(0, -1).every((p) => p.length === 10)).toBe(true);
    expect(all.length).toBe(((await ok(e.call('ListClusters', { maxResults: 100 }))).clusterArns as string[]).length);
  });

  it('pages services (ECS default 10 a page), task definitions (100) and tasks (100), every item once; refuses too many names to describe', async () => {
    if (!env) return;
    await cluster('pages');
    await taskDef('pages');
    const sdk = e.client();
    // 23 services (desired 0: no node needed).
    const svcNames = Array.from({ length: 23 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    for (const n of svcNames) await service('pages', n, 'pages');
    const first = await ok(e.call('ListServices', { cluster: 'pages' }));
    expect((first.serviceArns as string[]).length).toBe(10);
    expect(first.nextToken).toEqual(expect.any(String));
    const services: string[] = [];
    for await (const p of paginateListServices({ client: sdk }, { cluster: 'pages' })) services.push(...(p.serviceArns ?? []));
    expect([...services].sort()).toEqual(svcNames.map((n) => `${ARN}:service/pages/${n}`));
    await fails(e.call('DescribeServices', { cluster: 'pages', services: svcNames.slice(0, 11) }), 'InvalidParameterException');
    const ten = await ok(e.call('DescribeServices', { cluster: 'pages', services: svcNames.slice(0, 10) }));
    expect((ten.services as unknown[]).length).toBe(10);

    // 150 revisions of one family.
    for (let i = 0; i < 150; i += 10) await Promise.all(Array.from({ length: 10 }, () => ok(e.call('RegisterTaskDefinition', { family: 'pages-many', containerDefinitions: [container()] }))));
    const firstTd = await ok(e.call('ListTaskDefinitions', { familyPrefix: 'pages-many' }));
    expect((firstTd.taskDefinitionArns as string[]).length).toBe(100);
    expect(firstTd.nextToken).toEqual(expect.any(String));
    const tds: string[] = [];
    for await (const p of paginateListTaskDefinitions({ client: sdk }, { familyPrefix: 'pages-many' })) tds.push(...(p.taskDefinitionArns ?? []));
    expect(new Set(tds).size).toBe(150);
    expect([...tds].sort((a, b) => rev(a) - rev(b))).toEqual(Array.from({ length: 150 }, (_, i) => `${ARN}:task-definition/pages-many:${i + 1}`));
    const desc: string[] = [];
    for await (const p of paginateListTaskDefinitions({ client: sdk, pageSize: 33 }, { familyPrefix: 'pages-many', sort: 'DESC' })) desc.push(...(p.taskDefinitionArns ?? []));
    expect(desc.map(rev)).toEqual(Array.from({ length: 150 }, (_, i) => 150 - i));

    // 120 tasks, 10 per RunTask; they wait in PROVISIONING without a node.
    const ran: string[] = [];
    for (let i = 0; i < 12; i++) ran.push(...(await runTasks('pages', 'pages', 10)).map((t) => t.taskArn as string));
    expect(new Set(ran).size).toBe(120);
    const firstTasks = await ok(e.call('ListTasks', { cluster: 'pages' }));
    expect((firstTasks.taskArns as string[]).length).toBe(100);
    const tasks: string[] = [];
    for await (const p of paginateListTasks({ client: sdk }, { cluster: 'pages' })) tasks.push(...(p.taskArns ?? []));
    expect([...tasks].sort()).toEqual([...ran].sort());
    const small: string[] = [];
    for await (const p of paginateListTasks({ client: sdk, pageSize: 7 }, { cluster: 'pages' })) small.push(...(p.taskArns ?? []));
    expect([...small].sort()).toEqual([...ran].sort());
    await fails(e.call('DescribeTasks', { cluster: 'pages', tasks: ran.slice(0, 101).concat(ran.slice(0, 1)) }), 'InvalidParameterException');
    const hundred = await ok(e.call('DescribeTasks', { cluster: 'pages', tasks: ran.slice(0, 100) }));
    expect((hundred.tasks as unknown[]).length).toBe(100);
    expect((hundred.tasks as { lastStatus: string }[]).every((t) => t.lastStatus === 'PROVISIONING')).toBe(true);
    // A token from another list is refused, not trusted.
    await fails(e.call('ListTasks', { cluster: 'pages', nextToken: 'bm90IGEgdG9rZW4' }), 'InvalidParameterException');
  });

  // ---- f. names, short ids and ARNs -----------------------------------------------------------------------

  it('takes names, short ids and full ARNs everywhere, and answers long-format ARNs', async () => {
    if (!env) return;
    const c = (await cluster('refs')).cluster as { clusterArn: string };
    expect(c.clusterArn).toBe(`${ARN}:cluster/refs`);
    const td = await taskDef('refs');
    expect(td.taskDefinitionArn).toMatch(/^arn:aws:ecs:local:000000000000:task-definition\/refs:\d+$/);
    const revision = td.revision as number;
    const s = await service('refs', 'web', 'refs');
    expect(s.serviceArn).toBe(`${ARN}:service/refs/web`);
    expect(s.clusterArn).toBe(`${ARN}:cluster/refs`);
    const [task] = await runTasks('refs', 'refs');
    const taskArn = task!.taskArn as string;
    expect(taskArn).toMatch(/^arn:aws:ecs:local:000000000000:task\/refs\/[0-9a-f]{32}$/);
    const id = taskArn.split('/').pop()!;
    expect(id).toMatch(HEX32);
    expect(task!.clusterArn).toBe(`${ARN}:cluster/refs`);
    expect(task!.taskDefinitionArn).toBe(`${ARN}:task-definition/refs:${revision}`);

    // Clusters by name and ARN.
    for (const ref of ['refs', c.clusterArn]) {
      expect(((await ok(e.call('DescribeClusters', { clusters: [ref] }))).clusters as { clusterName: string }[]).map((x) => x.clusterName)).toEqual(['refs']);
      await ok(e.call('ListServices', { cluster: ref }));
    }
    // Services by name and ARN, with the cluster or (ARN) without.
    for (const body of [{ cluster: 'refs', services: ['web'] }, { cluster: 'refs', services: [s.serviceArn] }, { cluster: c.clusterArn, services: ['web'] }, { services: [s.serviceArn] }]) {
      const d = await ok(e.call('DescribeServices', body));
      expect((d.services as { serviceArn: string }[]).map((x) => x.serviceArn), JSON.stringify(body)).toEqual([s.serviceArn]);
    }
    await ok(e.call('UpdateService', { service: s.serviceArn, desiredCount: 0 }));
    // Task definitions by family, family:revision and ARN.
    for (const ref of ['refs', `refs:${revision}`, td.taskDefinitionArn]) {
      const d = await ok(e.call('DescribeTaskDefinition', { taskDefinition: ref }));
      expect((d.taskDefinition as { taskDefinitionArn: string }).taskDefinitionArn, String(ref)).toBe(td.taskDefinitionArn);
    }
    await fails(e.call('DescribeTaskDefinition', { taskDefinition: 'refs:999' }), 'ClientException');
    // Tasks by id and ARN; the cluster may be left out when the ARN names it.
    for (const body of [{ cluster: 'refs', tasks: [id] }, { cluster: 'refs', tasks: [taskArn] }, { tasks: [taskArn] }, { cluster: c.clusterArn, tasks: [id] }]) {
      const d = await ok(e.call('DescribeTasks', body));
      expect((d.tasks as { taskArn: string }[]).map((x) => x.taskArn), JSON.stringify(body)).toEqual([taskArn]);
      expect(d.failures).toEqual([]);
    }
    const missing = await ok(e.call('DescribeTasks', { cluster: 'refs', tasks: ['0'.repeat(32)] }));
    expect(missing.failures).toEqual([{ arn: `${ARN}:task/refs/${'0'.repeat(32)}`, reason: 'MISSING' }]);
    // StopTask by ARN alone.
    const stopped = await ok(e.call('StopTask', { task: taskArn, reason: 'by ARN' }));
    expect(stopped.task).toMatchObject({ taskArn, desiredStatus: 'STOPPED', stoppedReason: 'by ARN' });
    // ListTasks answers ARNs of the cluster; stopped ones with desiredStatus STOPPED.
    const listed = await ok(e.call('ListTasks', { cluster: 'refs', desiredStatus: 'STOPPED' }));
    expect(listed.taskArns).toContain(taskArn);
  });

  it('does not take an ARN of another cluster for a same-named resource of the cluster given', async () => {
    if (!env) return;
    await cluster('twin-a');
    await cluster('twin-b');
    await taskDef('twin');
    await service('twin-a', 'svc', 'twin');
    await service('twin-b', 'svc', 'twin');
    const bArn = `${ARN}:service/twin-b/svc`;
    const update = await e.call('UpdateService', { cluster: 'twin-a', service: bArn, desiredCount: 4 });
    expect.soft(update.status, `UpdateService of ${bArn} with cluster twin-a: ${update.text.slice(0, 300)}`).toBe(400);
    const counts = async (c: string) => ((await ok(e.call('DescribeServices', { cluster: c, services: ['svc'] }))).services as { desiredCount: number }[])[0]!.desiredCount;
    expect.soft(await counts('twin-a'), 'twin-a/svc untouched').toBe(0);
    expect(await counts('twin-b')).toBe(0);
    // The ARN and the cluster disagree: a clear error naming both, never the same-named service of the cluster given.
    const d = await e.call('DescribeServices', { cluster: 'twin-a', services: [bArn] });
    expect({ status: d.status, type: d.type }, d.text).toEqual({ status: 400, type: 'InvalidParameterException' });
    expect(d.text).toContain('twin-b');
  });

  // ---- g. tags -------------------------------------------------------------------------------------------

  it('tags clusters, task definitions, services and tasks, and describes them with include TAGS', async () => {
    if (!env) return;
    await cluster('tags');
    const td = await taskDef('tags');
    const s = await service('tags', 'web', 'tags');
    const [task] = await runTasks('tags', 'tags');
    const resources = [`${ARN}:cluster/tags`, td.taskDefinitionArn as string, s.serviceArn as string, task!.taskArn as string];
    for (const resourceArn of resources) {
      await ok(e.call('TagResource', { resourceArn, tags: [{ key: 'team', value: 'infra' }, { key: 'env', value: 'lab' }] }));
      const listed = await ok(e.call('ListTagsForResource', { resourceArn }));
      expect(sortTags(listed.tags), resourceArn).toEqual([{ key: 'env', value: 'lab' }, { key: 'team', value: 'infra' }]);
      await ok(e.call('UntagResource', { resourceArn, tagKeys: ['env'] }));
      expect((await ok(e.call('ListTagsForResource', { resourceArn }))).tags, resourceArn).toEqual([{ key: 'team', value: 'infra' }]);
    }
    const want = [{ key: 'team', value: 'infra' }];
    const cl = await ok(e.call('DescribeClusters', { clusters: ['tags'], include: ['TAGS'] }));
    expect((cl.clusters as { tags: unknown }[])[0]!.tags).toEqual(want);
    const sv = await ok(e.call('DescribeServices', { cluster: 'tags', services: ['web'], include: ['TAGS'] }));
    expect((sv.services as { tags: unknown }[])[0]!.tags).toEqual(want);
    const tk = await ok(e.call('DescribeTasks', { cluster: 'tags', tasks: [task!.taskArn], include: ['TAGS'] }));
    expect((tk.tasks as { tags: unknown }[])[0]!.tags).toEqual(want);
    const tdd = await ok(e.call('DescribeTaskDefinition', { taskDefinition: td.taskDefinitionArn, include: ['TAGS'] }));
    expect(tdd.tags).toEqual(want);
    // Without include TAGS, no tags.
    const plain = await ok(e.call('DescribeTaskDefinition', { taskDefinition: td.taskDefinitionArn }));
    expect(plain.tags ?? []).toEqual([]);
    const plainSvc = await ok(e.call('DescribeServices', { cluster: 'tags', services: ['web'] }));
    expect((plainSvc.services as { tags?: unknown[] }[])[0]!.tags ?? []).toEqual([]);
    // Tags given at creation, and on an unknown resource.
    const made = await ok(e.call('CreateCluster', { clusterName: 'tags-born', tags: [{ key: 'born', value: 'yes' }] }));
    expect((made.cluster as { tags: unknown }).tags).toEqual([{ key: 'born', value: 'yes' }]);
    const ghost = await e.call('ListTagsForResource', { resourceArn: `${ARN}:cluster/ghost` });
    expect(ghost.status, ghost.text).toBe(400);
    expect(ghost.type).toMatch(/NotFoundException$/);
  });

  // ---- waiters -------------------------------------------------------------------------------------------

  it('satisfies the SDK waiters tasks-stopped, services-stable and services-inactive', async () => {
    if (!env) return;
    const sdk = e.client();
    await cluster('waiters');
    await taskDef('waiters');
    const run = await sdk.send(new RunTaskCommand({ cluster: 'waiters', taskDefinition: 'waiters' }));
    const taskArn = run.tasks![0]!.taskArn!;
    await sdk.send(new StopTaskCommand({ cluster: 'waiters', task: taskArn }));
    const w = { client: sdk, maxWaitTime: 30, minDelay: 1, maxDelay: 1 };
    expect((await waitUntilTasksStopped(w, { cluster: 'waiters', tasks: [taskArn] })).state).toBe('SUCCESS');
    await sdk.send(new CreateServiceCommand({ cluster: 'waiters', serviceName: 'idle', taskDefinition: 'waiters', desiredCount: 0 }));
    expect((await waitUntilServicesStable(w, { cluster: 'waiters', services: ['idle'] })).state).toBe('SUCCESS');
    await sdk.send(new DeleteServiceCommand({ cluster: 'waiters', service: 'idle' }));
    expect((await waitUntilServicesInactive(w, { cluster: 'waiters', services: ['idle'] })).state).toBe('SUCCESS');
  });

  // ---- container instances (a scripted agent's node) ---------------------------------------------------

  it('serves a registered node as a container instance (list, describe, attributes, state, tags, tasks-running, deregister)', async () => {
    if (!env) return;
    await cluster('default');
    await taskDef('node-web');
    const agent = new ScriptedAgent(e.agents);
    try {
      agent.send({ $case: 'hello', value: hello() });
      const nodeId = (await agent.next('welcome')).nodeId;
      const ciArn = `${ARN}:container-instance/default/${nodeId}`;
      expect((await ok(e.call('ListContainerInstances', { cluster: 'default' }))).containerInstanceArns).toContain(ciArn);
      expect((await ok(e.call('ListContainerInstances', { cluster: 'default', status: 'DRAINING' }))).containerInstanceArns).not.toContain(ciArn);
      for (const body of [{ cluster: 'default', containerInstances: [nodeId] }, { containerInstances: [ciArn] }]) {
        const d = await ok(e.call('DescribeContainerInstances', body));
        expect(d.failures, JSON.stringify(body)).toEqual([]);
        expect((d.containerInstances as Record<string, unknown>[])[0]).toMatchObject({ containerInstanceArn: ciArn, status: 'ACTIVE', agentConnected: true });
        expect(typeof (d.containerInstances as { registeredAt: unknown }[])[0]!.registeredAt).toBe('number');
      }
      await ok(e.call('PutAttributes', { cluster: 'default', attributes: [{ name: 'shelf', value: 'top', targetId: ciArn }] }));
      const attrs = await ok(e.call('ListAttributes', { cluster: 'default', targetType: 'container-instance', attributeName: 'shelf' }));
      expect(attrs.attributes).toEqual([{ name: 'shelf', value: 'top', targetType: 'container-instance', targetId: ciArn }]);
      expect((await ok(e.call('ListAttributes', { cluster: 'default', targetType: 'container-instance', attributeName: 'shelf', attributeValue: 'bottom' }))).attributes).toEqual([]);
      await ok(e.call('DeleteAttributes', { cluster: 'default', attributes: [{ name: 'shelf', targetId: ciArn }] }));
      expect((await ok(e.call('ListAttributes', { cluster: 'default', targetType: 'container-instance', attributeName: 'shelf' }))).attributes).toEqual([]);
      await ok(e.call('TagResource', { resourceArn: ciArn, tags: [{ key: 'rack', value: '1' }] }));
      const tagged = await ok(e.call('DescribeContainerInstances', { cluster: 'default', containerInstances: [nodeId], include: ['TAGS'] }));
      expect((tagged.containerInstances as { tags: unknown }[])[0]!.tags).toEqual([{ key: 'rack', value: '1' }]);

      // A task placed on the node, reported RUNNING: the tasks-running waiter sees it.
      const [task] = await runTasks('default', 'node-web');
      expect(task!.containerInstanceArn).toBe(ciArn);
      const id = (task!.taskArn as string).split('/').pop()!;
      await applyTaskStatusReports(e.ctx, nodeId, [{ taskId: id, lastStatus: 'RUNNING', stopCode: '', stoppedReason: '', containers: [{ name: 'app', lastStatus: 'RUNNING', image: '' }] } as never]);
      const w = { client: e.client(), maxWaitTime: 30, minDelay: 1, maxDelay: 1 };
      expect((await waitUntilTasksRunning(w, { cluster: 'default', tasks: [task!.taskArn as string] })).state).toBe('SUCCESS');
      expect((await ok(e.call('ListTasks', { cluster: 'default', containerInstance: nodeId }))).taskArns).toContain(task!.taskArn);

      const drained = await ok(e.call('UpdateContainerInstancesState', { cluster: 'default', containerInstances: [ciArn], status: 'DRAINING' }));
      expect((drained.containerInstances as { status: string }[])[0]!.status).toBe('DRAINING');
      expect((await ok(e.call('ListContainerInstances', { cluster: 'default', status: 'DRAINING' }))).containerInstanceArns).toContain(ciArn);
      await ok(e.call('UpdateContainerInstancesState', { cluster: 'default', containerInstances: [nodeId], status: 'ACTIVE' }));
      await fails(e.call('DeregisterContainerInstance', { cluster: 'default', containerInstance: nodeId }), 'ClientException');
      const gone = await ok(e.call('DeregisterContainerInstance', { cluster: 'default', containerInstance: ciArn, force: true }));
      expect((gone.containerInstance as { status: string }).status).toBe('INACTIVE');
    } finally {
      agent.end();
    }
  });

  it('keeps one value per attribute name on a container instance (a node label and PutAttributes of the same name)', async () => {
    if (!env) return;
    await cluster('default');
    const agent = new ScriptedAgent(e.agents);
    try {
      agent.send({ $case: 'hello', value: hello({ labels: { room: 'attic' } }) });
      const nodeId = (await agent.next('welcome')).nodeId;
      const ciArn = `${ARN}:container-instance/default/${nodeId}`;
      const listRoom = async () => (await ok(e.call('ListAttributes', { cluster: 'default', targetType: 'container-instance', attributeName: 'room' }))).attributes;
      expect(await listRoom()).toEqual([{ name: 'room', value: 'attic', targetType: 'container-instance', targetId: ciArn }]);
      // ECS keeps one value per attribute name and target: a put replaces it.
      await ok(e.call('PutAttributes', { cluster: 'default', attributes: [{ name: 'room', value: 'cellar', targetId: ciArn }] }));
      expect(await listRoom()).toEqual([{ name: 'room', value: 'cellar', targetType: 'container-instance', targetId: ciArn }]);
      const d = await ok(e.call('DescribeContainerInstances', { cluster: 'default', containerInstances: [nodeId] }));
      expect(((d.containerInstances as { attributes: { name: string }[] }[])[0]!.attributes).filter((a) => a.name === 'room')).toEqual([{ name: 'room', value: 'cellar' }]);
    } finally {
      agent.end();
    }
  });
});

/** Per-key rate limits and the per-address failed-authentication limit (one store: they are in memory). */
describe('ECS endpoint limits', () => {
  let env: BackendEnv | undefined;
  let e: EcsTestPlane;
  beforeAll(async () => {
    env = await BACKENDS[0]!.setup();
    e = await startEcsControlPlane(env!, log, { ecsRateLimit: 5, authFailureLimit: 10 });
  });
  afterAll(async () => {
    await e?.close();
    await env?.cleanup();
  });

  it('throttles a key past --ecs-rate-limit (ThrottlingException), others not', async () => {
    const busy = await e.makeKey('viewer', { name: 'busy' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => e.call('ListClusters', {}, { key: busy })));
    const throttled = answers.filter((r) => r.type === 'ThrottlingException');
    expect(throttled.length).toBeGreaterThanOrEqual(10);
    expect(throttled.every((r) => r.status === 400 && r.headers['x-amzn-errortype'] === 'ThrottlingException')).toBe(true);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(5);
    await ok(e.call('ListClusters', {}));
    // The SDK backs off and retries: it gets there.
    const sdk = e.client(busy, { maxAttempts: 10 });
    const r = await Promise.all(Array.from({ length: 3 }, () => sdk.send(new ListClustersCommand({}))));
    expect(r.every((x) => Array.isArray(x.clusterArns))).toBe(true);
  });

  it('refuses an address for a minute after 10 failed authentications', async () => {
    for (let i = 0; i < 10; i++) {
      await fails(e.call('ListClusters', {}, { key: { accessKeyId: 'BKIA0000000000000000', secretAccessKey: 'x' } }), 'UnrecognizedClientException');
    }
    const locked = await fails(e.call('ListClusters', {}), 'ThrottlingException');
    expect(locked.message).toMatch(/failed authentications/);
  });

  const ok = async (p: Promise<RawResponse>) => {
    const r = await p;
    expect(r.status, r.text).toBe(200);
    return r.body!;
  };
  const fails = async (p: Promise<RawResponse>, type: string) => {
    const r = await p;
    expect({ status: r.status, type: r.type }, r.text).toEqual({ status: 400, type });
    return r;
  };
});

const rev = (arn: string) => Number(arn.split(':').pop());
const sortTags = (tags: unknown) => [...(tags as { key: string; value: string }[])].sort((a, b) => a.key.localeCompare(b.key));

// ---- docs/ecs-api.md -------------------------------------------------------------------------------------

interface OperationResult {
  op: EcsOperationName;
  implemented: boolean;
  readonly: boolean;
  status: number;
  type?: string;
}

/** Operation groups, in order; the first match wins; what matches none goes under "Other". */
const GROUPS: [string, RegExp][] = [
  ['Clusters', /^(Create|Delete|Describe|List|Update)Clusters?$|^UpdateClusterSettings$|^PutClusterCapacityProviders$/],
  ['Capacity providers', /CapacityProvider/],
  ['Daemons', /Daemon/],
  ['Task definitions', /TaskDefinition(s|Families)?$/],
  ['Tasks', /^(Run|Start|Stop|Describe|List)Tasks?$|TaskProtection$|^ExecuteCommand$/],
  ['Services', /^(Create|Update|Delete|Describe|List)Services?$|^ListServicesByNamespace$/],
  ['Service deployments and revisions', /ServiceDeployments?$|ServiceRevisions$/],
  ['Task sets', /TaskSets?$|PrimaryTaskSet$/],
  ['Container instances and attributes', /ContainerInstances?(State)?$|Attributes$|^UpdateContainerAgent$/],
  ['Tags', /^(Tag|Untag)Resource$|^ListTagsForResource$/],
  ['Account settings', /AccountSetting/],
  ['Express gateway services', /ExpressGatewayService/],
  ['ECS container agent calls', /^DiscoverPollEndpoint$|^Submit\w+StateChanges?$/],
];

function renderEcsApiDoc(results: OperationResult[]): string {
  const supported = results.filter((r) => r.implemented);
  const partial = supported.filter((r) => ECS_PARTIAL[r.op]);
  const full = supported.length - partial.length;
  const unsupported = results.length - supported.length;
  const groups = new Map<string, OperationResult[]>();
  for (const [name] of GROUPS) groups.set(name, []);
  groups.set('Other', []);
  for (const r of results) groups.get(GROUPS.find(([, re]) => re.test(r.op))?.[0] ?? 'Other')!.push(r);
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const answer = (r: OperationResult) => (r.status === 200 ? '200' : `${r.status} ${r.type ?? '(no __type)'}`);
  const tables: string[] = [];
  for (const [name, rows] of groups) {
    if (rows.length === 0) continue;
    const s = rows.filter((r) => r.implemented).length;
    tables.push(`### ${name} (${s} of ${rows.length} supported)\n`);
    tables.push('| Operation | Support | Kind | Least role | Answer to `{}` | Notes |');
    tables.push('|---|---|---|---|---|---|');
    for (const r of rows) {
      const support = !r.implemented ? 'unsupported' : ECS_PARTIAL[r.op] ? 'partial' : 'supported';
      const role = r.implemented ? (OPERATION_ROLE[r.op] ?? 'admin') : '-';
      const note = r.implemented ? (ECS_PARTIAL[r.op] ?? '') : '';
      tables.push(`| ${r.op} | ${support} | ${r.readonly ? 'read' : 'write'} | ${role} | ${answer(r)} | ${cell(note)} |`);
    }
    tables.push('');
  }
  return `# The ECS API

<!--
  Generated by apps/control-plane/src/ecs-api.itest.ts (its "every operation" test) from what the endpoint
  answered; every run writes it. Do not edit it by hand: change the prose in that test, or the endpoint
  (apps/control-plane/src/ecs-api/ecs-operations.ts: ECS_HANDLERS, ECS_PARTIAL), then run
  \`node scripts/gen-ecs-api-doc.mjs\`.
-->

Berth's control plane speaks the Amazon ECS API itself: the ECS API of 2014-11-13 (AWS JSON 1.1, requests
signed with Signature Version 4) on its own port, 7402 by default (\`--ecs-port PORT|off\`; TLS with the
cluster's certificate unless the control plane runs \`--insecure\`). Requests are \`POST\` to any path with
\`X-Amz-Target: ${ECS_TARGET_PREFIX}.<Operation>\`, as the AWS CLI, the SDKs and the
tools built on them send them; they are checked against the ECS model and served by the same application
services as Berth's own API and CLI.

## Summary

Of the ${results.length} operations in the ECS model, Berth supports **${supported.length}**: ${full} as ECS does
and ${partial.length} partially (the notes below say what they lack). The other **${unsupported}** answer HTTP 400
\`UnsupportedFeatureException\` naming the operation, so a tool sees a clear, typed error rather than a
failure of the endpoint.

| | Operations |
|---|---|
| supported | ${full} |
| partial | ${partial.length} |
| unsupported | ${unsupported} |
| total | ${results.length} |

## Operations

"Kind" is the ECS model's read-only flag; "Least role" the access key role an operation needs (viewer: the
read-only ones; operator: tasks, task definitions, services, tags, container instance state and attributes;
admin: clusters, deregistering container instances). "Answer to \`{}\`" is what the endpoint answered this test for an empty request
with an admin key: 200, or the typed error a request without its required fields gets.

${tables.join('\n')}
## Pointing tools at Berth

### Credentials

Access keys are Berth API tokens of the AWS kind: an access key id (\`BKIA\` and 16 hex digits) and a
secret access key, bound to a role (admin, operator or viewer) and optionally to one cluster:

\`\`\`sh
berth apitoken create ci-deploy --role operator --aws            # prints the key id and the secret, once
berth apitoken create lab-ops --role operator --aws --only-cluster lab
berth aws-profile [--profile berth] [--role operator]            # makes a key and writes an AWS CLI profile
\`\`\`

\`berth aws-profile\` writes the profile into \`~/.aws/config\` (\`region\`, \`endpoint_url\`, \`ca_bundle\`: the
cluster CA, copied next to it) and \`~/.aws/credentials\` (the key pair, mode 0600). Then
\`aws --profile berth ecs list-clusters\` works. \`berth apitoken ls\` lists keys, \`berth apitoken rm ID\` revokes
one (refused from its next request on). \`--ttl 90d\` makes a key that expires (\`ExpiredTokenException\` after).

### AWS CLI

\`\`\`sh
export AWS_CA_BUNDLE=DATA_DIR/pki/ca.crt          # the cluster CA (or --ca-bundle, or ca_bundle in the profile)
aws ecs list-clusters --endpoint-url https://HOST:7402 --region local
aws ecs run-task --endpoint-url https://HOST:7402 --region local --cluster default --task-definition web
\`\`\`

With a profile from \`berth aws-profile\` the endpoint comes from \`endpoint_url\`; the AWS CLI before 2.13
(botocore before 1.31) ignores \`endpoint_url\` in profiles: give \`--endpoint-url\` there.

### SDKs

- JavaScript (v3): \`new ECSClient({ endpoint: 'https://HOST:7402', region: 'local' })\`, with the credentials
  from the usual chain (a profile, \`AWS_ACCESS_KEY_ID\` / \`AWS_SECRET_ACCESS_KEY\`); trust the cluster CA with
  \`NODE_EXTRA_CA_CERTS=DATA_DIR/pki/ca.crt\`.
- Any SDK or tool that reads the shared endpoint settings: \`AWS_ENDPOINT_URL_ECS=https://HOST:7402\` in the
  environment, or in \`~/.aws/config\` \`endpoint_url\` in the profile (every service) or in an \`ecs =\` block of
  the \`[services NAME]\` section the profile names with \`services = NAME\`.
- Python: \`boto3.client('ecs', endpoint_url='https://HOST:7402', region_name='local', verify='DATA_DIR/pki/ca.crt')\`.

The SDK paginators, waiters and typed exceptions work as against ECS (this test runs the JavaScript SDK's).

### Infrastructure as code (how to configure; not tested in CI)

Terraform's AWS provider, pointed at Berth for ECS only:

\`\`\`hcl
provider "aws" {
  region                      = "local"
  access_key                  = "BKIA..."   # or a profile from berth aws-profile
  secret_key                  = "..."
  custom_ca_bundle            = "DATA_DIR/pki/ca.crt"
  skip_credentials_validation = true        # no STS at Berth
  skip_requesting_account_id  = true        # no STS / IAM at Berth
  skip_region_validation      = true        # "local" is not an AWS region
  skip_metadata_api_check     = true
  endpoints {
    ecs = "https://HOST:7402"
  }
}
\`\`\`

Only ECS resources (\`aws_ecs_cluster\`, \`aws_ecs_task_definition\`, \`aws_ecs_service\`) can work, and only
with what the table above supports; anything that calls another AWS service (IAM roles, load balancers,
CloudWatch log groups) still goes to AWS or fails.

## ARNs

Berth answers ECS's long ARN format, and takes names, short ids or full ARNs wherever ECS does:

| Resource | ARN |
|---|---|
| cluster | \`arn:aws:ecs:REGION:ACCOUNT:cluster/NAME\` |
| service | \`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME\` |
| task | \`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID\` (ID: 32 hex digits) |
| task definition | \`arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION\` |
| container instance (node) | \`arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID\` |

REGION is \`local\` and ACCOUNT \`000000000000\` unless the control plane is started with \`--region NAME\`
(\`BERTH_REGION\`) and \`--account-id ID\` (\`BERTH_ACCOUNT_ID\`): set the region to the one your tools are
configured with if they compare. Requests may be signed for any region (the credential scope's region is
not checked); the scope's service must be \`ecs\`.

## Errors

Errors are AWS JSON 1.1 errors: a JSON body \`{"__type": NAME, "message": ...}\` and NAME in the
\`x-amzn-ErrorType\` header, with ECS's exception names, so the SDKs raise their typed exceptions
(\`ClusterNotFoundException\`, \`ServiceNotFoundException\`, \`InvalidParameterException\`, \`ClientException\`,
\`AccessDeniedException\`, \`UnsupportedFeatureException\`, ...).

- **400**: the request's fault. Validation against the ECS model (\`InvalidParameterException\`, naming the
  field: \`containerDefinitions[0].portMappings[0].hostPort: must be an integer\`); malformed JSON
  (\`SerializationException\`); an unknown operation or target, or a method other than POST
  (\`UnknownOperationException\`); authentication (\`MissingAuthenticationTokenException\`,
  \`IncompleteSignatureException\`, \`InvalidSignatureException\` (also a request time more than 5 minutes off),
  \`UnrecognizedClientException\` for an unknown or deleted key, \`ExpiredTokenException\`); a role or cluster
  the key does not have (\`AccessDeniedException\`); throttling (\`ThrottlingException\`).
- **413** \`RequestEntityTooLargeException\`: a body over 1 MiB.
- **500** \`ServerException\`: a fault in Berth (details in the control-plane log, not the answer).
- **503** \`ServerException\`: the database is unavailable; the SDKs retry.

Responses carry \`x-amzn-RequestId\` (also in the control-plane log) and \`Date\`; timestamps are epoch
seconds, as ECS sends them.

## Pagination

As ECS: \`maxResults\` and an opaque \`nextToken\`; the SDK paginators work.

| List | Default page | Most per page |
|---|---|---|
| ListServices | 10 | 100 |
| ListTasks, ListClusters, ListContainerInstances, ListTaskDefinitions, ListTaskDefinitionFamilies, ListAttributes | 100 | 100 |
| ListServiceDeployments | 20 | 100 |

Describe calls take at most: DescribeServices 10 services, DescribeTasks 100 tasks, DescribeClusters 100
clusters, DescribeServiceDeployments 20; more is \`InvalidParameterException\`.

## Waiters

The SDK and CLI waiters \`services-stable\`, \`services-inactive\`, \`tasks-running\` and \`tasks-stopped\` work
(\`aws ecs wait services-stable ...\`; this test runs the JavaScript SDK's \`tasks-stopped\`, \`services-stable\`
and \`services-inactive\`; \`tasks-running\` needs a node to run the task). Stopped tasks stay describable for
an hour by default, as in ECS, so \`tasks-stopped\` sees them.

## Fields outside the ECS model

A request member the ECS model does not have (a typo, a field of a newer or older API) is ignored, not
refused; the answer names such fields in the \`x-berth-ignored-fields\` response header (and the
control-plane log), e.g. \`x-berth-ignored-fields: containerDefinitions[0].bogus\`.

## Limits and security

- Each access key may make \`--ecs-rate-limit\` calls per second (default 100); past it,
  \`ThrottlingException\` (the SDKs back off and retry). An address that fails authentication 10 times in a
  minute is refused for a minute.
- Secret access keys are kept sealed with the secrets keyring (\`--secrets-key-file\`, as secrets are): SigV4
  needs the secret itself to check a signature, so only a hash would not do. A key rotation seals them again
  with the new first key.
- The role and cluster of a key are checked on every call, as for API tokens: viewer keys only read;
  cluster-scoped keys act only on their cluster (task definitions, account-wide as in ECS, stay usable).
`;
}
