import { describe, expect, it } from 'vitest';
import type { ManagedContainer } from '../runtime/container-runtime.js';
import { diff, type DesiredView } from './diff.js';

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

describe('diff', () => {
  it('starts a desired task that has no containers', () => {
    expect(diff({ desired: [task(T1)], actual: [], finished: none, fresh: true })).toEqual([{ kind: 'start', taskId: T1, create: ['app', 'sidecar'], start: [] }]);
  });

  it('adopts running containers instead of starting duplicates', () => {
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app'), c(T1, 'sidecar')], finished: none, fresh: false })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('starts containers left created (agent killed between create and start) and creates the missing ones', () => {
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app', 'created')], finished: none, fresh: true })).toEqual([
      { kind: 'start', taskId: T1, create: ['sidecar'], start: ['app'] },
    ]);
  });

  it('stops a task whose essential container exited, but not for a non-essential one', () => {
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app', 'exited'), c(T1, 'sidecar')], finished: none, fresh: true })).toEqual([
      { kind: 'stop', taskId: T1, cause: 'essential-exited', exited: 'app' },
    ]);
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app'), c(T1, 'sidecar', 'exited')], finished: none, fresh: true })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('does not re-create a non-essential container that ran and was removed', () => {
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app')], finished: none, fresh: true })).toEqual([{ kind: 'observe', taskId: T1 }]);
  });

  it('stops tasks desired STOPPED, with or without containers', () => {
    expect(diff({ desired: [task(T1, { desiredStatus: 'STOPPED' }), task(T2, { desiredStatus: 'STOPPED' })], actual: [c(T1, 'app')], finished: none, fresh: true })).toEqual([
      { kind: 'stop', taskId: T1, cause: 'desired' },
      { kind: 'stop', taskId: T2, cause: 'desired' },
    ]);
  });

  it('never restarts a task it already finished; cleans up what is left of it', () => {
    const finished = new Set([T1]);
    expect(diff({ desired: [task(T1)], actual: [], finished, fresh: true })).toEqual([]);
    expect(diff({ desired: [task(T1)], actual: [c(T1, 'app', 'exited')], finished, fresh: true })).toEqual([{ kind: 'stop', taskId: T1, cause: 'cleanup' }]);
  });

  it('removes orphans only after a fresh manifest from this session', () => {
    const actual = [c(T2, 'app'), c(T2, 'sidecar')];
    expect(diff({ desired: [], actual, finished: none, fresh: false })).toEqual([]);
    expect(diff({ desired: [], actual, finished: none, fresh: true })).toEqual([{ kind: 'remove-orphans', containerIds: [`${T2.slice(0, 4)}-app`, `${T2.slice(0, 4)}-sidecar`] }]);
  });

  it('orders stops before starts', () => {
    const kinds = diff({
      desired: [task(T1), task(T2, { desiredStatus: 'STOPPED' })],
      actual: [c(T2, 'app'), c('c'.repeat(32), 'x')],
      finished: none,
      fresh: true,
    }).map((a) => a.kind);
    expect(kinds).toEqual(['remove-orphans', 'stop', 'start']);
  });
});
