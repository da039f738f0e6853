import type { AgentServiceClient, ControlServiceClient } from '@berth/proto';
import { PROTOCOL_VERSION, type ConnectRequest, type DesiredState } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { credentials, Client, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import { BACKENDS, controlCall, startOnBackend } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

describe.each(BACKENDS)('agent protocol and control API on $name', (backend) => {
  let cp: ControlPlane | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  let control: ControlServiceClient;
  let agents: AgentServiceClient;
  const call = controlCall(() => control);

  beforeAll(async () => {
    const env = await backend.setup();
    if (!env) return;
    cleanup = env.cleanup;
    ({ cp, control, agents } = await startOnBackend(env, log));
  });
  afterAll(async () => {
    control?.close();
    agents?.close();
    await cp?.close();
    await cleanup?.();
  });

  it('registers a node, sends its desired state, and follows a task through its life', async () => {
    if (!cp) return;
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello() });
    const welcome = await agent.next('welcome');
    expect(welcome).toMatchObject({ heartbeatIntervalMs: 1000, protocolVersion: PROTOCOL_VERSION });
    expect(welcome.nodeId).toMatch(/^n-[0-9a-f]{16}$/);
    const first = await agent.next('desiredState');
    expect(first.tasks).toEqual([]);

    const nodes = await call<{ containerInstances: { nodeId: string; agentConnected: boolean; attributes: { name: string; value: string }[]; remainingResources: { name: string; integerValue: number }[] }[] }>('describeContainerInstances', { cluster: '', containerInstances: [] });
    const node = nodes.containerInstances.find((n) => n.nodeId === welcome.nodeId)!;
    expect(node.agentConnected).toBe(true);
    expect(node.attributes).toContainEqual({ name: 'ecs.cpu-architecture', value: 'arm64' });
    expect(node.attributes).toContainEqual({ name: 'room', value: 'attic' });

    await call('registerTaskDefinition', {
      taskDefinitionJson: JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'web', image: 'busybox', memory: 1000, portMappings: [{ containerPort: 80, hostPort: 8080 }] }] }),
    });
    const run = await call<{ tasks: { taskArn: string; lastStatus: string; containerInstanceArn: string; placementReason: string }[]; failures: { reason: string }[] }>('runTask', { cluster: '', taskDefinition: 'web', count: 2, startedBy: 'test', group: '' });
    // One static host port per node: the second task waits for a node that has the port free.
    expect(run.failures).toEqual([]);
    expect(run.tasks.map((t) => t.lastStatus)).toEqual(['PENDING', 'PROVISIONING']);
    expect(run.tasks[1]!.placementReason).toContain('is already using port 8080/tcp');
    expect(run.tasks[1]!.containerInstanceArn).toBe('');
    await call('stopTask', { cluster: '', task: run.tasks[1]!.taskArn, reason: 'not needed' });
    const taskArn = run.tasks[0]!.taskArn;
    const taskId = taskArn.split('/').pop()!;
    expect(run.tasks[0]!.lastStatus).toBe('PENDING');
    expect(run.tasks[0]!.containerInstanceArn).toContain(welcome.nodeId);

    const withTask = await agent.next('desiredState', (d: DesiredState) => d.tasks.length === 1);
    expect(withTask.generation).toBeGreaterThan(first.generation);
    expect(withTask.tasks[0]).toMatchObject({ taskId, family: 'web', revision: 1, desiredStatus: 'RUNNING' });
    expect(JSON.parse(withTask.tasks[0]!.taskDefinitionJson).containerDefinitions[0].image).toBe('busybox');
    agent.send({ $case: 'ack', value: { generation: withTask.generation } });

    agent.send({
      $case: 'taskStatus',
      value: {
        tasks: [
          {
            taskId,
            lastStatus: 'RUNNING',
            stopCode: '',
            stoppedReason: '',
            at: new Date(),
            warnings: [],
            healthStatus: '',
            containers: [{ name: 'web', runtimeId: 'abc123', lastStatus: 'RUNNING', reason: '', healthStatus: '', restartCount: 0, exitCode: undefined, networkBindings: [{ bindIp: '0.0.0.0', containerPort: 80, hostPort: 8080, protocol: 'tcp' }] }],
          },
        ],
      },
    });
    type Described = { tasks: { lastStatus: string; desiredStatus: string; stopCode: string; stoppedReason: string; startedAt?: Date; stoppedAt?: Date; containers: { runtimeId: string; exitCode?: number; networkBindings: { hostPort: number }[] }[] }[] };
    const running = await waitFor('task RUNNING', async () => {
      const d = await call<Described>('describeTasks', { cluster: '', tasks: [taskArn] });
      return d.tasks[0]!.lastStatus === 'RUNNING' ? d.tasks[0] : undefined;
    });
    expect(running.containers[0]).toMatchObject({ runtimeId: 'abc123', networkBindings: [{ hostPort: 8080 }] });
    expect(running.startedAt).toBeInstanceOf(Date);

    await call('stopTask', { cluster: '', task: taskId, reason: 'done testing' });
    const stopping = await agent.next('desiredState', (d: DesiredState) => d.tasks[0]?.desiredStatus === 'STOPPED');
    expect(stopping.tasks[0]!.taskId).toBe(taskId);
    agent.send({
      $case: 'taskStatus',
      value: { tasks: [{ taskId, lastStatus: 'STOPPED', stopCode: '', stoppedReason: '', at: new Date(), containers: [{ name: 'web', runtimeId: 'abc123', lastStatus: 'STOPPED', exitCode: 143, reason: '', healthStatus: '', restartCount: 0, networkBindings: [] }], warnings: [], healthStatus: '' }] },
    });
    await agent.next('desiredState', (d: DesiredState) => d.tasks.length === 0);
    const stopped = (await call<Described>('describeTasks', { cluster: '', tasks: [taskId] })).tasks[0]!;
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: 'done testing' });
    expect(stopped.containers[0]!.exitCode).toBe(143);
    expect(stopped.stoppedAt).toBeInstanceOf(Date);

    // A stale report (RUNNING after STOPPED) is rejected, never applied.
    agent.send({ $case: 'taskStatus', value: { tasks: [{ taskId, lastStatus: 'RUNNING', stopCode: '', stoppedReason: '', at: new Date(), containers: [], warnings: [], healthStatus: '' }] } });
    agent.send({ $case: 'heartbeat', value: { cpuPercent: 3, memoryUsedMib: 100, memoryTotalMib: 4096, diskUsedMib: 1, diskTotalMib: 2, load1: 0, load5: 0, load15: 0, dockerReachable: true } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await call<Described>('describeTasks', { cluster: '', tasks: [taskId] })).tasks[0]!.lastStatus).toBe('STOPPED');

    // Agent goes away: the node is marked disconnected; it comes back with the same identity.
    agent.end();
    await waitFor('node disconnected', async () => {
      const d = await call<typeof nodes>('describeContainerInstances', { cluster: '', containerInstances: [welcome.nodeId] });
      return d.containerInstances[0]?.agentConnected === false;
    });
    const again = new ScriptedAgent(agents);
    again.send({ $case: 'hello', value: hello({ nodeId: welcome.nodeId, appliedGeneration: stopping.generation }) });
    expect((await again.next('welcome')).nodeId).toBe(welcome.nodeId);
    again.end();

    const ls = await call<{ taskArns: string[] }>('listTasks', { cluster: '', family: 'web', desiredStatus: 'STOPPED' });
    expect(ls.taskArns).toContain(taskArn);
  });

  it('refuses an agent speaking only a newer protocol, naming the side to upgrade', async () => {
    if (!cp) return;
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ protocolVersion: PROTOCOL_VERSION + 1, minProtocolVersion: PROTOCOL_VERSION + 1 }) });
    const end = await agent.closed();
    expect(end.code).toBe(status.FAILED_PRECONDITION);
    expect(end.details).toMatch(new RegExp(`agent speaks protocol ${PROTOCOL_VERSION + 1} and this control plane \\(.*\\) speaks .*${PROTOCOL_VERSION}: upgrade the control plane`));
  });

  it('closes only the stream that sends something out of order or unparseable', async () => {
    if (!cp) return;
    const good = new ScriptedAgent(agents);
    good.send({ $case: 'hello', value: hello({ facts: { ...hello().facts!, hostname: 'good' } }) });
    await good.next('welcome');

    const early = new ScriptedAgent(agents);
    early.send({ $case: 'heartbeat', value: { cpuPercent: 1, memoryUsedMib: 1, memoryTotalMib: 1, diskUsedMib: 1, diskTotalMib: 1, load1: 0, load5: 0, load15: 0, dockerReachable: true } });
    expect(await early.closed()).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'the first message must be a hello, got heartbeat' });

    const empty = new ScriptedAgent(agents);
    empty.stream.write({} as ConnectRequest);
    expect((await empty.closed()).code).toBe(status.INVALID_ARGUMENT);

    // Raw bytes that are not a ConnectRequest at all.
    const raw = new Client(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
    const garbage = raw.makeBidiStreamRequest('/berth.v1.AgentService/Connect', (b: Buffer) => b, (b: Buffer) => b);
    const garbageEnd = new Promise<number>((resolve) => garbage.on('status', (s) => resolve(s.code)));
    garbage.on('error', () => {});
    garbage.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(await garbageEnd).not.toBe(status.OK);
    raw.close();

    // The good session still works.
    const ls = await call<{ taskArns: string[] }>('listTasks', { cluster: '' });
    expect(ls).toBeDefined();
    good.send({ $case: 'heartbeat', value: { cpuPercent: 1, memoryUsedMib: 1, memoryTotalMib: 1, diskUsedMib: 1, diskTotalMib: 1, load1: 0, load5: 0, load15: 0, dockerReachable: true } });
    await new Promise((r) => setTimeout(r, 200));
    expect(good.ended).toBeUndefined();
    good.end();
  });

  it('answers bad API input with INVALID_ARGUMENT or NOT_FOUND and a reason', async () => {
    if (!cp) return;
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: ServiceError) => ({ code: e.code, details: e.details }));
    expect(await err(call('runTask', { cluster: '', taskDefinition: 'nope', count: 1 }))).toMatchObject({ code: status.NOT_FOUND, details: expect.stringContaining('family nope not found') });
    expect(await err(call('runTask', { cluster: '', taskDefinition: 'web', count: 11 }))).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'count: must be 1-10, got 11' });
    expect(await err(call('registerTaskDefinition', { taskDefinitionJson: '{"family": ' }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await err(call('registerTaskDefinition', { taskDefinitionJson: JSON.stringify({ family: 'x', containerDefinitions: [{ name: 'a', image: 'b', memory: 8, portMappings: [{ containerPort: 70000 }] }] }) }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('containerDefinitions[0].portMappings[0].containerPort: must be 1-65535, got 70000'),
    });
    expect(await err(call('stopTask', { cluster: '', task: 'not-a-task', reason: '' }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await err(call('stopTask', { cluster: '', task: 'f'.repeat(32), reason: '' }))).toMatchObject({ code: status.NOT_FOUND });
    expect(await err(call('listTasks', { cluster: 'nope' }))).toMatchObject({ code: status.NOT_FOUND, details: 'cluster nope not found' });
    expect(await err(call('listTasks', { cluster: '', nextToken: 'garbage!' }))).toMatchObject({ code: status.INVALID_ARGUMENT });
    const missing = await call<{ failures: { reason: string }[] }>('describeTasks', { cluster: '', tasks: ['0'.repeat(32)] });
    expect(missing.failures).toEqual([{ arn: '0'.repeat(32), reason: 'MISSING', detail: '' }]);
  });
});
