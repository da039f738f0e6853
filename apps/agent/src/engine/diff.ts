import type { ContainerDefinition } from '@berth/domain';
import type { ManagedContainer } from '../runtime/container-runtime.js';
import { restartDelayMs, RESTART_RESET_AFTER_MS, type RestartRecord } from './restart-backoff.js';

/** A desired task as the diff needs it. */
export interface DesiredView {
  taskId: string;
  desiredStatus: string;
  containers: Pick<ContainerDefinition, 'name' | 'essential' | 'restartPolicy'>[];
  /** awsvpc: the task has a namespace holder that must run. */
  pause?: boolean;
}

export type Action =
  /** Create the missing containers and start the created ones (in dependency order). */
  | { kind: 'start'; taskId: string; create: string[]; start: string[] }
  /** Everything runs: make sure the engine's view is reported (adopts containers found after a restart). */
  | { kind: 'observe'; taskId: string }
  /** Start an exited container again, in place. */
  | { kind: 'restart'; taskId: string; container: string; containerId: string; exitCode?: number }
  /** Stop and remove the task's containers, then report it STOPPED. */
  | { kind: 'stop'; taskId: string; cause: 'desired' | 'essential-exited' | 'cleanup'; exited?: string }
  /**
   * A task the control plane no longer lists: stop and remove its containers. One action per task,
   * keyed by its id like every other, so it never runs beside that task's start still in flight
   * (it waits for it, then removes what the start made).
   */
  | { kind: 'remove-orphans'; taskId: string; containerIds: string[] };

export interface DiffInput {
  desired: DesiredView[];
  actual: ManagedContainer[];
  /** Tasks this agent already stopped and reported: never started again. */
  finished: ReadonlySet<string>;
  /** The desired set came in the current session: only then may orphans be removed. */
  fresh: boolean;
  /**
   * The control plane can be told right now. While it cannot, an exited essential
   * container is restarted in place instead of ending its task (nobody could
   * place a replacement).
   */
  connected: boolean;
  /** Restarts done so far, by `${taskId}/${container}`. */
  restarts: ReadonlyMap<string, RestartRecord>;
  now: number;
}

export interface DiffResult {
  actions: Action[];
  /** The earliest time a backed-off restart becomes due (the engine sets a timer). */
  wakeAt?: number;
}

const EXITED = new Set(['exited', 'dead']);
export const PAUSE = '.pause';

/**
 * desired vs actual -> actions, stops before starts. Pure and idempotent:
 * applying the actions and diffing again yields only `observe`.
 */
export function diff({ desired, actual, finished, fresh, connected, restarts, now }: DiffInput): DiffResult {
  const byTask = new Map<string, ManagedContainer[]>();
  for (const c of actual) {
    const list = byTask.get(c.taskId);
    if (list) list.push(c);
    else byTask.set(c.taskId, [c]);
  }
  const stops: Action[] = [];
  const starts: Action[] = [];
  const observes: Action[] = [];
  const wanted = new Set<string>();
  let wakeAt: number | undefined;

  for (const t of desired) {
    wanted.add(t.taskId);
    const have = byTask.get(t.taskId) ?? [];
    if (finished.has(t.taskId)) {
      if (have.length > 0) stops.push({ kind: 'stop', taskId: t.taskId, cause: 'cleanup' });
      continue;
    }
    if (t.desiredStatus !== 'RUNNING') {
      stops.push({ kind: 'stop', taskId: t.taskId, cause: 'desired' });
      continue;
    }
    const byName = new Map(have.map((c) => [c.containerName, c]));
    const everStarted = have.some((c) => c.state !== 'created');
    // The namespace holder gone or dead after the task ran: its containers lost their network.
    const pause = byName.get(PAUSE);
    if (t.pause && everStarted && (!pause || EXITED.has(pause.state))) {
      stops.push({ kind: 'stop', taskId: t.taskId, cause: 'essential-exited', exited: PAUSE });
      continue;
    }

    let stopped = false;
    const restartsNow: Action[] = [];
    for (const c of t.containers) {
      const found = byName.get(c.name);
      if (!found || !EXITED.has(found.state)) continue;
      const essential = c.essential !== false;
      const policy = c.restartPolicy;
      const byPolicy = policy?.enabled === true && !(found.exitCode !== undefined && (policy.ignoredExitCodes ?? []).includes(found.exitCode));
      if (!byPolicy && !(essential && !connected)) {
        if (essential) {
          stops.push({ kind: 'stop', taskId: t.taskId, cause: 'essential-exited', exited: c.name });
          stopped = true;
          break;
        }
        continue; // a finished non-essential container stays as it is
      }
      const due = restartDueAt(restarts.get(`${t.taskId}/${c.name}`), policy?.restartAttemptPeriod, now);
      if (due <= now) restartsNow.push({ kind: 'restart', taskId: t.taskId, container: c.name, containerId: found.id, exitCode: found.exitCode });
      else wakeAt = Math.min(wakeAt ?? due, due);
    }
    if (stopped) continue;
    starts.push(...restartsNow);

    const create = t.containers.filter((c) => !byName.has(c.name)).map((c) => c.name);
    const start = t.containers.filter((c) => byName.get(c.name)?.state === 'created').map((c) => c.name);
    // A task that has run (some container exists) does not get its removed containers re-created.
    if (create.length > 0 && everStarted) {
      observes.push({ kind: 'observe', taskId: t.taskId });
      continue;
    }
    if (create.length > 0 || start.length > 0) starts.push({ kind: 'start', taskId: t.taskId, create, start });
    else observes.push({ kind: 'observe', taskId: t.taskId });
  }

  const orphans: Action[] = [];
  if (fresh) {
    for (const [taskId, containers] of byTask) {
      if (!wanted.has(taskId)) orphans.push({ kind: 'remove-orphans', taskId, containerIds: containers.map((c) => c.id) });
    }
  }
  return { actions: [...orphans, ...stops, ...starts, ...observes], ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

/** When the next in-place restart of a container may happen. */
function restartDueAt(r: RestartRecord | undefined, restartAttemptPeriodSec: number | undefined, now: number): number {
  if (!r) return now;
  // A container that ran long enough before exiting starts over with an immediate restart.
  const resetAfter = restartAttemptPeriodSec !== undefined ? restartAttemptPeriodSec * 1000 : RESTART_RESET_AFTER_MS;
  if (r.lastExitAt !== undefined && r.lastStartAt !== undefined && r.lastExitAt - r.lastStartAt >= resetAfter) return now;
  return r.lastStartAt + restartDelayMs(r.count);
}
