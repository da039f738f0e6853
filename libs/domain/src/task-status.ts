/**
 * The ECS task lifecycle, in one table. lastStatus only moves forward along
 * this order (a task may skip states, e.g. PENDING -> STOPPED when a container
 * fails to start), and STOPPED is final.
 */
export const TASK_STATUSES = [
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export type DesiredStatus = 'RUNNING' | 'STOPPED';

export const STOP_CODES = [
  'TaskFailedToStart',
  'EssentialContainerExited',
  'UserInitiated',
  'ServiceSchedulerInitiated',
  'SpotInterruption',
  'TerminationNotice',
  'NodeLost',
] as const;
export type StopCode = (typeof STOP_CODES)[number];

const rank = new Map<string, number>(TASK_STATUSES.map((s, i) => [s, i]));

export function isTaskStatus(s: string): s is TaskStatus {
  return rank.has(s);
}

/** Transitions allowed from each status: forward only (states may be skipped), STOPPED is final. */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  PROVISIONING: ['PENDING', 'ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
  PENDING: ['ACTIVATING', 'RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
  ACTIVATING: ['RUNNING', 'DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
  RUNNING: ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
  DEACTIVATING: ['STOPPING', 'DEPROVISIONING', 'STOPPED'],
  STOPPING: ['DEPROVISIONING', 'STOPPED'],
  DEPROVISIONING: ['STOPPED'],
  STOPPED: [],
};

export type TransitionCheck = { ok: true } | { ok: false; reason: string };

export function checkTaskTransition(from: TaskStatus, to: string): TransitionCheck {
  if (!isTaskStatus(to)) return { ok: false, reason: `unknown task status ${JSON.stringify(to)}` };
  if (from === to) return { ok: true };
  if (TASK_TRANSITIONS[from].includes(to)) return { ok: true };
  return { ok: false, reason: `a task cannot go from ${from} back to ${to}` };
}

/** Tasks that hold resources on their node. */
export function holdsResources(last: TaskStatus): boolean {
  return last !== 'STOPPED';
}
