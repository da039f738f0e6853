import type { DesiredTask, TaskStatus } from '@berth/proto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ContainerEvent, ContainerInspection, ContainerRuntime, CreateSpec, ManagedContainer } from '../runtime/container-runtime.js';
import { TaskEngine } from './task-engine.js';

/** An in-memory engine: containers by id, states the test moves, an event stream the test feeds. */
class FakeRuntime implements ContainerRuntime {
  containers = new Map<string, { spec: CreateSpec; state: string; exitCode?: number; health?: 'healthy' | 'unhealthy' | 'starting'; startedAt?: Date }>();
  log: string[] = [];
  private onEvent: ((e: ContainerEvent) => void) | undefined;
  private next = 0;
  failStartOf = new Set<string>();
  /** While set, every start waits for it (a slow engine: the start is in flight). */
  startGate: Promise<void> | undefined;
  /** The timeout each stop was asked for (undefined: the container's own). */
  stopTimeouts: (number | undefined)[] = [];
  removed: string[] = [];

  async version() { return 'fake'; }
  async info() { return { version: 'fake', arch: 'amd64', rootDir: '/var/lib/docker' }; }
  async list(): Promise<ManagedContainer[]> {
    return [...this.containers].map(([id, c]) => ({
      id,
      taskId: c.spec.labels['berth.task-id']!,
      containerName: c.spec.labels['berth.container-name']!,
      state: c.state,
      exitCode: c.exitCode,
      health: c.health,
      ...(c.spec.labels['berth.role'] ? { role: c.spec.labels['berth.role'] } : {}),
    }));
  }
  missingImages = new Set<string>();
  async ensureImage(image: string) {
    if (this.missingImages.has(image)) throw Object.assign(new Error(`pull access denied for ${image}`), { statusCode: 404 });
  }
  async ensureVolume() {}
  async removeTaskVolumes() {}
  async ensurePauseImage() {}
  async create(spec: CreateSpec) {
    const id = `c${++this.next}`;
    this.containers.set(id, { spec, state: 'created' });
    this.log.push(`create ${spec.labels['berth.container-name']}`);
    return id;
  }
  async start(id: string) {
    await this.startGate;
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error(`No such container: ${id}`), { statusCode: 404 });
    const name = c.spec.labels['berth.container-name']!;
    if (this.failStartOf.has(name)) throw Object.assign(new Error('exec: "nope": not found'), { statusCode: 400 });
    c.state = 'running';
    c.exitCode = undefined;
    c.startedAt = new Date();
    if (c.spec.healthcheck) c.health = 'starting';
    this.log.push(`start ${name}`);
  }
  async inspect(id: string): Promise<ContainerInspection | undefined> {
    const c = this.containers.get(id);
    return c && { id, state: c.state, exitCode: c.exitCode, oomKilled: false, ports: [], health: c.health, startedAt: c.startedAt };
  }
  async stop(id: string, timeoutSec?: number) {
    this.stopTimeouts.push(timeoutSec);
    const c = this.containers.get(id);
    if (c && c.state === 'running') {
      c.state = 'exited';
      c.exitCode = 143;
      this.log.push(`stop ${c.spec.labels['berth.container-name']}`);
    }
  }
  async remove(id: string) {
    const c = this.containers.get(id);
    if (c && this.containers.delete(id)) this.removed.push(c.spec.labels['berth.container-name']!);
  }
  async usage() { return undefined; }
  subscribe(onEvent: (e: ContainerEvent) => void) {
    this.onEvent = onEvent;
    return () => undefined;
  }
  byName(name: string): [string, { state: string; exitCode?: number; health?: 'healthy' | 'unhealthy' | 'starting' }] {
    return [...this.containers].find(([, c]) => c.spec.labels['berth.container-name'] === name)!;
  }
  exit(name: string, code: number) {
    const [id, c] = this.byName(name);
    c.state = 'exited';
    c.exitCode = code;
    this.onEvent?.({ id, action: 'die' });
  }
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

function desired(taskId: string, containerDefinitions: object[], networkMode = 'bridge'): DesiredTask {
  return { taskId, taskArn: `arn:t/${taskId}`, cluster: 'default', family: 'f', revision: 1, desiredStatus: 'RUNNING', taskDefinitionJson: JSON.stringify({ family: 'f', networkMode, containerDefinitions }), secrets: [], secretsError: '' };
}

function setup() {
  const rt = new FakeRuntime();
  const reports: TaskStatus[] = [];
  const engine = new TaskEngine(rt, { report: (s) => reports.push(s), finished: () => undefined, dockerReachable: () => undefined }, pino({ level: 'silent' }), {
    mapping: { bindIp: '127.0.0.1', pauseImage: 'p:1' },
    pullPolicy: 'if-not-present',
  });
  const last = (taskId: string) => [...reports].reverse().find((r) => r.taskId === taskId);
  return { rt, engine, reports, last };
}

describe('TaskEngine', () => {
  it('creates every container, then starts each when its dependsOn condition holds', async () => {
    const { rt, engine, last } = setup();
    engine.setConnected(true);
    engine.start();
    engine.setDesired([desired('t1', [
      { name: 'web', image: 'x', dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }, { containerName: 'migrate', condition: 'SUCCESS' }] },
      { name: 'migrate', image: 'x', essential: false, dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }] },
      { name: 'db', image: 'x', healthCheck: { command: ['CMD', 'true'] } },
    ])], true);
    await until('db started', () => rt.log.includes('start db'));
    expect(rt.log.slice(0, 3).sort()).toEqual(['create db', 'create migrate', 'create web']);
    await new Promise((r) => setTimeout(r, 300));
    expect(rt.log).not.toContain('start migrate'); // db is not healthy yet
    rt.byName('db')[1].health = 'healthy';
    await until('migrate started', () => rt.log.includes('start migrate'));
    expect(rt.log).not.toContain('start web');
    rt.exit('migrate', 0);
    await until('web started', () => rt.log.includes('start web'));
    await until('RUNNING reported', () => last('t1')?.lastStatus === 'RUNNING');
    expect(last('t1')!.healthStatus).toBe('HEALTHY');
    engine.stop();
  });

  it('fails the task when a SUCCESS dependency exits non-zero, removing what it created', async () => {
    const { rt, engine, last } = setup();
    engine.setConnected(true);
    engine.start();
    engine.setDesired([desired('t2', [
      { name: 'app', image: 'x', dependsOn: [{ containerName: 'init', condition: 'SUCCESS' }] },
      { name: 'init', image: 'x', essential: false },
    ])], true);
    await until('init started', () => rt.log.includes('start init'));
    rt.exit('init', 3);
    await until('STOPPED reported', () => last('t2')?.lastStatus === 'STOPPED');
    expect(last('t2')).toMatchObject({ stopCode: 'TaskFailedToStart' });
    expect(last('t2')!.stoppedReason).toMatch(/^DependencyFailed: app depends on init \(SUCCESS\), which exited with code 3/);
    expect(rt.containers.size).toBe(0);
    expect(rt.log).not.toContain('start app');
    engine.stop();
  });

  it('reports a container that cannot start as TaskFailedToStart with the engine\'s reason', async () => {
    const { rt, engine, last } = setup();
    rt.failStartOf.add('app');
    engine.setConnected(true);
    engine.start();
    engine.setDesired([desired('t3', [{ name: 'app', image: 'x' }])], true);
    await until('STOPPED reported', () => last('t3')?.lastStatus === 'STOPPED');
    expect(last('t3')!.stoppedReason).toBe('CannotStartContainerError: app: exec: "nope": not found');
    expect(last('t3')!.containers[0]!.reason).toBe(last('t3')!.stoppedReason);
    engine.stop();
  });

  it('reports an image that cannot be pulled on the container that needed it', async () => {
    const { rt, engine, last } = setup();
    rt.missingImages.add('nope:1');
    engine.setConnected(true);
    engine.start();
    engine.setDesired([desired('t6', [{ name: 'ok', image: 'x' }, { name: 'app', image: 'nope:1' }])], true);
    await until('STOPPED reported', () => last('t6')?.lastStatus === 'STOPPED');
    expect(last('t6')).toMatchObject({ stopCode: 'TaskFailedToStart', stoppedReason: 'CannotPullContainerError: nope:1: pull access denied for nope:1' });
    expect(last('t6')!.containers.map((c) => c.reason)).toEqual(['', 'CannotPullContainerError: nope:1: pull access denied for nope:1']);
    expect(rt.log).toEqual([]); // nothing created
    engine.stop();
  });

  it('connected: an essential exit stops the task; away: it is restarted in place and counted', async () => {
    const { rt, engine, last } = setup();
    engine.setConnected(false);
    engine.start();
    engine.setDesired([desired('t4', [{ name: 'app', image: 'x' }])], false);
    await until('running', () => last('t4')?.lastStatus === 'RUNNING');
    rt.exit('app', 137);
    await until('restarted', () => last('t4')?.containers[0]?.restartCount === 1 && rt.byName('app')[1].state === 'running');
    expect(last('t4')!.lastStatus).toBe('RUNNING');
    engine.setConnected(true);
    rt.exit('app', 1);
    await until('stopped', () => last('t4')?.lastStatus === 'STOPPED');
    expect(last('t4')).toMatchObject({ stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' });
    expect(last('t4')!.containers[0]).toMatchObject({ exitCode: 1, lastStatus: 'STOPPED', restartCount: 1 });
    engine.stop();
  });

  it('a task dropped while its start is in flight: its removal waits for the start, then leaves nothing running', async () => {
    const { rt, engine, reports } = setup();
    let open!: () => void;
    rt.startGate = new Promise((r) => (open = r));
    engine.setConnected(true);
    engine.start();
    engine.setDesired([desired('t7', [{ name: 'slow', image: 'x', stopTimeout: 7 }])], true);
    await until('created, its start waiting on the engine', () => rt.log.includes('create slow'));
    engine.setDesired([desired('t8', [{ name: 'app', image: 'x' }])], true); // the control plane dropped t7
    await new Promise((r) => setTimeout(r, 100));
    expect([...rt.containers.values()].filter((c) => c.spec.labels['berth.task-id'] === 't7').length).toBe(1); // not pulled from under its start
    open();
    await until('t7 removed', () => ![...rt.containers.values()].some((c) => c.spec.labels['berth.task-id'] === 't7'));
    await until('t8 running', () => reports.some((r) => r.taskId === 't8' && r.lastStatus === 'RUNNING'));
    expect(rt.log.filter((l) => l.endsWith(' slow'))).toEqual(['create slow', 'start slow', 'stop slow']);
    expect(rt.removed).toEqual(['slow']);
    // Its definition is gone: the container stops within its own stop timeout (given at create), not a fixed one.
    expect(rt.stopTimeouts).toEqual([undefined]);
    expect(reports.filter((r) => r.taskId === 't7' && r.lastStatus === 'STOPPED')).toEqual([]);
    engine.stop();
  });

  it('forgets every task the control plane no longer lists: what it holds follows the desired set', async () => {
    const { rt, engine, last } = setup();
    engine.setConnected(false);
    engine.start();
    engine.setDesired([
      desired('w1', [{ name: 'one', image: 'x', firelensConfiguration: { type: 'fluentbit' } }]),
      desired('w2', [{ name: 'two', image: 'x' }]),
    ], false);
    await until('both running', () => last('w1')?.lastStatus === 'RUNNING' && last('w2')?.lastStatus === 'RUNNING');
    rt.exit('two', 1); // away: restarted in place, and counted
    await until('restarted', () => last('w2')?.containers[0]?.restartCount === 1);
    expect(engine.tracked()).toMatchObject({ desired: 2, statuses: 2, restarts: 1, seen: 2, warned: 1 });
    // The control plane comes back without them (they were replaced elsewhere): nothing of them is kept.
    engine.setDesired([], true);
    expect(engine.tracked()).toMatchObject({ desired: 0, statuses: 0, finished: 0, restarts: 0, seen: 0, warned: 0 });
    engine.stop();
  });

  it('awsvpc: the namespace holder starts first and goes last', async () => {
    const { rt, engine, last } = setup();
    engine.setConnected(true);
    engine.start();
    const t = desired('t5', [{ name: 'app', image: 'x' }], 'awsvpc');
    engine.setDesired([t], true);
    await until('running', () => last('t5')?.lastStatus === 'RUNNING');
    expect(rt.log).toEqual(['create .pause', 'start .pause', 'create app', 'start app']);
    expect(rt.byName('app')[1]).toBeDefined();
    engine.setDesired([{ ...t, desiredStatus: 'STOPPED' }], true);
    await until('stopped', () => last('t5')?.lastStatus === 'STOPPED');
    expect(rt.log.slice(4)).toEqual(['stop app']);
    expect(rt.containers.size).toBe(0);
    engine.stop();
  });
});
