import { readFile } from 'node:fs/promises';
import { parseRegistryCredentials, secretReferences, taskHealthStatus, type ContainerDefinition, type TaskDefinitionSpec } from '@berth/domain';
import type { ContainerStatus, DesiredTask, TaskStatus } from '@berth/proto';
import type { Logger } from 'pino';
import type { ContainerInspection, ContainerRuntime, ManagedContainer, PullPolicy, RegistryAuth } from '../runtime/container-runtime.js';
import { DEFAULT_STOP_TIMEOUT_SEC, parseEnvFile, planTask, type MappingOptions, type SecretParts, type TaskPlan } from '../runtime/create-spec.js';
import type { SecretFiles } from '../runtime/secret-files.js';
import { diff, PAUSE, type Action, type DesiredView } from './diff.js';
import { startOrder, stopLevels } from './dependency-order.js';
import type { RestartRecord } from './restart-backoff.js';
import { RESTART_RESET_AFTER_MS } from './restart-backoff.js';
import { containerHealth } from './health.js';

/** Pacing of the engine, in one place. */
export const RECONCILE_RETRY_MS = 5_000;
export const RESYNC_INTERVAL_MS = 30_000;
/** How often a start waiting on dependsOn re-reads its dependencies. */
export const DEPENDENCY_POLL_MS = 200;
/** After a die event, how often and how many times to re-list until the list shows the exit. */
export const DIE_RECHECK_MS = 20;
export const DIE_RECHECKS = 50;
/** ECS agent's default for how long a container waits for its dependencies (startTimeout). */
export const DEFAULT_START_TIMEOUT_SEC = 180;
export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';

export interface EngineHooks {
  /** A task's status changed (coalesced per task by the reporter). */
  report(status: TaskStatus): void;
  /** A task reached STOPPED and is finished for good on this node. */
  finished(status: TaskStatus): void;
  /** The engine could or could not be reached. */
  dockerReachable(ok: boolean, reason?: string): void;
}

export interface EngineOptions {
  mapping: MappingOptions;
  pullPolicy: PullPolicy;
  now?: () => number;
  readTextFile?: (path: string) => Promise<string>;
  /** Where file secrets are written (a tmpfs); without it a task with file secrets fails to start. */
  secretFiles?: SecretFiles;
}

interface Desired {
  task: DesiredTask;
  spec: TaskDefinitionSpec;
}

/** The task failed to start for a reason of its own (not the engine being away). */
class StartFailure extends Error {
  constructor(
    readonly reason: string,
    readonly container?: string,
  ) {
    super(reason);
  }
}

/**
 * Drives containers toward the desired set, level-triggered: every trigger
 * (new desired state, Docker event, timer) re-lists the engine and applies
 * diff(desired, actual). Each task has at most one action in flight, so a task
 * waiting on a dependency never holds up the others. A Docker API error is
 * never taken for a container exit: the action is retried on a later pass.
 */
export class TaskEngine {
  private desired = new Map<string, Desired>();
  private fresh = false;
  private connected = false;
  private finished = new Set<string>();
  private readonly statuses = new Map<string, TaskStatus>();
  private readonly restarts = new Map<string, RestartRecord>();
  /** What the last report of a task was built from (list state), to skip inspects when nothing changed. */
  private readonly seen = new Map<string, string>();
  private readonly warned = new Set<string>();
  private readonly busy = new Set<string>();
  /** Containers the engine said died, until its list says so too (the list lags the event by a few ms). */
  private readonly dying = new Map<string, number>();
  private lastActual: ManagedContainer[] = [];
  private running = false;
  private again = false;
  private retrySoon = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly readTextFile: (path: string) => Promise<string>;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly hooks: EngineHooks,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.readTextFile = options.readTextFile ?? ((p) => readFile(p, 'utf8'));
  }

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
    // Forget what the control plane no longer lists: memory follows the desired set, however many tasks
    // came and went (an orphan never finishes here, so nothing else would drop its entries).
    for (const id of [...this.finished]) if (!next.has(id)) this.finished.delete(id);
    for (const id of [...this.statuses.keys()]) if (!next.has(id) && !this.finished.has(id)) this.statuses.delete(id);
    for (const key of [...this.restarts.keys()]) if (!next.has(key.split('/')[0]!)) this.restarts.delete(key);
    for (const id of [...this.seen.keys()]) if (!next.has(id)) this.seen.delete(id);
    for (const id of [...this.warned]) if (!next.has(id)) this.warned.delete(id);
    this.trigger();
  }

  /** How many entries the engine holds per kind (each bounded by the desired set's tasks or containers). */
  tracked(): { desired: number; statuses: number; finished: number; restarts: number; seen: number; warned: number; dying: number } {
    return {
      desired: this.desired.size,
      statuses: this.statuses.size,
      finished: this.finished.size,
      restarts: this.restarts.size,
      seen: this.seen.size,
      warned: this.warned.size,
      dying: this.dying.size,
    };
  }

  /** Whether the control plane can be told right now (see DiffInput.connected). */
  setConnected(connected: boolean): void {
    this.connected = connected;
    // A later orphan check needs a fresh manifest again.
    if (!connected) this.fresh = false;
    this.trigger();
  }

  currentStatuses(): TaskStatus[] {
    return [...this.statuses.values()];
  }

  /** The containers the last pass saw (for usage sampling without another list). */
  containers(): ManagedContainer[] {
    return this.lastActual;
  }

  start(): void {
    this.subscribe();
    this.trigger();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.wakeTimer);
    this.unsubscribe?.();
  }

  /** `--drain`: stops every task's containers (SIGTERM, then SIGKILL after stopTimeout) and reports them STOPPED. */
  async drain(): Promise<void> {
    this.stop();
    const actual = await this.runtime.list();
    const byTask = groupByTask(actual);
    await Promise.all([...byTask.keys()].map((taskId) => this.stopTask(taskId, 'drain', undefined, byTask.get(taskId) ?? [])));
  }

  private subscribe(): void {
    this.unsubscribe?.();
    this.unsubscribe = this.runtime.subscribe(
      (e) => {
        if (e.action === 'die' || e.action === 'oom' || e.action.startsWith('health_status')) {
          this.log.debug({ container: e.id?.slice(0, 12), taskId: e.taskId, action: e.action }, 'engine event');
          if (e.action === 'die' && e.id) this.dying.set(e.id, 0);
          this.trigger();
        }
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
      try {
        await this.pass();
        this.hooks.dockerReachable(true);
      } catch (err) {
        this.hooks.dockerReachable(false, (err as Error).message);
        this.retrySoon = true;
      }
      if (this.retrySoon) delay = RECONCILE_RETRY_MS;
      this.retrySoon = false;
    } while (this.again && !this.stopped);
    this.running = false;
    if (!this.stopped) this.timer = setTimeout(() => this.trigger(), delay);
  }

  private async pass(): Promise<void> {
    const actual = await this.runtime.list();
    this.lastActual = actual;
    const now = this.now();
    for (const [id, tries] of this.dying) {
      const c = actual.find((x) => x.id === id);
      if (!c || c.state !== 'running' || tries >= DIE_RECHECKS) this.dying.delete(id);
      else {
        this.dying.set(id, tries + 1);
        setTimeout(() => this.trigger(), DIE_RECHECK_MS).unref();
      }
    }
    for (const c of actual) {
      const r = this.restarts.get(`${c.taskId}/${c.containerName}`);
      if (r && (c.state === 'exited' || c.state === 'dead') && (r.lastExitAt === undefined || r.lastExitAt < r.lastStartAt)) r.lastExitAt = now;
    }
    const views: DesiredView[] = [...this.desired.values()].map((d) => ({
      taskId: d.task.taskId,
      desiredStatus: d.task.desiredStatus,
      containers: d.spec.containerDefinitions ?? [],
      pause: d.spec.networkMode === 'awsvpc',
    }));
    const { actions, wakeAt } = diff({ desired: views, actual, finished: this.finished, fresh: this.fresh, connected: this.connected, restarts: this.restarts, now });
    clearTimeout(this.wakeTimer);
    if (wakeAt !== undefined) this.wakeTimer = setTimeout(() => this.trigger(), Math.max(0, wakeAt - now) + 5);
    const byTask = groupByTask(actual);
    const work = actions.filter((a) => a.kind !== 'observe');
    this.log.trace({ connected: this.connected, desired: views.length, actual: actual.map((c) => `${c.containerName}:${c.state}`), actions: actions.map((a) => a.kind) }, 'pass');
    if (work.length > 0) this.log.debug({ actions: work.map((a) => `${a.kind} ${a.taskId}`), busy: [...this.busy] }, 'reconcile');
    for (const a of actions) {
      // One action per task at a time, whatever its kind: removing an orphan waits for its start in flight.
      const key = a.taskId;
      if (this.busy.has(key)) continue; // its action in flight triggers a new pass when done
      this.busy.add(key);
      void this.apply(a, byTask).finally(() => {
        this.busy.delete(key);
        if (a.kind !== 'observe') this.trigger();
      });
    }
  }

  private async apply(a: Action, byTask: Map<string, ManagedContainer[]>): Promise<void> {
    try {
      switch (a.kind) {
        case 'remove-orphans':
          // Its definition is gone with it: each container stops within its own stop timeout (set at create).
          this.log.info({ taskId: a.taskId, containers: a.containerIds.length }, 'removing the containers of a task the control plane no longer lists');
          return await this.stopTask(a.taskId, 'cleanup', undefined, byTask.get(a.taskId) ?? []);
        case 'start':
          return await this.startTask(this.desired.get(a.taskId)!, a.create, a.start, byTask.get(a.taskId) ?? []);
        case 'restart':
          return await this.restartContainer(a.taskId, a.container, a.containerId, a.exitCode, byTask.get(a.taskId) ?? []);
        case 'stop':
          return await this.stopTask(a.taskId, a.cause, a.exited, byTask.get(a.taskId) ?? []);
        case 'observe':
          return await this.observe(a.taskId, byTask.get(a.taskId) ?? []);
      }
    } catch (err) {
      // An engine error is not a task outcome: log, and a pass shortly retries.
      this.log.warn({ action: a.kind, taskId: a.taskId, err: (err as Error).message }, 'container action failed; will retry');
      if (isEngineDown(err)) this.hooks.dockerReachable(false, (err as Error).message);
      this.retrySoon = true;
      clearTimeout(this.timer);
      if (!this.running && !this.stopped) this.timer = setTimeout(() => this.trigger(), RECONCILE_RETRY_MS);
    }
  }

  private async startTask(d: Desired, create: string[], start: string[], existing: ManagedContainer[]): Promise<void> {
    const { task, spec } = d;
    const log = this.log.child({ taskId: task.taskId });
    const defs = spec.containerDefinitions;
    const ids = new Map(existing.map((c) => [c.containerName, c.id]));
    let plan: TaskPlan | undefined;
    try {
      const secrets = this.prepareSecrets(task, spec);
      plan = planTask(task, spec, this.options.mapping, await this.readEnvFiles(defs), secrets.parts);
      this.setStatus(task.taskId, 'PENDING', defs.map((c) => ({ ...emptyContainer(c.name), runtimeId: ids.get(c.name) ?? '' })), plan.warnings);
      for (const v of plan.volumes) {
        await this.step('CannotCreateContainerError', `volume ${v.name}`, () => this.runtime.ensureVolume(v));
      }
      if (plan.pause && !ids.has(PAUSE)) {
        await this.step('CannotStartContainerError', 'network namespace', async () => {
          await this.runtime.ensurePauseImage(plan!.pause!.image);
          ids.set(PAUSE, await this.runtime.create(plan!.pause!));
        });
      }
      if (plan.pause) await this.step('CannotStartContainerError', 'network namespace', () => this.runtime.start(ids.get(PAUSE)!));
      // Pull every image first (ECS's PULLED), then create every container, then start in dependency order.
      // One pull per image; a failure is the reason of the first container that needed it.
      const images = new Map<string, string>();
      for (const c of defs) if (create.includes(c.name) && !images.has(c.image)) images.set(c.image, c.name);
      await Promise.all(
        [...images].map(([image, container]) =>
          this.step('CannotPullContainerError', image, () => this.runtime.ensureImage(image, this.options.pullPolicy, secrets.registry.get(container)), container),
        ),
      );
      for (const c of defs) {
        if (!create.includes(c.name)) continue;
        ids.set(c.name, await this.step('CannotCreateContainerError', c.name, () => this.runtime.create(plan!.containers.get(c.name)!), c.name));
      }
      const toStart = new Set([...create, ...start]);
      const done = await this.startInOrder(d, defs, toStart, ids);
      if (!done) return; // no longer wanted: the next pass stops it
    } catch (err) {
      if (!(err instanceof StartFailure)) throw err;
      log.warn({ container: err.container, reason: err.reason }, 'task failed to start');
      const infos = await this.inspectAll(ids);
      await Promise.all([...ids.values()].map((id) => this.runtime.remove(id)));
      await this.removeTaskResources(task.taskId);
      this.finish(
        task.taskId,
        'TaskFailedToStart',
        err.reason,
        defs.map((cd) => this.containerStatus(task.taskId, cd.name, ids.get(cd.name), infos.get(cd.name), cd.name === err.container ? err.reason : undefined, 'STOPPED')),
      );
      return;
    }
    log.info({ family: task.family, revision: task.revision }, 'task started');
    await this.observe(task.taskId, [...ids].map(([containerName, id]) => ({ id, containerName, taskId: task.taskId, state: 'running' })), true);
  }

  /** What a task leaves on the node besides containers: task-scoped volumes and secret files. */
  private async removeTaskResources(taskId: string): Promise<void> {
    await this.runtime.removeTaskVolumes(taskId);
    this.options.secretFiles?.remove(taskId);
  }

  /**
   * The task's secrets as sent by the control plane (only while it starts the
   * task; never stored): variables, files written on the tmpfs, and registry
   * credentials per container. Values are never logged; failures name the
   * secret's place, never its value.
   */
  private prepareSecrets(task: DesiredTask, spec: TaskDefinitionSpec): { parts: SecretParts; registry: Map<string, RegistryAuth> } {
    const parts: SecretParts = { env: new Map(), binds: new Map() };
    const registry = new Map<string, RegistryAuth>();
    const fail = (why: string) => new StartFailure(`ResourceInitializationError: unable to pull secrets or registry auth: ${why}`);
    if (task.secretsError) throw fail(task.secretsError);
    if (secretReferences(spec.containerDefinitions).length === 0) return { parts, registry };
    if (task.secrets.length === 0) throw fail('the secrets were not sent (the control plane sends them only while it starts the task)');
    const files: { container: string; target: string; value: string }[] = [];
    for (const s of task.secrets) {
      if (s.kind === 'env') parts.env.set(s.containerName, [...(parts.env.get(s.containerName) ?? []), `${s.target}=${s.value}`]);
      else if (s.kind === 'file') files.push({ container: s.containerName, target: s.target, value: s.value });
      else if (s.kind === 'registry') {
        const auth = parseRegistryCredentials(s.value);
        if (!auth) throw fail(`the registry credentials of ${s.containerName} are not JSON {"username", "password"}`);
        registry.set(s.containerName, auth);
      }
    }
    if (files.length > 0) {
      if (!this.options.secretFiles) throw fail('this node has no directory for file secrets');
      try {
        parts.binds = this.options.secretFiles.write(task.taskId, files);
      } catch (err) {
        throw fail(`file secrets could not be written on the node: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    return { parts, registry };
  }

  /** Runs one start step; an error of the engine itself propagates (retry later), any other fails the task. */
  private async step<T>(code: string, what: string, fn: () => Promise<T>, container?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isEngineDown(err)) throw err;
      throw new StartFailure(`${code}: ${what}: ${(err as Error).message}`, container);
    }
  }

  private async readEnvFiles(defs: ContainerDefinition[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const c of defs) {
      const lines: string[] = [];
      for (const f of c.environmentFiles ?? []) {
        if (!f.value.startsWith('/')) continue; // S3: warned about in the plan
        try {
          lines.push(...parseEnvFile(await this.readTextFile(f.value)));
        } catch (err) {
          throw new StartFailure(`ResourceInitializationError: environment file ${f.value} of ${c.name}: ${(err as Error).message}`, c.name);
        }
      }
      if (lines.length > 0) out.set(c.name, lines);
    }
    return out;
  }

  /**
   * Starts containers as their dependsOn conditions allow (independent ones
   * together). False when the task stopped being wanted meanwhile.
   */
  private async startInOrder(d: Desired, defs: ContainerDefinition[], toStart: Set<string>, ids: Map<string, string>): Promise<boolean> {
    const { task } = d;
    const began = this.now();
    const pending = startOrder(defs).filter((n) => toStart.has(n));
    const byName = new Map(defs.map((c) => [c.name, c]));
    const states = new Map<string, ContainerInspection | undefined>();
    for (;;) {
      if (this.stopped || this.desired.get(task.taskId)?.task.desiredStatus !== 'RUNNING') return false;
      const ready: string[] = [];
      for (const name of pending) {
        const deps = byName.get(name)?.dependsOn ?? [];
        let ok = true;
        for (const dep of deps) {
          const s = states.get(dep.containerName);
          const verdict = dependencyVerdict(dep.condition, s, pending.includes(dep.containerName));
          if (verdict === 'failed') {
            throw new StartFailure(
              `DependencyFailed: ${name} depends on ${dep.containerName} (${dep.condition}), which ${s?.state === 'running' ? `is ${s.health ?? 'running'}` : `exited with code ${s?.exitCode ?? 'unknown'}`}`,
              name,
            );
          }
          if (verdict === 'wait') ok = false;
        }
        if (ok) ready.push(name);
      }
      if (ready.length > 0) {
        await Promise.all(ready.map((name) => this.step('CannotStartContainerError', name, () => this.runtime.start(ids.get(name)!), name)));
        for (const name of ready) pending.splice(pending.indexOf(name), 1);
        if (pending.length === 0) return true;
      } else {
        for (const name of pending) {
          const timeout = (byName.get(name)?.startTimeout ?? DEFAULT_START_TIMEOUT_SEC) * 1000;
          if (this.now() - began > timeout) {
            const waiting = (byName.get(name)?.dependsOn ?? []).map((x) => `${x.containerName} ${x.condition}`).join(', ');
            throw new StartFailure(`DependencyTimeout: ${name} waited ${timeout / 1000} s (startTimeout) for ${waiting}`, name);
          }
        }
        await sleep(DEPENDENCY_POLL_MS);
      }
      // Re-read the containers something still waits on.
      const wanted = new Set(pending.flatMap((n) => (byName.get(n)?.dependsOn ?? []).map((x) => x.containerName)));
      await Promise.all([...wanted].map(async (n) => states.set(n, ids.has(n) ? await this.runtime.inspect(ids.get(n)!) : undefined)));
    }
  }

  private async restartContainer(taskId: string, name: string, id: string, exitCode: number | undefined, containers: ManagedContainer[]): Promise<void> {
    const key = `${taskId}/${name}`;
    const prev = this.restarts.get(key);
    const d = this.desired.get(taskId);
    const period = d?.spec.containerDefinitions.find((c) => c.name === name)?.restartPolicy?.restartAttemptPeriod;
    const resetAfter = period !== undefined ? period * 1000 : RESTART_RESET_AFTER_MS;
    const ranLong = prev?.lastExitAt !== undefined && prev.lastExitAt - prev.lastStartAt >= resetAfter;
    const record: RestartRecord = { count: !prev || ranLong ? 1 : prev.count + 1, lastStartAt: this.now(), total: (prev?.total ?? 0) + 1 };
    this.restarts.set(key, record);
    this.log.info(
      { taskId, container: name, exitCode, restart: record.total, connected: this.connected },
      this.connected ? 'container exited; restarting it in place (restartPolicy)' : 'container exited while the control plane is away; restarting it in place',
    );
    await this.runtime.start(id);
    await this.observe(taskId, containers.map((c) => (c.id === id ? { ...c, state: 'running', exitCode: undefined } : c)), true);
  }

  /** Reports what the engine says (state, ports, health): adoption after a restart goes through here. */
  private async observe(taskId: string, containers: ManagedContainer[], force = false): Promise<void> {
    const d = this.desired.get(taskId);
    if (!d) return;
    const defs = d.spec.containerDefinitions;
    const fingerprint = containers
      .map((c) => `${c.containerName}:${c.id}:${c.state}:${c.exitCode ?? ''}:${c.health ?? ''}:${this.restarts.get(`${taskId}/${c.containerName}`)?.total ?? 0}`)
      .sort()
      .join('|');
    if (!force && this.seen.get(taskId) === fingerprint && this.statuses.get(taskId)?.lastStatus === 'RUNNING') return;
    const ids = new Map(containers.map((c) => [c.containerName, c.id]));
    const infos = await this.inspectAll(ids);
    const statuses = defs.map((c) => this.containerStatus(taskId, c.name, ids.get(c.name), infos.get(c.name)));
    this.seen.set(taskId, fingerprint);
    this.setStatus(taskId, 'RUNNING', statuses);
  }

  private async inspectAll(ids: Map<string, string>): Promise<Map<string, ContainerInspection | undefined>> {
    const out = new Map<string, ContainerInspection | undefined>();
    await Promise.all([...ids].filter(([n]) => n !== PAUSE).map(async ([name, id]) => out.set(name, await this.runtime.inspect(id))));
    return out;
  }

  private containerStatus(taskId: string, name: string, id: string | undefined, info: ContainerInspection | undefined, reason?: string, forceStatus?: string): ContainerStatus {
    const d = info?.state;
    return {
      ...emptyContainer(name),
      runtimeId: info?.id ?? id ?? '',
      lastStatus: forceStatus ?? (d === 'running' ? 'RUNNING' : d === 'created' || d === undefined ? 'PENDING' : 'STOPPED'),
      exitCode: info?.exitCode,
      reason: reason ?? (info?.oomKilled ? OOM_REASON : (info?.error ?? '')),
      networkBindings: (info?.ports ?? []).map((p) => ({ bindIp: p.bindIp, containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol })),
      healthStatus: containerHealth(info?.health),
      restartCount: this.restarts.get(`${taskId}/${name}`)?.total ?? 0,
    };
  }

  private async stopTask(taskId: string, cause: 'desired' | 'essential-exited' | 'cleanup' | 'drain', exited: string | undefined, containers: ManagedContainer[]): Promise<void> {
    const d = this.desired.get(taskId);
    const defs = d?.spec.containerDefinitions ?? [];
    // Unknown definition (an orphan): the container's own stop timeout, which it got at create from the task's.
    const timeoutOf = (name: string): number | undefined => {
      const c = defs.find((x) => x.name === name);
      if (!c) return undefined;
      return typeof c.stopTimeout === 'number' && c.stopTimeout >= 0 ? c.stopTimeout : DEFAULT_STOP_TIMEOUT_SEC;
    };
    // SIGTERM dependents before what they depend on (ECS's shutdown order), SIGKILL after each stopTimeout.
    const levels = stopLevels(defs);
    const pause = containers.filter((c) => c.containerName === PAUSE);
    const rest = containers.filter((c) => c.containerName !== PAUSE);
    const maxLevel = Math.max(0, ...rest.map((c) => levels.get(c.containerName) ?? 0));
    for (let level = maxLevel; level >= 0; level--) {
      await Promise.all(rest.filter((c) => (levels.get(c.containerName) ?? 0) === level).map((c) => this.runtime.stop(c.id, timeoutOf(c.containerName))));
    }
    const infos = await this.inspectAll(new Map(rest.map((c) => [c.containerName, c.id])));
    await Promise.all([...rest, ...pause].map((c) => this.runtime.remove(c.id)));
    await this.removeTaskResources(taskId);
    if (cause === 'cleanup') return;
    const names = defs.length > 0 ? defs.map((x) => x.name) : rest.map((c) => c.containerName);
    const statuses = names.map((name) => this.containerStatus(taskId, name, rest.find((c) => c.containerName === name)?.id, infos.get(name), undefined, 'STOPPED'));
    if (cause === 'essential-exited') {
      const why = exited === PAUSE ? 'the task\'s network namespace container exited' : `essential container ${exited} exited`;
      this.log.info({ taskId, container: exited }, `${why}; task stopped`);
      this.finish(taskId, 'EssentialContainerExited', 'Essential container in task exited', statuses);
    } else if (cause === 'drain') {
      // ECS's code for a task stopped because its instance is going away.
      this.log.info({ taskId }, 'task stopped: the agent is draining');
      this.finish(taskId, 'TerminationNotice', 'The node agent stopped with --drain', statuses);
    } else {
      this.log.info({ taskId }, 'task stopped as desired');
      this.finish(taskId, '', '', statuses);
    }
  }

  private setStatus(taskId: string, lastStatus: string, containers: ContainerStatus[], warnings: string[] = []): void {
    const prev = this.statuses.get(taskId);
    const d = this.desired.get(taskId);
    const healthStatus = taskHealthStatus(d?.spec.containerDefinitions ?? [], containers);
    const sendWarnings = warnings.length > 0 && !this.warned.has(taskId);
    if (!sendWarnings && prev && prev.lastStatus === lastStatus && prev.healthStatus === healthStatus && JSON.stringify(prev.containers) === JSON.stringify(containers)) return;
    if (sendWarnings) this.warned.add(taskId);
    const next: TaskStatus = { taskId, lastStatus, containers, stopCode: '', stoppedReason: '', at: new Date(this.now()), warnings: sendWarnings ? warnings : [], healthStatus };
    this.statuses.set(taskId, next);
    this.hooks.report(next);
  }

  private finish(taskId: string, stopCode: string, stoppedReason: string, containers: ContainerStatus[]): void {
    const status: TaskStatus = { taskId, lastStatus: 'STOPPED', containers, stopCode, stoppedReason, at: new Date(this.now()), warnings: [], healthStatus: 'UNKNOWN' };
    this.finished.add(taskId);
    this.statuses.set(taskId, status);
    this.seen.delete(taskId);
    this.hooks.finished(status);
    this.hooks.report(status);
  }
}

/** Whether a dependency's condition holds, cannot hold any more, or may still come. */
export function dependencyVerdict(condition: string, s: ContainerInspection | undefined, notStartedYet: boolean): 'ok' | 'wait' | 'failed' {
  if (notStartedYet || !s) return 'wait';
  const exited = s.state === 'exited' || s.state === 'dead';
  switch (condition) {
    case 'START':
      return s.state === 'running' || exited ? 'ok' : 'wait';
    case 'COMPLETE':
      return exited ? 'ok' : 'wait';
    case 'SUCCESS':
      return exited ? (s.exitCode === 0 ? 'ok' : 'failed') : 'wait';
    case 'HEALTHY':
      if (exited) return 'failed';
      return s.health === 'healthy' ? 'ok' : 'wait';
    default:
      return 'ok';
  }
}

function emptyContainer(name: string): ContainerStatus {
  return { name, runtimeId: '', lastStatus: 'PENDING', exitCode: undefined, reason: '', networkBindings: [], healthStatus: '', restartCount: 0 };
}

function groupByTask(actual: ManagedContainer[]): Map<string, ManagedContainer[]> {
  const out = new Map<string, ManagedContainer[]>();
  for (const c of actual) {
    const list = out.get(c.taskId);
    if (list) list.push(c);
    else out.set(c.taskId, [c]);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The engine itself is unreachable (not a problem of this container). */
export function isEngineDown(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE';
}
