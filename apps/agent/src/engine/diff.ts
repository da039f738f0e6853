import type { ContainerDefinition } from '@berth/domain';
import type { ManagedContainer } from '../runtime/container-runtime.js';

/** A desired task as the diff needs it. */
export interface DesiredView {
  taskId: string;
  desiredStatus: string;
  containers: Pick<ContainerDefinition, 'name' | 'essential'>[];
}

export type Action =
  /** Create the missing containers and start the created ones. */
  | { kind: 'start'; taskId: string; create: string[]; start: string[] }
  /** Everything runs: make sure RUNNING is reported (adopts containers found after a restart). */
  | { kind: 'observe'; taskId: string }
  /** Stop and remove the task's containers, then report it STOPPED. */
  | { kind: 'stop'; taskId: string; cause: 'desired' | 'essential-exited' | 'cleanup'; exited?: string }
  /** Containers of tasks the control plane no longer wants. */
  | { kind: 'remove-orphans'; containerIds: string[] };

export interface DiffInput {
  desired: DesiredView[];
  actual: ManagedContainer[];
  /** Tasks this agent already stopped and reported: never started again. */
  finished: ReadonlySet<string>;
  /** The desired set came in the current session: only then may orphans be removed. */
  fresh: boolean;
}

const EXITED = new Set(['exited', 'dead']);

/**
 * desired vs actual -> actions, stops before starts. Pure and idempotent:
 * applying the actions and diffing again yields only `observe`.
 */
export function diff({ desired, actual, finished, fresh }: DiffInput): Action[] {
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
    const exitedEssential = t.containers.find((c) => c.essential !== false && EXITED.has(byName.get(c.name)?.state ?? ''));
    if (exitedEssential) {
      stops.push({ kind: 'stop', taskId: t.taskId, cause: 'essential-exited', exited: exitedEssential.name });
      continue;
    }
    const create = t.containers.filter((c) => !byName.has(c.name)).map((c) => c.name);
    const start = t.containers.filter((c) => byName.get(c.name)?.state === 'created').map((c) => c.name);
    // A task that has run (some container exists) does not get its exited non-essential containers re-created.
    if (create.length > 0 && have.length > 0) {
      const everStarted = have.some((c) => c.state !== 'created');
      if (everStarted) {
        observes.push({ kind: 'observe', taskId: t.taskId });
        continue;
      }
    }
    if (create.length > 0 || start.length > 0) starts.push({ kind: 'start', taskId: t.taskId, create, start });
    else observes.push({ kind: 'observe', taskId: t.taskId });
  }

  const orphans = fresh ? actual.filter((c) => !wanted.has(c.taskId)).map((c) => c.id) : [];
  return [...(orphans.length > 0 ? [{ kind: 'remove-orphans' as const, containerIds: orphans }] : []), ...stops, ...starts, ...observes];
}
