import { describe, expect, it } from 'vitest';
import type { ReportedTaskStatus } from '../services/tasks.js';
import { HeldWrites, MAX_REPORTS_PER_TASK } from './held-writes.js';

const report = (taskId: string, lastStatus: string, extra: Partial<ReportedTaskStatus> = {}): ReportedTaskStatus => ({
  taskId,
  lastStatus,
  containers: [],
  stopCode: '',
  stoppedReason: '',
  ...extra,
});
const brief = (rs: ReportedTaskStatus[]) => rs.map((r) => `${r.taskId}:${r.lastStatus}${r.stopCode ? `/${r.stopCode}` : ''}`);

describe('HeldWrites', () => {
  it('hands out reports in arrival order per task, the newest of each status', () => {
    const h = new HeldWrites();
    h.addStatuses([report('a', 'PENDING'), report('b', 'PENDING')]);
    h.addStatuses([report('a', 'RUNNING', { containers: [{ name: 'app', image: '', lastStatus: 'RUNNING', healthStatus: 'UNKNOWN' }] })]);
    h.addStatuses([report('a', 'RUNNING', { containers: [{ name: 'app', image: '', lastStatus: 'RUNNING', healthStatus: 'HEALTHY' }] })]);
    expect(h.size).toBe(3);
    expect(h.tasks).toBe(2);
    const batch = h.take()!;
    expect(brief(batch.statuses)).toEqual(['a:PENDING', 'a:RUNNING', 'b:PENDING']);
    expect(batch.statuses[1]!.containers[0]!.healthStatus).toBe('HEALTHY');
    expect(h.empty).toBe(true);
    expect(h.take()).toBeUndefined();
  });

  it('stays bounded however long it holds: heartbeats and repeated reports replace, they do not add up', () => {
    const h = new HeldWrites();
    for (let i = 0; i < 10_000; i++) {
      h.addStatuses([report(`t${i % 20}`, 'RUNNING', { containers: [{ name: 'app', image: '', lastStatus: 'RUNNING', restartCount: i }] })]);
      h.setAck(i % 7 === 0 ? i : 3);
      h.setUsage({ cpuPercent: i }, new Date(i));
    }
    expect(h.size).toBe(20);
    // An agent flapping between states cannot grow a task's list past the cap.
    for (let i = 0; i < 100; i++) h.addStatuses([report('flap', i % 2 ? 'RUNNING' : 'STOPPED')]);
    expect(h.size).toBe(20 + MAX_REPORTS_PER_TASK);
    const batch = h.take()!;
    expect(batch.ack).toBe(9996);
    expect(batch.usage).toEqual({ usage: { cpuPercent: 9999 }, at: new Date(9999) });
    expect(batch.statuses.filter((r) => r.taskId === 't3')[0]!.containers[0]!.restartCount).toBe(9983);
  });

  it('keeps the warnings of a replaced report (the agent sends them once)', () => {
    const h = new HeldWrites();
    h.addStatuses([report('a', 'PENDING', { warnings: ['awslogs: ignored'] })]);
    h.addStatuses([report('a', 'PENDING', { warnings: [] })]);
    h.addStatuses([report('a', 'PENDING')]);
    expect(h.take()!.statuses).toEqual([report('a', 'PENDING', { warnings: ['awslogs: ignored'] })]);
    for (let i = 0; i <= MAX_REPORTS_PER_TASK; i++) h.addStatuses([report('b', `S${i}`, i === 0 ? { warnings: ['w'] } : {})]);
    const [first] = h.take()!.statuses;
    expect(first).toMatchObject({ lastStatus: 'S1', warnings: ['w'] });
  });

  it('puts a batch the database did not take back before what arrived since, without its usage', () => {
    const h = new HeldWrites();
    h.addStatuses([report('a', 'PENDING'), report('b', 'RUNNING')]);
    h.setAck(4);
    h.setUsage({ cpuPercent: 1 }, new Date(1));
    const failed = h.take()!;
    // Meanwhile: a is RUNNING, b stopped, c appeared; the agent acked 5.
    h.addStatuses([report('a', 'RUNNING'), report('b', 'STOPPED', { stopCode: 'EssentialContainerExited' }), report('c', 'PENDING')]);
    h.setAck(5);
    h.restore(failed);
    const next = h.take()!;
    expect(brief(next.statuses)).toEqual(['a:PENDING', 'a:RUNNING', 'b:RUNNING', 'b:STOPPED/EssentialContainerExited', 'c:PENDING']);
    expect(next.ack).toBe(5);
    expect(next.usage).toBeUndefined();
    // An older ack never wins.
    h.setAck(9);
    h.restore({ statuses: [], ack: 7 });
    expect(h.take()!.ack).toBe(9);
  });
});
