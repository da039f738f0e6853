import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BerthError} from '@berth/domain';
import { systemClock } from '@berth/domain';
import { AgentServiceClient } from '@berth/proto';
import { credentials, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';
import { createClusterOp, deleteClusterOp, describeClustersOp, listClustersOp } from './services/clusters.js';
import type { AppContext } from './services/context.js';
import { changeAttributesOp, deregisterContainerInstanceOp, describeContainerInstancesOp, updateContainerInstancesStateOp } from './services/nodes.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { describeTasksOp, runTaskOp } from './services/tasks.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

/** Drain and activate, node attributes, deregistering nodes, deleting clusters. */
describe('node and cluster administration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-admin-'));
  const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  const random = { next: Math.random, bytes: (n: number) => randomBytes(n) };
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let ctx: AppContext;

  beforeAll(async () => {
    cp = await startControlPlane({ listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 60_000, resyncIntervalMs: 60_000, random, log });
    agents = new AgentServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
    ctx = { db: cp.db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random, log, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'app', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 16 }] }));
  });
  afterAll(async () => {
    agents.close();
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const join_ = async (cluster = '') => {
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ cluster }) });
    return { agent, nodeId: (await agent.next('welcome')).nodeId };
  };
  const kindOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: BerthError) => `${e.kind}: ${e.message}`);

  it('places nothing new on a DRAINING node until it is ACTIVE again', async () => {
    const { agent, nodeId } = await join_();
    const drained = await updateContainerInstancesStateOp(ctx, { containerInstances: [nodeId, 'n-nope'], status: 'DRAINING' });
    expect(drained.found[0]!.node.status).toBe('DRAINING');
    expect(drained.failures).toEqual([{ arn: 'n-nope', reason: 'MISSING', detail: '' }]);
    const waiting = await runTaskOp(ctx, { taskDefinition: 'app' });
    expect(waiting.tasks.map((t) => [t.lastStatus, t.nodeId])).toEqual([['PROVISIONING', null]]);
    expect(waiting.tasks[0]!.placementReason).toContain(`node ${nodeId} is DRAINING`);
    await updateContainerInstancesStateOp(ctx, { containerInstances: [nodeId], status: 'ACTIVE' });
    expect((await runTaskOp(ctx, { taskDefinition: 'app' })).tasks[0]!.nodeId).toBe(nodeId);
    await cp.placement.pass();
    expect((await describeTasksOp(ctx, { tasks: [waiting.tasks[0]!.id] })).found[0]).toMatchObject({ lastStatus: 'PENDING', nodeId });
    expect(await kindOf(updateContainerInstancesStateOp(ctx, { containerInstances: [nodeId], status: 'PAUSED' }))).toMatch(/^invalid: status: must be ACTIVE or DRAINING/);
    agent.end();
  });

  it('puts and deletes node attributes, refusing built-in names', async () => {
    const { agent, nodeId } = await join_();
    await changeAttributesOp(ctx, { attributes: [{ name: 'zone', value: 'attic', targetType: 'container-instance', targetId: nodeId }, { name: 'gpu', value: '', targetType: '', targetId: nodeId }] }, 'put');
    const attrs = async () => (await describeContainerInstancesOp(ctx, { containerInstances: [nodeId] })).found[0]!.node.attributes;
    expect(await attrs()).toEqual({ zone: 'attic', gpu: '' });
    await changeAttributesOp(ctx, { attributes: [{ name: 'zone', value: '', targetType: '', targetId: nodeId }] }, 'delete');
    expect(await attrs()).toEqual({ gpu: '' });
    const bad = await kindOf(changeAttributesOp(ctx, { attributes: [{ name: 'ecs.cpu-architecture', value: 'x', targetType: 'task', targetId: '' }] }, 'put'));
    expect(bad).toContain('attributes[0].name: must not start with ecs. or berth. (built-in attributes; berth.ingress is the exception)');
    expect(bad).toContain('attributes[0].targetType: must be container-instance');
    expect(bad).toContain('attributes[0].targetId: is required');
    expect(await kindOf(changeAttributesOp(ctx, { attributes: [{ name: 'a', value: 'b', targetType: '', targetId: 'n-missing' }] }, 'put'))).toMatch(/^not-found: node n-missing not found/);
    agent.end();
  });

  it('deregisters a node only when forced while it has tasks, and refuses its agent afterwards', async () => {
    const { agent, nodeId } = await join_();
    await updateContainerInstancesStateOp(ctx, { containerInstances: [nodeId], status: 'ACTIVE' });
    // Make this node the only placeable one.
    for (const other of (await describeContainerInstancesOp(ctx, { containerInstances: [] })).found) {
      if (other.node.id !== nodeId && other.node.status === 'ACTIVE') await updateContainerInstancesStateOp(ctx, { containerInstances: [other.node.id], status: 'DRAINING' });
    }
    const { tasks } = await runTaskOp(ctx, { taskDefinition: 'app' });
    expect(tasks[0]!.nodeId).toBe(nodeId);
    expect(await kindOf(deregisterContainerInstanceOp(ctx, { containerInstance: nodeId }))).toMatch(/^conflict: node .* has 1 task\(s\) that are not STOPPED/);
    const gone = await deregisterContainerInstanceOp(ctx, { containerInstance: nodeId, force: true });
    expect(gone.node.status).toBe('INACTIVE');
    expect((await describeTasksOp(ctx, { tasks: [tasks[0]!.id] })).found[0]).toMatchObject({ desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: `Node ${nodeId} deregistered` });
    agent.end();

    const again = new ScriptedAgent(agents);
    again.send({ $case: 'hello', value: hello({ nodeId }) });
    const end = await again.closed();
    expect(end.code).toBe(status.FAILED_PRECONDITION);
    expect(end.details).toMatch(/was deregistered; to join again as a new node/);
  });

  it('deletes a cluster only when it is empty, keeping it INACTIVE', async () => {
    await createClusterOp(ctx, 'lab');
    expect(await kindOf(deleteClusterOp(ctx, 'default'))).toBe('invalid: cluster: the default cluster cannot be deleted');
    const { agent, nodeId } = await join_('lab');
    expect(await kindOf(deleteClusterOp(ctx, 'lab'))).toBe('conflict: cluster lab has 1 registered node(s): deregister them first (berth node deregister)');
    agent.end();
    await deregisterContainerInstanceOp(ctx, { cluster: 'lab', containerInstance: nodeId });
    expect((await deleteClusterOp(ctx, 'arn:aws:ecs:local:000000000000:cluster/lab')).status).toBe('INACTIVE');
    expect((await listClustersOp(ctx)).map((c) => c.name)).not.toContain('lab');
    expect((await describeClustersOp(ctx, ['lab'])).missing).toEqual([]);
    expect(await kindOf(runTaskOp(ctx, { cluster: 'lab', taskDefinition: 'app' }))).toBe('not-found: cluster lab not found');
    expect((await createClusterOp(ctx, 'lab')).status).toBe('ACTIVE');
  });
});
