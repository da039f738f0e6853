import type { TaskDefinitionSpec } from '@berth/domain';
import type { ContainerStatus, DesiredTask, TaskStatus } from '@berth/proto';
import type { Logger } from 'pino';
import type { ContainerRuntime, ManagedContainer } from '../runtime/container-runtime.js';
import { isEssential, toCreateSpec, type MappingOptions } from '../runtime/create-spec.js';
import { diff, type Action, type DesiredView } from './diff.js';

/** Retry pacing for the engine, in one place. */
export const RECONCILE_RETRY_MS = 5_000;
export const RESYNC_INTERVAL_MS = 30_000;
export const APPLY_CONCURRENCY = 4;

export interface EngineHooks {
  /** A task's status changed (coalesced per task by the reporter). */
  report(status: TaskStatus): void;
  /** A task reached STOPPED and is finished for good on this node. */
  finished(status: TaskStatus): void;
  /** The engine could or could not be reached. */
  dockerReachable(ok: boolean, reason?: string): void;
}

interface Desired {
  task: DesiredTask;
  spec: TaskDefinitionSpec;
}

/**
 * Drives containers toward the desired set, level-triggered: every trigger
 * (new desired state, Docker event, timer) re-lists the engine and applies
 * diff(desired, actual). A Docker API error is never taken for a container
 * exit: the action is retried on the next pass.
 */
export class TaskEngine {
  private desired = new Map<string, Desired>();
  private fresh = false;
  private finished = new Set<string>();
  private readonly statuses = new Map<string, TaskStatus>();
  private running = false;
  private again = false;
  private retrySoon = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly hooks: EngineHooks,
    private readonly log: Logger,
    private readonly mapping: MappingOptions,
  ) {}

  /** Tasks finished before a restart: never started again. */
  restoreFinished(finished: Iterable<TaskStatus>): void {
    for (const s of finished) {
      this.finished.add(s.taskId);
      this.statuses.set(s.taskId, s);
    }
  }

  /** A new desired set. `fresh`: it came from the control plane in this session. */
  setDesired(tasks: DesiredTask[], fresh: boolean): void {
    const next = new Map<string, Desired>();
    for (const task of tasks) {
      try {
        next.set(task.taskId, { task, spec: JSON.parse(task.taskDefinitionJson) as TaskDefinitionSpec });
      } catch (err) {
        this.log.error({ taskId: task.taskId, err }, 'desired task has an unreadable definition; skipped');
      }
    }
    this.desired = next;
    this.fresh = this.fresh || fresh;
    // Forget what the control plane no longer lists.
    for (const id of [...this.finished]) if (!next.has(id)) this.finished.delete(id);
    for (const id of [...this.statuses.keys()]) if (!next.has(id) && !this.finished.has(id)) this.statuses.delete(id);
    this.trigger();
  }

  /** The session ended: a later orphan check needs a fresh manifest again. */
  sessionEnded(): void {
    this.fresh = false;
  }

  currentStatuses(): TaskStatus[] {
    return [...this.statuses.values()];
  }

  start(): void {
    this.subscribe();
    this.trigger();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  private subscribe(): void {
    this.unsubscribe?.();
    this.unsubscribe = this.runtime.subscribe(
      (e) => {
        if (e.action === 'die' || e.action === 'oom') this.trigger();
      },
      (err) => {
        this.log.debug({ err: err.message }, 'docker event stream lost; re-subscribing');
        this.unsubscribe = undefined;
        setTimeout(() => {
          if (!this.stopped) {
            this.subscribe();
            this.trigger(); // re-list and re-inspect: events may have been missed
          }
        }, RECONCILE_RETRY_MS).unref();
      },
    );
  }

  /** Runs a reconcile pass now, or right after the one in progress. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    clearTimeout(this.timer);
    void this.loop();
  }

  private async loop(): Promise<void> {
    let delay = RESYNC_INTERVAL_MS;
    do {
      this.again = false;
      this.retrySoon = false;
      try {
        await this.pass();
        this.hooks.dockerReachable(true);
      } catch (err) {
        this.hooks.dockerReachable(false, (err as Error).message);
        this.retrySoon = true;
      }
      if (this.retrySoon) delay = RECONCILE_RETRY_MS;
    } while (this.again && !this.stopped);
    this.running = false;
    if (!this.stopped) this.timer = setTimeout(() => this.trigger(), delay);
  }

  private async pass(): Promise<void> {
    const actual = await this.runtime.list();
    const views: DesiredView[] = [...this.desired.values()].map((d) => ({
      taskId: d.task.taskId,
      desiredStatus: d.task.desiredStatus,
      containers: d.spec.containerDefinitions ?? [],
    }));
    const actions = diff({ desired: views, actual, finished: this.finished, fresh: this.fresh });
    const byTask = groupByTask(actual);
    await pool(actions, APPLY_CONCURRENCY, (a) => this.apply(a, byTask));
  }

  private async apply(a: Action, byTask: Map<string, ManagedContainer[]>): Promise<void> {
    try {
      switch (a.kind) {
        case 'remove-orphans':
          this.log.info({ containers: a.containerIds.length }, 'removing containers of tasks the control plane no longer lists');
          await Promise.all(a.containerIds.map(async (id) => {
            await this.runtime.stop(id, 10);
            await this.runtime.remove(id);
          }));
          return;
        case 'start':
          return await this.startTask(this.desired.get(a.taskId)!, a.create, a.start, byTask.get(a.taskId) ?? []);
        case 'stop':
          return await this.stopTask(a.taskId, a.cause, a.exited, byTask.get(a.taskId) ?? []);
        case 'observe':
          return await this.observe(a.taskId, byTask.get(a.taskId) ?? []);
      }
    } catch (err) {
      // An engine error is not a task outcome: log, and a pass shortly retries.
      this.log.warn({ action: a.kind, taskId: 'taskId' in a ? a.taskId : undefined, err: (err as Error).message }, 'container action failed; will retry');
      this.retrySoon = true;
    }
  }

  private async startTask(d: Desired, create: string[], start: string[], existing: ManagedContainer[]): Promise<void> {
    const { task, spec } = d;
    const log = this.log.child({ taskId: task.taskId });
    this.setStatus(task.taskId, 'PENDING', spec.containerDefinitions.map((c) => ({ ...emptyContainer(c.name), lastStatus: 'PENDING' })));
    const ids = new Map(existing.map((c) => [c.containerName, c.id]));
    for (const c of spec.containerDefinitions) {
      if (!create.includes(c.name) && !start.includes(c.name)) continue;
      let step = 'CannotPullContainerError';
      try {
        if (create.includes(c.name)) {
          await this.runtime.ensureImage(c.image);
          step = 'CannotCreateContainerError';
          ids.set(c.name, await this.runtime.create(toCreateSpec(task, spec, c, this.mapping)));
        }
        step = 'CannotStartContainerError';
        await this.runtime.start(ids.get(c.name)!);
      } catch (err) {
        if (isEngineDown(err)) throw err;
        const reason = `${step}: ${c.name}: ${(err as Error).message}`;
        log.warn({ container: c.name, reason }, 'task failed to start');
        await Promise.all([...ids.values()].map((id) => this.runtime.remove(id)));
        this.finish(task.taskId, 'TaskFailedToStart', reason, spec.containerDefinitions.map((cd) => ({ ...emptyContainer(cd.name), lastStatus: 'STOPPED', reason: cd.name === c.name ? reason : '' })));
        return;
      }
    }
    log.info({ family: task.family, revision: task.revision }, 'task started');
    await this.observe(task.taskId, [...ids].map(([containerName, id]) => ({ id, containerName, taskId: task.taskId, state: 'running' })));
  }

  /** Reports RUNNING with what the engine says (ports, states): adoption after a restart goes through here. */
  private async observe(taskId: string, containers: ManagedContainer[]): Promise<void> {
    const d = this.desired.get(taskId);
    if (!d) return;
    // Known RUNNING and every container still running: nothing new to inspect or report.
    const prev = this.statuses.get(taskId);
    const allRunning = containers.length > 0 && containers.every((c) => c.state === 'running');
    if (prev?.lastStatus === 'RUNNING' && allRunning && prev.containers.every((c) => c.lastStatus === 'RUNNING') && prev.containers.length === containers.length) return;
    const statuses: ContainerStatus[] = [];
    for (const c of d.spec.containerDefinitions) {
      const found = containers.find((x) => x.containerName === c.name);
      const info = found ? await this.runtime.inspect(found.id) : undefined;
      statuses.push({
        ...emptyContainer(c.name),
        runtimeId: info?.id ?? '',
        lastStatus: info?.state === 'running' ? 'RUNNING' : 'STOPPED',
        exitCode: info?.exitCode,
        reason: info?.oomKilled ? 'OutOfMemoryError: container killed due to memory usage' : '',
        networkBindings: (info?.ports ?? []).map((p) => ({ bindIp: p.bindIp, containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol })),
      });
    }
    this.setStatus(taskId, 'RUNNING', statuses);
  }

  private async stopTask(taskId: string, cause: 'desired' | 'essential-exited' | 'cleanup', exited: string | undefined, containers: ManagedContainer[]): Promise<void> {
    const d = this.desired.get(taskId);
    const defs = d?.spec.containerDefinitions ?? [];
    const timeoutOf = (name: string) => {
      const c = defs.find((x) => x.name === name);
      return typeof c?.stopTimeout === 'number' ? c.stopTimeout : 30;
    };
    // SIGTERM everything at once, SIGKILL after each container's stopTimeout.
    await Promise.all(containers.map((c) => this.runtime.stop(c.id, timeoutOf(c.containerName))));
    const infos = await Promise.all(containers.map(async (c) => ({ c, info: await this.runtime.inspect(c.id) })));
    await Promise.all(containers.map((c) => this.runtime.remove(c.id)));
    if (cause === 'cleanup') return;
    const statuses: ContainerStatus[] = (defs.length > 0 ? defs.map((x) => x.name) : containers.map((c) => c.containerName)).map((name) => {
      const found = infos.find((x) => x.c.containerName === name);
      return {
        ...emptyContainer(name),
        runtimeId: found?.c.id ?? '',
        lastStatus: 'STOPPED',
        exitCode: found?.info?.exitCode,
        reason: found?.info?.oomKilled ? 'OutOfMemoryError: container killed due to memory usage' : '',
      };
    });
    if (cause === 'essential-exited') {
      const essential = defs.find((x) => x.name === exited);
      this.log.info({ taskId, container: exited, essential: essential ? isEssential(essential) : true }, 'essential container exited; task stopped');
      this.finish(taskId, 'EssentialContainerExited', 'Essential container in task exited', statuses);
    } else {
      this.log.info({ taskId }, 'task stopped as desired');
      this.finish(taskId, '', '', statuses);
    }
  }

  private setStatus(taskId: string, lastStatus: string, containers: ContainerStatus[]): void {
    const prev = this.statuses.get(taskId);
    const next: TaskStatus = { taskId, lastStatus, containers, stopCode: '', stoppedReason: '', at: new Date() };
    if (prev && prev.lastStatus === lastStatus && JSON.stringify(prev.containers) === JSON.stringify(containers)) return;
    this.statuses.set(taskId, next);
    this.hooks.report(next);
  }

  private finish(taskId: string, stopCode: string, stoppedReason: string, containers: ContainerStatus[]): void {
    const status: TaskStatus = { taskId, lastStatus: 'STOPPED', containers, stopCode, stoppedReason, at: new Date() };
    this.finished.add(taskId);
    this.statuses.set(taskId, status);
    this.hooks.finished(status);
    this.hooks.report(status);
  }
}

function emptyContainer(name: string): ContainerStatus {
  return { name, runtimeId: '', lastStatus: 'PENDING', exitCode: undefined, reason: '', networkBindings: [], healthStatus: '' };
}

function groupByTask(actual: ManagedContainer[]): Map<string, ManagedContainer[]> {
  const out = new Map<string, ManagedContainer[]>();
  for (const c of actual) out.set(c.taskId, [...(out.get(c.taskId) ?? []), c]);
  return out;
}

/** The engine itself is unreachable (not a problem of this container). */
export function isEngineDown(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE';
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
