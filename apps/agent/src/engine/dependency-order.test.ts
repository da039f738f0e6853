import { describe, expect, it } from 'vitest';
import { dependencyLevels, startOrder } from './dependency-order.js';
import { dependencyVerdict } from './task-engine.js';
import { restartDelayMs, RESTART_MAX_MS } from './restart-backoff.js';
import { containerHealth } from './health.js';

describe('dependsOn order', () => {
  const defs = [
    { name: 'web', dependsOn: [{ containerName: 'db', condition: 'HEALTHY' as const }, { containerName: 'migrate', condition: 'SUCCESS' as const }] },
    { name: 'migrate', dependsOn: [{ containerName: 'db', condition: 'HEALTHY' as const }] },
    { name: 'db' },
    { name: 'log' },
  ];

  it('starts dependencies first, definition order within a level', () => {
    expect(startOrder(defs)).toEqual(['db', 'log', 'migrate', 'web']);
    expect(Object.fromEntries(dependencyLevels(defs))).toEqual({ web: 2, migrate: 1, db: 0, log: 0 });
  });

  it('survives a cycle or a missing name (refused at registration anyway)', () => {
    const cyclic = [
      { name: 'a', dependsOn: [{ containerName: 'b', condition: 'START' as const }] },
      { name: 'b', dependsOn: [{ containerName: 'a', condition: 'START' as const }, { containerName: 'nope', condition: 'START' as const }] },
    ];
    expect(startOrder(cyclic).sort()).toEqual(['a', 'b']);
  });
});

describe('dependency conditions', () => {
  const running = { id: 'x', state: 'running', oomKilled: false, ports: [] };
  const exited = (code: number) => ({ id: 'x', state: 'exited', exitCode: code, oomKilled: false, ports: [] });
  it.each([
    ['START', running, 'ok'],
    ['START', exited(1), 'ok'],
    ['COMPLETE', running, 'wait'],
    ['COMPLETE', exited(3), 'ok'],
    ['SUCCESS', exited(0), 'ok'],
    ['SUCCESS', exited(2), 'failed'],
    ['HEALTHY', { ...running, health: 'starting' as const }, 'wait'],
    ['HEALTHY', { ...running, health: 'healthy' as const }, 'ok'],
    ['HEALTHY', exited(0), 'failed'],
  ])('%s with %j -> %s', (condition, state, verdict) => {
    expect(dependencyVerdict(condition, state, false)).toBe(verdict);
  });
  it('waits for a dependency not started yet', () => {
    expect(dependencyVerdict('START', undefined, true)).toBe('wait');
  });
});

describe('restart backoff', () => {
  it('restarts at once the first time, then doubles from 1 s up to the cap', () => {
    expect([0, 1, 2, 3, 4].map(restartDelayMs)).toEqual([0, 1000, 2000, 4000, 8000]);
    expect(restartDelayMs(30)).toBe(RESTART_MAX_MS);
  });
});

describe('container health', () => {
  it('maps the engine\'s words to ECS\'s', () => {
    expect([containerHealth('healthy'), containerHealth('unhealthy'), containerHealth('starting'), containerHealth(undefined)]).toEqual(['HEALTHY', 'UNHEALTHY', 'UNKNOWN', '']);
  });
});
