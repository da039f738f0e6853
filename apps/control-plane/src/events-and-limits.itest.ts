import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/domain';
import { AgentServiceClient, ControlServiceClient, WatchEventsRequest, type Event, type WatchEventsResponse } from '@berth/proto';
import { waitFor } from '@berth/testing';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONTROL_REQUEST_BYTES } from './grpc/control-service.js';
import { startControlPlane, type ControlPlane } from './server.js';
import { createClusterOp, describeClustersOp, updateClusterSettingsOp } from './services/clusters.js';
import type { AppContext } from './services/context.js';
import { createServiceOp } from './services/services.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { applyTaskStatusReports, describeTasksOp, listTasksOp, runTaskOp, stopTaskOp } from './services/tasks.js';
import { BACKENDS, type BackendEnv } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

/** WatchEvents, batched status reports, ListTasks filters and paging, and request limits, on both stores. */
describe.each(BACKENDS)('events, status batches, lists and limits on $name', (backend) => {
  let env: BackendEnv | undefined;
  let cp: ControlPlane;
  let control: ControlServiceClient;
  let agents: AgentServiceClient;
  let ctx: AppContext;
  let agent: ScriptedAgent;
  let nodeId: string;

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    const random = { next: Math.random, bytes: (n: number) => randomBytes(n) };
    cp = await startControlPlane({
      listen: '127.0.0.1', grpcPort: 0, httpPort: 0, databaseUrl: env.databaseUrl, dataDir: env.dataDir,
      heartbeatIntervalMs: 60_000, resyncIntervalMs: 60_000, random, log,
      watch: { pollIntervalMs: 50, pageSize: 4, gapWaitMs: 500 },
    });
    control = new ControlServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
    agents = new AgentServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
    ctx = { db: cp.db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random, log, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'ev', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 8 }] }));
    agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello() });
    nodeId = (await agent.next('welcome')).nodeId;
  });
  afterAll(async () => {
    if (!env) return;
    agent.end();
    control.close();
    agents.close();
    await cp.close();
    await env.cleanup();
  });

  /** Reads a non-following WatchEvents stream to its end. */
  const readEvents = (req: Partial<WatchEventsRequest>) =>
    new Promise<Event[]>((resolve, reject) => {
      const out: Event[] = [];
      const s = control.watchEvents(WatchEventsRequest.fromPartial(req));
      s.on('data', (m: WatchEventsResponse) => out.push(m.event!));
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });

  it('sends recorded events in id order, from an id or the newest few, more than a page at a time', async () => {
    if (!env) return;
    const run = await runTaskOp(ctx, { taskDefinition: 'ev', count: 3 });
    expect(run.tasks).toHaveLength(3);
    const all = await readEvents({ cluster: 'default' });
    const ids = all.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(all.filter((e) => e.kind === 'task.placed').map((e) => e.subject)).toEqual(run.tasks.map((t) => t.id));
    expect(all.find((e) => e.kind === 'node.connected')?.subject).toBe(nodeId);
    const last2 = await readEvents({ cluster: 'default', last: 2 });
    expect(last2.map((e) => e.id)).toEqual(ids.slice(-2));
    const after = await readEvents({ cluster: 'default', afterId: ids[1]! });
    expect(after.map((e) => e.id)).toEqual(ids.slice(2));
    expect(JSON.parse(all[0]!.dataJson)).toBeTypeOf('object');
  });

  it('follows new events of its cluster only, and stops when cancelled', async () => {
    if (!env) return;
    await createClusterOp(ctx, 'other');
    const start = (await readEvents({ cluster: 'default', last: 1 }))[0]!.id;
    const seen: Event[] = [];
    const s = control.watchEvents(WatchEventsRequest.fromPartial({ cluster: 'default', afterId: start, follow: true }));
    s.on('data', (m: WatchEventsResponse) => seen.push(m.event!));
    const ended = new Promise<string>((resolve) => s.on('error', (e: ServiceError) => resolve(status[e.code])));
    const [task] = (await runTaskOp(ctx, { taskDefinition: 'ev' })).tasks;
    await stopTaskOp(ctx, { task: task!.id, reason: 'watching' });
    await waitFor('placed and stopping events', async () => seen.some((e) => e.kind === 'task.stopping') || undefined);
    expect(seen.map((e) => e.kind)).toEqual(['task.placed', 'task.stopping']);
    expect(seen.every((e) => e.cluster === 'default' && e.subject === task!.id)).toBe(true);
    s.cancel();
    expect(await ended).toBe('CANCELLED');
  });

  it('refuses a watch of an unknown cluster or with both afterId and last', async () => {
    if (!env) return;
    await expect(readEvents({ cluster: 'nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(readEvents({ cluster: 'default', afterId: 3, last: 3 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: 'last: give either afterId or last, not both' });
  });

  it('applies a batch of reports in order, rejecting impossible transitions and other nodes\' tasks', async () => {
    if (!env) return;
    const [a, b] = (await runTaskOp(ctx, { taskDefinition: 'ev', count: 2 })).tasks;
    const r = (taskId: string, lastStatus: string, exitCode?: number) => ({
      taskId, lastStatus, stopCode: '', stoppedReason: '', containers: [{ name: 'app', lastStatus, exitCode, image: '' }],
    });
    const changed = await applyTaskStatusReports(ctx, nodeId, [
      r(a!.id, 'RUNNING'),
      r(b!.id, 'RUNNING'),
      r(a!.id, 'STOPPED', 3),
      r(a!.id, 'RUNNING'), // after STOPPED: rejected
      r('f'.repeat(32), 'RUNNING'), // unknown: ignored
    ]);
    expect(changed).toBe(true);
    const d = await describeTasksOp(ctx, { tasks: [a!.id, b!.id] });
    const [ta, tb] = [d.found.find((t) => t.id === a!.id)!, d.found.find((t) => t.id === b!.id)!];
    expect(ta).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'EssentialContainerExited' });
    expect(ta.containers[0]).toMatchObject({ lastStatus: 'STOPPED', exitCode: 3, image: 'busybox' });
    expect(ta.startedAt).toBeInstanceOf(Date);
    expect(ta.stoppedAt).toBeInstanceOf(Date);
    expect(tb.lastStatus).toBe('RUNNING');
    const recorded = await readEvents({ cluster: 'default', last: 3 });
    expect(JSON.parse(recorded[2]!.dataJson)).toEqual({ from: 'RUNNING', to: 'STOPPED' });
    expect(recorded.map((e) => e.message)).toEqual([`task ${a!.id} PENDING -> RUNNING`, `task ${b!.id} PENDING -> RUNNING`, `task ${a!.id} RUNNING -> STOPPED`]);
    // Another node cannot report on these tasks.
    expect(await applyTaskStatusReports(ctx, 'n-0000000000000000', [r(b!.id, 'STOPPED')])).toBe(false);
    expect((await describeTasksOp(ctx, { tasks: [b!.id] })).found[0]!.lastStatus).toBe('RUNNING');
  });

  it('pages through tasks created in one transaction exactly once, and filters by service', async () => {
    if (!env) return;
    await createClusterOp(ctx, 'paging');
    const agent2 = new ScriptedAgent(agents);
    agent2.send({ $case: 'hello', value: hello({ cluster: 'paging' }) });
    await agent2.next('welcome');
    const made = (await runTaskOp(ctx, { cluster: 'paging', taskDefinition: 'ev', count: 10 })).tasks.map((t) => t.id);
    await expect(runTaskOp(ctx, { cluster: 'paging', taskDefinition: 'ev', count: 2, group: 'service:api' })).rejects.toThrow('group: "service:" groups belong to services');
    const withServices: AppContext = { ...ctx, servicesChanged: (c, names) => names?.forEach((n) => cp.services.enqueue(c, n)) };
    await createServiceOp(withServices, JSON.stringify({ cluster: 'paging', serviceName: 'api', taskDefinition: 'ev', desiredCount: 2 }));
    await waitFor('the service placed', async () => ((await listTasksOp(ctx, { cluster: 'paging', serviceName: 'api' })).items.length === 2 ? true : undefined), 10_000);
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await listTasksOp(ctx, { cluster: 'paging', maxResults: 3, nextToken });
      if (seen.length > 50) break; // a cursor that does not advance
      seen.push(...page.items.map((t) => t.id));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    expect(made.every((id) => seen.includes(id))).toBe(true);
    expect((await listTasksOp(ctx, { cluster: 'paging', serviceName: 'api' })).items).toHaveLength(2);
    expect((await listTasksOp(ctx, { cluster: 'paging', serviceName: 'web' })).items).toHaveLength(0);
    await expect(listTasksOp(ctx, { cluster: 'paging', serviceName: 'api', startedBy: 'me' })).rejects.toThrow('startedBy: cannot be combined with serviceName');
    agent2.end();
  });

  it('keeps each cluster\'s node-lost grace (ECS cluster settings), refusing bad values with the field', async () => {
    if (!env) return;
    const made = await createClusterOp(ctx, 'graceful', [{ name: 'nodeLostGraceSeconds', value: '90' }, { name: 'containerInsights', value: 'enabled' }]);
    expect(made.nodeLostGraceSeconds).toBe(90);
    expect((await describeClustersOp(ctx, [])).found[0]!.nodeLostGraceSeconds).toBe(10);
    expect((await updateClusterSettingsOp(ctx, 'graceful', [{ name: 'nodeLostGraceSeconds', value: '5' }])).nodeLostGraceSeconds).toBe(5);
    const bad = updateClusterSettingsOp(ctx, 'graceful', [{ name: 'nodeLostGraceSeconds', value: '0' }, { name: 'color', value: 'blue' }]);
    await expect(bad).rejects.toThrow(/settings\[0\]\.value: nodeLostGraceSeconds must be a whole number of seconds, 1-86400, got "0"[\s\S]*settings\[1\]\.name: must be nodeLostGraceSeconds/);
    expect((await describeClustersOp(ctx, ['graceful'])).found[0]!.nodeLostGraceSeconds).toBe(5);
  });

  it('answers an oversize or malformed request with INVALID_ARGUMENT and the reason', async () => {
    if (!env) return;
    const big = JSON.stringify({ family: 'big', containerDefinitions: [{ name: 'a', image: 'x', memory: 8, command: ['x'.repeat(MAX_CONTROL_REQUEST_BYTES)] }] });
    const err = await new Promise<ServiceError>((resolve) =>
      control.registerTaskDefinition({ taskDefinitionJson: big }, (e) => resolve(e!)),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^request is \d+ bytes; the control API accepts at most 1048576 bytes per request$/);
    const garbage = await new Promise<ServiceError>((resolve) =>
      control.makeUnaryRequest('/berth.v1.ControlService/DescribeTasks', () => Buffer.from([0x0a, 0xff, 0xff, 0xff]), (b: Buffer) => b, {}, (e) => resolve(e!)),
    );
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/^request could not be parsed as DescribeTasks: /);
  });
});
