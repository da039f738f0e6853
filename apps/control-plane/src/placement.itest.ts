import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/domain';
import type { AgentServiceClient } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import type { AppContext } from './services/context.js';
import { placeTasks } from './services/placement.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { describeTasksOp, runTaskOp } from './services/tasks.js';
import { BACKENDS, startOnBackend, type BackendEnv } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';
import { insertTasks, bumpGenerations, nodeAllocations, type NewTask } from '@berth/store';

const log = pino({ level: 'silent' });

/** The scheduler inside the control plane, on both stores: RunTask, the plan applier, PROVISIONING. */
describe.each(BACKENDS)('placement on $name', (backend) => {
  let env: BackendEnv | undefined;
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let ctx: AppContext;
  const joined: ScriptedAgent[] = [];

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    ({ cp, agents } = await startOnBackend(env, log, { placement: { resyncMs: 100 } }));
    ctx = { db: cp.db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random: { next: Math.random, bytes: (n) => randomBytes(n) }, log, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'big', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 1024 }] }));
  });
  afterAll(async () => {
    if (!env) return;
    for (const a of joined) a.end();
    agents.close();
    await cp.close();
    await env.cleanup();
  });

  const join = async (over: Parameters<typeof hello>[0] = {}) => {
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello(over) });
    joined.push(agent);
    return { agent, nodeId: (await agent.next('welcome')).nodeId };
  };

  it('two appliers racing for one node never overcommit it: the loser\'s placement is rejected and scheduled again', async () => {
    if (!env) return;
    // A node with room for exactly 3 tasks of 1024 MiB (3840 registered), in a cluster of its own.
    await cp.db.sql`INSERT INTO clusters (name) VALUES ('race') ON CONFLICT DO NOTHING`;
    const { nodeId } = await join({ cluster: 'race', labels: { room: 'race' } });
    const demand = { cpu: 0, memoryMib: 1024, hostPorts: [] };
    const commit = (tag: string) => async (tx: Parameters<Parameters<typeof placeTasks>[3]>[0], nodeIds: string[]) => {
      const rows: NewTask[] = nodeIds.map((n) => ({
        id: randomBytes(16).toString('hex'), cluster: 'race', family: 'big', revision: 1, nodeId: n, desiredStatus: 'RUNNING', lastStatus: 'PENDING',
        spec: { family: 'big', containerDefinitions: [] }, overrides: {}, cpu: 0, memory: 1024, hostPorts: [], containers: [], startedBy: tag, group: 'family:big',
      }));
      await insertTasks(tx, rows);
      await bumpGenerations(tx, [...new Set(nodeIds)]);
      return rows;
    };
    // Both schedule on the same (empty) snapshot: each plans 2 tasks on the node; only 3 fit.
    const [a, b] = await Promise.all([
      placeTasks(ctx, 'race', { count: 2, demand, group: 'family:big' }, commit('a')),
      placeTasks(ctx, 'race', { count: 2, demand, group: 'family:big' }, commit('b')),
    ]);
    expect(a.placed + b.placed).toBe(3);
    expect([a.unplacedFailureReason, b.unplacedFailureReason].filter(Boolean)).toEqual(['RESOURCE:MEMORY']);
    const alloc = await nodeAllocations(cp.db.sql, [nodeId]);
    expect(alloc.get(nodeId)!.memory).toBe(3072);
  });

  it('RunTask: a task no node can take waits PROVISIONING with the reason, and is placed when capacity appears', async () => {
    if (!env) return;
    await cp.db.sql`INSERT INTO clusters (name) VALUES ('grow') ON CONFLICT DO NOTHING`;
    const run = await runTaskOp(ctx, { cluster: 'grow', taskDefinition: 'big', count: 2, placementConstraints: [{ type: 'memberOf', expression: 'attribute:room == attic' }] });
    expect(run.failures).toEqual([]);
    expect(run.tasks.map((t) => t.lastStatus)).toEqual(['PROVISIONING', 'PROVISIONING']);
    expect(run.tasks[0]!.placementReason).toBe('no node in the cluster');
    // A node of the wrong room joins: the reason says so.
    await join({ cluster: 'grow', labels: { room: 'garage' } });
    await waitFor('the reason to name the constraint', async () => {
      const { found } = await describeTasksOp(ctx, { cluster: 'grow', tasks: run.tasks.map((t) => t.id) });
      return found.every((t) => t.placementReason.includes('does not match attribute:room == attic'));
    }, 10_000);
    // The right node joins: both are placed on it, and its agent is told.
    const { agent, nodeId } = await join({ cluster: 'grow', labels: { room: 'attic' } });
    await waitFor('both placed', async () => {
      const { found } = await describeTasksOp(ctx, { cluster: 'grow', tasks: run.tasks.map((t) => t.id) });
      return found.every((t) => t.lastStatus === 'PENDING' && t.nodeId === nodeId && t.placementReason === '');
    }, 10_000);
    const desired = await waitFor('the desired set with both', async () => {
      const d = await agent.next('desiredState');
      return d.tasks.length === 2 ? d : undefined;
    }, 10_000);
    expect(desired.tasks.map((t) => t.taskId).sort()).toEqual(run.tasks.map((t) => t.id).sort());
  });

  it('RunTask refuses a bad constraint or strategy naming the field, and writes nothing', async () => {
    if (!env) return;
    await expect(runTaskOp(ctx, { cluster: 'grow', taskDefinition: 'big', placementConstraints: [{ type: 'memberOf', expression: 'attribute:room in [a' }] })).rejects.toThrow(
      /placementConstraints\[0\]\.expression: expected "," or "\]" at character 21/,
    );
    await expect(runTaskOp(ctx, { cluster: 'grow', taskDefinition: 'big', placementStrategy: [{ type: 'binpack', field: 'disk' }] })).rejects.toThrow(/placementStrategy\[0\]\.field: binpack takes cpu or memory/);
  });
});
