// A simulated fleet against a real control plane (a process, on its embedded store): agents
// register, heartbeat, take their desired state; a partitioned agent is seen disconnected and
// comes back as the same node; a killed agent's stream ends at once and a revived one hellos
// with its node id and its tasks, and nothing is started twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServiceClient, DescribeContainerInstancesRequest, ListTasksRequest, RegisterTaskDefinitionRequest, RunTaskRequest, type ContainerInstance } from '@berth/proto';
import { freePort, waitFor } from '@berth/testing';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlCall } from './control-call.js';
import { Fleet } from './fleet.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const AGENTS = 60;

describe('a simulated fleet against a real control plane', () => {
  const work = mkdtempSync(join(tmpdir(), 'berth-fleet-'));
  let cp: ChildProcess;
  let output = '';
  let httpPort = 0;
  let control: ControlServiceClient;
  let fleet: Fleet;

  const call = <Res>(method: string, req: unknown): Promise<Res> => controlCall(control)<Res>(method, req);
  const nodes = async () => (await call<{ containerInstances: ContainerInstance[] }>('describeContainerInstances', DescribeContainerInstancesRequest.fromPartial({ cluster: '' }))).containerInstances;
  const live = async () => ((await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { agents: number }).agents;

  beforeAll(async () => {
    const grpcPort = await freePort();
    httpPort = await freePort();
    cp = spawn(process.execPath, [join(repoRoot, 'apps/control-plane/dist/main.js'), '--insecure', '--listen', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--data-dir', join(work, 'cp'), '--heartbeat-interval', '1', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cp.stdout!.on('data', (d) => (output += d));
    cp.stderr!.on('data', (d) => (output += d));
    await waitFor('the control plane', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok ?? false, 60_000).catch((err) => {
      throw new Error(`${err.message}\n${output}`);
    });
    control = new ControlServiceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    fleet = new Fleet({ server: `127.0.0.1:${grpcPort}`, agents: AGENTS, connections: 3, startDelayMs: 50 });
    await fleet.start(500);
  });
  afterAll(async () => {
    fleet?.close();
    control?.close();
    cp?.kill('SIGTERM');
    await new Promise((r) => cp?.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  });

  it('every agent registers as its own node and heartbeats', async () => {
    await waitFor('every agent to be connected', async () => (await live()) === AGENTS, 30_000);
    expect(fleet.count('connected')).toBe(AGENTS);
    const all = await nodes();
    expect(all).toHaveLength(AGENTS);
    expect(new Set(all.map((n) => n.hostname)).size).toBe(AGENTS);
    await waitFor('heartbeats', async () => fleet.agents.every((a) => a.counters.heartbeats >= 2), 10_000);
    // The control plane counts them, and how long each took to handle (GET /metrics, Prometheus text).
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain(`berth_agent_sessions ${AGENTS}\n`);
    expect(Number(/berth_heartbeats_total (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(AGENTS * 2);
    expect(Number(/berth_heartbeat_handling_seconds_count (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(AGENTS * 2);
    expect(Number(/berth_event_loop_lag_seconds_count (\d+)/.exec(metrics)![1])).toBeGreaterThan(0);
  });

  it('runs tasks placed on the fleet through the scheduler', async () => {
    await call('registerTaskDefinition', RegisterTaskDefinitionRequest.fromPartial({ taskDefinitionJson: JSON.stringify({ family: 'sim', containerDefinitions: [{ name: 'main', image: 'busybox', memory: 32 }] }) }));
    await call('runTask', RunTaskRequest.fromPartial({ taskDefinition: 'sim', count: 10 }));
    await waitFor('10 tasks running on simulated nodes', () => fleet.agents.reduce((n, a) => n + a.running().length, 0) === 10, 30_000);
    const { taskArns } = await call<{ taskArns: string[] }>('listTasks', ListTasksRequest.fromPartial({ family: 'sim', desiredStatus: 'RUNNING' }));
    expect(taskArns).toHaveLength(10);
  });

  it('a partitioned agent is seen disconnected, and after healing it is the same node again', async () => {
    const agent = fleet.agents[0]!;
    const before = await live();
    fleet.partition([0]);
    await waitFor('the control plane to notice the partition', async () => (await live()) === before - 1, 20_000);
    expect((await nodes()).find((n) => n.nodeId === agent.nodeId)!.agentConnected).toBe(false);
    fleet.heal([0]);
    await waitFor('the agent to be back', async () => (await live()) === before && agent.state === 'connected', 30_000);
    expect(await nodes()).toHaveLength(AGENTS);
    expect((await nodes()).find((n) => n.nodeId === agent.nodeId)!.agentConnected).toBe(true);
  });

  it('a killed agent revives as the same node with its tasks, nothing started twice', async () => {
    const index = fleet.agents.findIndex((a) => a.running().length > 0);
    const agent = fleet.agents[index]!;
    const tasks = agent.running();
    const before = await live();
    fleet.kill([index]);
    await waitFor('the stream end to be seen', async () => (await live()) === before - 1, 10_000);
    fleet.revive([index]);
    await waitFor('the agent to be back', async () => (await live()) === before && agent.state === 'connected', 30_000);
    expect(agent.running()).toEqual(tasks);
    expect(await nodes()).toHaveLength(AGENTS);
    const { taskArns } = await call<{ taskArns: string[] }>('listTasks', ListTasksRequest.fromPartial({ family: 'sim', desiredStatus: 'RUNNING' }));
    expect(taskArns).toHaveLength(10);
    expect(fleet.agents.reduce((n, a) => n + a.running().length, 0)).toBe(10);
  });
});
