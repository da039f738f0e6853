import { describe, expect, it } from 'vitest';
import type { ManagedContainer } from '../runtime/container-runtime.js';
import { diff, type DesiredView, type DiffInput } from './diff.js';
import type { RestartRecord } from './restart-backoff.js';

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const task = (taskId: string, over: Partial<DesiredView> = {}): DesiredView => ({
  taskId,
  desiredStatus: 'RUNNING',
  containers: [{ name: 'app' }, { name: 'sidecar', essential: false }],
  ...over,
});
const c = (taskId: string, containerName: string, state = 'running'): ManagedContainer => ({ id: `${taskId.slice(0, 4)}-${containerName}`, taskId, containerName, state });
const none = new Set<string>();
const NOW = 1_000_000;
/** Connected, no restarts so far: the actions only. */
const run = (i: Partial<DiffInput> & Pick<DiffInput, 'desired' | 'actual' | 'finished' | 'fresh'>) =>
  diff({ connected: true, restarts: new Map(), now: NOW, ...i }).actions;

describe('diff', () => {
  it('starts a desired task that has no containers', () => {
    expect(run({ desired: [task(T1)], actual: [], finished: none, fresh: true })).toEqual([{ kind: 'start', taskId: T1, create: ['app', 'sidecar'], start: [] }]);
  });

  it('adopts running containers instead of starting duplicates', () => {
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app'), c(T1, 'sidecar')], finished: none, fresh: false })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('starts containers left created (agent killed between create and start) and creates the missing ones', () => {
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app', 'created')], finished: none, fresh: true })).toEqual([
      { kind: 'start', taskId: T1, create: ['sidecar'], start: ['app'] },
    ]);
  });

  it('stops a task whose essential container exited, but not for a non-essential one', () => {
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app', 'exited'), c(T1, 'sidecar')], finished: none, fresh: true })).toEqual([
      { kind: 'stop', taskId: T1, cause: 'essential-exited', exited: 'app' },
    ]);
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app'), c(T1, 'sidecar', 'exited')], finished: none, fresh: true })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('does not re-create a non-essential container that ran and was removed', () => {
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app')], finished: none, fresh: true })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('stops tasks desired STOPPED, with or without containers', () => {
    expect(run({ desired: [task(T1, { desiredStatus: 'STOPPED' }), task(T2, { desiredStatus: 'STOPPED' })], actual: [c(T1, 'app')], finished: none, fresh: true })).toEqual([
      { kind: 'stop', taskId: T1, cause: 'desired' },
      { kind: 'stop', taskId: T2, cause: 'desired' },
    ]);
  });

  it('never restarts a task it already finished; cleans up what is left of it', () => {
    const finished = new Set([T1]);
    expect(run({ desired: [task(T1)], actual: [], finished, fresh: true })).toEqual([]);
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app', 'exited')], finished, fresh: true })).toEqual([{ kind: 'stop', taskId: T1, cause: 'cleanup' }]);
  });

  it('removes orphans only after a fresh manifest from this session', () => {
    const actual = [c(T2, 'app'), c(T2, 'sidecar')];
    expect(run({ desired: [], actual, finished: none, fresh: false })).toEqual([]);
    expect(run({ desired: [], actual, finished: none, fresh: true })).toEqual([{ kind: 'remove-orphans', taskId: T2, containerIds: [`${T2.slice(0, 4)}-app`, `${T2.slice(0, 4)}-sidecar`] }]);
  });

  it('removes each orphaned task on its own (an action per task, keyed by its id)', () => {
    const T3 = 'c'.repeat(32);
    const actual = [c(T2, 'app'), c(T1, 'app'), c(T3, '.pause'), c(T3, 'app', 'created'), c(T2, 'sidecar', 'exited')];
    expect(run({ desired: [task(T1)], actual, finished: none, fresh: true })).toEqual([
      { kind: 'remove-orphans', taskId: T2, containerIds: [`${T2.slice(0, 4)}-app`, `${T2.slice(0, 4)}-sidecar`] },
      { kind: 'remove-orphans', taskId: T3, containerIds: [`${T3.slice(0, 4)}-.pause`, `${T3.slice(0, 4)}-app`] },
      { kind: 'observe', taskId: T1 },
    ]);
  });

  it('orders stops before starts', () => {
    const kinds = run({
      desired: [task(T1), task(T2, { desiredStatus: 'STOPPED' })],
      actual: [c(T2, 'app'), c('c'.repeat(32), 'x')],
      finished: none,
      fresh: true,
    }).map((a) => a.kind);
    expect(kinds).toEqual(['remove-orphans', 'stop', 'start']);
  });

  it('restarts an exited essential container in place while the control plane is away, with backoff', () => {
    const actual = [{ ...c(T1, 'app', 'exited'), exitCode: 137 }, c(T1, 'sidecar')];
    expect(run({ desired: [task(T1)], actual, finished: none, fresh: false, connected: false })).toEqual([
      { kind: 'restart', taskId: T1, container: 'app', containerId: `${T1.slice(0, 4)}-app`, exitCode: 137 },
      { kind: 'observe', taskId: T1 },
    ]);
    // Restarted once a moment ago: the second restart waits 1 s, and the diff says when to look again.
    const restarts = new Map<string, RestartRecord>([[`${T1}/app`, { count: 1, lastStartAt: NOW - 200, lastExitAt: NOW - 100, total: 1 }]]);
    const later = diff({ desired: [task(T1)], actual, finished: none, fresh: false, connected: false, restarts, now: NOW });
    expect(later.actions.map((a) => a.kind)).toEqual(['observe']);
    expect(later.wakeAt).toBe(NOW - 200 + 1000);
    // A container that ran longer than the reset period before exiting is restarted at once.
    const ranLong = new Map<string, RestartRecord>([[`${T1}/app`, { count: 5, lastStartAt: NOW - 400_000, lastExitAt: NOW - 10, total: 5 }]]);
    expect(run({ desired: [task(T1)], actual, finished: none, fresh: false, connected: false, restarts: ranLong }).map((a) => a.kind)).toEqual(['restart', 'observe']);
  });

  it('restarts by restartPolicy while connected, except for ignored exit codes', () => {
    const withPolicy = task(T1, { containers: [{ name: 'app', restartPolicy: { enabled: true, ignoredExitCodes: [0] } }] });
    expect(run({ desired: [withPolicy], actual: [{ ...c(T1, 'app', 'exited'), exitCode: 1 }], finished: none, fresh: true }).map((a) => a.kind)).toEqual(['restart', 'observe']);
    expect(run({ desired: [withPolicy], actual: [{ ...c(T1, 'app', 'exited'), exitCode: 0 }], finished: none, fresh: true })).toEqual([
      { kind: 'stop', taskId: T1, cause: 'essential-exited', exited: 'app' },
    ]);
    // Non-essential containers only come back by policy, never because the control plane is away.
    expect(run({ desired: [task(T1)], actual: [c(T1, 'app'), { ...c(T1, 'sidecar', 'exited'), exitCode: 1 }], finished: none, fresh: false, connected: false })).toEqual([
      { kind: 'observe', taskId: T1 },
    ]);
  });

  it('stops an awsvpc task whose namespace holder is gone', () => {
    const t = task(T1, { pause: true });
    expect(run({ desired: [t], actual: [c(T1, 'app'), c(T1, 'sidecar')], finished: none, fresh: true })).toEqual([{ kind: 'stop', taskId: T1, cause: 'essential-exited', exited: '.pause' }]);
    expect(run({ desired: [t], actual: [c(T1, '.pause'), c(T1, 'app'), c(T1, 'sidecar')], finished: none, fresh: true })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });
});
