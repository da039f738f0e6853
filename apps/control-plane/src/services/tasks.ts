import {
  applyOverrides,
  checkTaskTransition,
  invalid,
  isTaskStatus,
  newTaskId,
  notFound,
  resourceId,
  staticHostPorts,
  tagKeys,
  taskResources,
  type TaskDefinitionSpec,
  type TaskOverride,
} from '@berth/domain';
import {
  appendEvents,
  bumpGenerations,
  decodeToken,
  encodeToken,
  getNode,
  getTaskForUpdate,
  getTasks,
  insertTasks,
  listTasks,
  readTasksForStatus,
  resourceTags,
  pageSize,
  updateTask,
  updateTasks,
  type ContainerRecord,
  type NewEvent,
  type NewTask,
  type Page,
  type TaskKey,
  type TaskPatch,
  type TaskRecord,
  type TaskDefinitionRecord,
  type TaskPlacement,
  type TaskStatusRow,
} from '@berth/store';
import { requireCluster } from './clusters.js';
import type { AppContext } from './context.js';
import { checkPlacement, placeTasks, placeTasksOn } from './placement.js';
import { checkTaskSecrets } from './secrets.js';
import { resolveTaskDefinition } from './task-definitions.js';
import { checkTags, keepTags } from './tags.js';

/** ECS limits RunTask to 10 tasks per call. */
export const MAX_RUN_COUNT = 10;

export interface RunTaskInput {
  cluster?: string;
  taskDefinition: string;
  count?: number;
  startedBy?: string;
  group?: string;
  overrides?: TaskOverride;
  placementConstraints?: { type: string; expression?: string }[];
  placementStrategy?: { type: string; field?: string }[];
  /** ECS tags for the tasks, and whether the task definition's are copied to them (TASK_DEFINITION). */
  tags?: unknown;
  propagateTags?: string;
}

export interface FailureView {
  arn?: string;
  reason: string;
  detail: string;
}

export async function runTaskOp(ctx: AppContext, input: RunTaskInput): Promise<{ tasks: TaskRecord[]; failures: FailureView[] }> {
  const count = input.count || 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_RUN_COUNT) {
    throw invalid(`count: must be 1-${MAX_RUN_COUNT}, got ${input.count}`);
  }
  if ((input.startedBy ?? '').length > 128) throw invalid('startedBy: must be at most 128 characters');
  if ((input.group ?? '').length > 255) throw invalid('group: must be at most 255 characters');
  if ((input.group ?? '').startsWith('service:')) throw invalid('group: "service:" groups belong to services; create a service instead (berth service create)');
  const cluster = await requireCluster(ctx, input.cluster);
  const def = await resolveTaskDefinition(ctx, input.taskDefinition);
  if (def.status !== 'ACTIVE') {
    throw invalid(`taskDefinition: ${def.family}:${def.revision} is ${def.status}; new tasks need an ACTIVE revision`);
  }
  const placement = checkPlacement({ constraints: input.placementConstraints ?? [], strategy: input.placementStrategy ?? [] });
  await checkTaskSecrets(ctx, def.spec, { mustExist: true });
  const tags = await taskTags(ctx, def, input);
  const tpl = taskTemplate(cluster, def, {
    overrides: input.overrides,
    startedBy: input.startedBy ?? '',
    group: input.group || `family:${def.family}`,
    placement,
  });
  const { demand, group } = tpl;
  const row = (nodeId: string | null, placementReason = '') => newTaskRow(ctx, tpl, nodeId, placementReason);
  const placed = await placeTasks(ctx, cluster, { count, demand, group, ...placement }, async (tx, nodeIds) => {
    const tasks = await insertTasks(tx, nodeIds.map((n) => row(n)));
    for (const t of tasks) await keepTags(tx, tagKeys.task(cluster, t.id), tags);
    await bumpGenerations(tx, [...new Set(nodeIds)]);
    await appendEvents(tx, tasks.map((t) => placedEvent(t)));
    return tasks;
  });
  const tasks = [...placed.committed];
  if (placed.placed < count) {
    // ECS with capacity providers: the task waits in PROVISIONING until a node can take it.
    const reason = placed.unplacedReason!;
    const waiting = await ctx.db.sql.begin(async (tx) => {
      const rows = await insertTasks(tx, Array.from({ length: count - placed.placed }, () => row(null, reason)));
      for (const t of rows) await keepTags(tx, tagKeys.task(cluster, t.id), tags);
      await appendEvents(tx, rows.map((t) => ({ cluster, kind: 'task.provisioning', subject: t.id, message: `task ${t.id} (${def.family}:${def.revision}) waits for a node: ${reason}`, data: { reason: placed.unplacedFailureReason } })));
      return rows;
    });
    tasks.push(...waiting);
  }
  ctx.nodesChanged([...new Set(placed.committed.map((t) => t.nodeId!))]);
  ctx.log.info({ cluster, taskDefinition: `${def.family}:${def.revision}`, placed: placed.placed, provisioning: count - placed.placed }, 'run task');
  return { tasks, failures: [] };
}

export interface StartTaskInput extends Omit<RunTaskInput, 'count' | 'placementConstraints' | 'placementStrategy'> {
  /** Node ids or container-instance ARNs: one task on each (ECS: 1-10). */
  containerInstances: string[];
}

/**
 * StartTask: one task on each named node, placed there or not at all (no
 * PROVISIONING wait): a node that cannot take it is a failure naming why
 * (MISSING, INACTIVE, or the scheduler's RESOURCE:... reason).
 */
export async function startTaskOp(ctx: AppContext, input: StartTaskInput): Promise<{ tasks: TaskRecord[]; failures: FailureView[] }> {
  const refs = input.containerInstances ?? [];
  if (refs.length < 1 || refs.length > MAX_RUN_COUNT) throw invalid(`containerInstances: must name 1-${MAX_RUN_COUNT} nodes, got ${refs.length}`);
  if ((input.startedBy ?? '').length > 128) throw invalid('startedBy: must be at most 128 characters');
  if ((input.group ?? '').startsWith('service:')) throw invalid('group: "service:" groups belong to services; create a service instead (berth service create)');
  const cluster = await requireCluster(ctx, input.cluster);
  const def = await resolveTaskDefinition(ctx, input.taskDefinition);
  if (def.status !== 'ACTIVE') throw invalid(`taskDefinition: ${def.family}:${def.revision} is ${def.status}; new tasks need an ACTIVE revision`);
  await checkTaskSecrets(ctx, def.spec, { mustExist: true });
  const tags = await taskTags(ctx, def, input);
  const tpl = taskTemplate(cluster, def, { overrides: input.overrides, startedBy: input.startedBy ?? '', group: input.group || `family:${def.family}`, placement: {} });
  const failures: FailureView[] = [];
  const nodeIds: string[] = [];
  const refOf = new Map<string, string>();
  for (const ref of refs) {
    const id = resourceId(ref);
    const n = await getNode(ctx.db.sql, id);
    if (!n || n.cluster !== cluster) failures.push({ arn: ref, reason: 'MISSING', detail: `node ${id} is not in cluster ${cluster}` });
    else if (n.status === 'INACTIVE') failures.push({ arn: ref, reason: 'INACTIVE', detail: `node ${id} is deregistered` });
    else if (!nodeIds.includes(id)) {
      nodeIds.push(id);
      refOf.set(id, ref);
    }
  }
  const r = await placeTasksOn(ctx, cluster, { demand: tpl.demand, group: tpl.group, constraints: [] }, nodeIds, async (tx, ids) => {
    const tasks = await insertTasks(tx, ids.map((n) => newTaskRow(ctx, tpl, n)));
    for (const t of tasks) await keepTags(tx, tagKeys.task(cluster, t.id), tags);
    await bumpGenerations(tx, [...new Set(ids)]);
    await appendEvents(tx, tasks.map((t) => placedEvent(t)));
    return tasks;
  });
  const placedOn = new Set(r.committed.map((t) => t.nodeId!));
  const left = nodeIds.filter((id) => !placedOn.has(id));
  left.forEach((id, i) => {
    const why = r.failures[i] ?? r.failures[0];
    failures.push({ arn: refOf.get(id)!, reason: why?.reason ?? 'RESOURCE', detail: why?.detail ?? `node ${id} cannot take the task now` });
  });
  ctx.nodesChanged([...placedOn]);
  ctx.log.info({ cluster, taskDefinition: `${def.family}:${def.revision}`, started: r.committed.length, failed: failures.length }, 'start task');
  return { tasks: r.committed, failures };
}

/** A new task's tags: its own, and its task definition's with propagateTags TASK_DEFINITION (its own win). */
async function taskTags(ctx: AppContext, def: TaskDefinitionRecord, input: { tags?: unknown; propagateTags?: string }): Promise<{ key: string; value: string }[]> {
  const own = checkTags(input.tags);
  const propagate = input.propagateTags || 'NONE';
  if (!['NONE', 'TASK_DEFINITION', 'SERVICE'].includes(propagate)) throw invalid(`propagateTags: must be TASK_DEFINITION, SERVICE or NONE, got ${JSON.stringify(propagate)}`);
  if (propagate === 'SERVICE') throw invalid('propagateTags: SERVICE is for tasks a service starts; RunTask takes TASK_DEFINITION or NONE');
  if (propagate !== 'TASK_DEFINITION') return own;
  const merged = new Map((await resourceTags(ctx.db.sql, tagKeys.taskDefinition(def.family, def.revision))).map((t) => [t.key, t.value]));
  for (const t of own) merged.set(t.key, t.value);
  return [...merged].map(([key, value]) => ({ key, value }));
}

/** What every task made from one definition, overrides and placement has in common. */
export interface TaskTemplate {
  cluster: string;
  def: TaskDefinitionRecord;
  spec: TaskDefinitionSpec;
  overrides: Record<string, unknown>;
  demand: { cpu: number; memoryMib: number; hostPorts: string[] };
  containers: ContainerRecord[];
  startedBy: string;
  group: string;
  placement: TaskPlacement;
}

export function taskTemplate(
  cluster: string,
  def: TaskDefinitionRecord,
  o: { overrides?: TaskOverride; startedBy: string; group: string; placement: TaskPlacement },
): TaskTemplate {
  const spec = applyOverrides(def.spec, o.overrides);
  const containers: ContainerRecord[] = spec.containerDefinitions.map((c) => ({
    name: c.name,
    image: c.image,
    lastStatus: 'PENDING',
    cpu: c.cpu,
    memory: c.memory,
    memoryReservation: c.memoryReservation,
  }));
  return {
    cluster,
    def,
    spec,
    overrides: (o.overrides ?? {}) as Record<string, unknown>,
    demand: { ...taskResources(spec), hostPorts: staticHostPorts(spec) },
    containers,
    startedBy: o.startedBy,
    group: o.group,
    placement: o.placement,
  };
}

/** A new task row from a template: PENDING on a node, or PROVISIONING without one. */
export function newTaskRow(ctx: AppContext, t: TaskTemplate, nodeId: string | null, placementReason = ''): NewTask {
  return {
    id: newTaskId(ctx.random),
    cluster: t.cluster,
    family: t.def.family,
    revision: t.def.revision,
    nodeId,
    desiredStatus: 'RUNNING',
    lastStatus: nodeId ? 'PENDING' : 'PROVISIONING',
    spec: t.spec,
    overrides: t.overrides,
    cpu: t.demand.cpu,
    memory: t.demand.memoryMib,
    hostPorts: t.demand.hostPorts,
    containers: t.containers,
    startedBy: t.startedBy,
    group: t.group,
    placement: t.placement,
    placementReason,
  };
}

/** The event of a task getting its node. */
export function placedEvent(t: TaskRecord): NewEvent {
  return { cluster: t.cluster, kind: 'task.placed', subject: t.id, message: `task ${t.id} (${t.family}:${t.revision}) placed on node ${t.nodeId}` };
}

function taskId(ref: string): string {
  const id = resourceId(ref ?? '');
  if (!/^[0-9a-f]{32}$/.test(id)) throw invalid(`task: must be a task id (32 hex characters) or a task ARN, got ${JSON.stringify(ref ?? '')}`);
  return id;
}

export async function stopTaskOp(ctx: AppContext, input: { cluster?: string; task: string; reason?: string }): Promise<TaskRecord> {
  const cluster = await requireCluster(ctx, input.cluster);
  const id = taskId(input.task);
  if ((input.reason ?? '').length > 255) throw invalid('reason: must be at most 255 characters');
  const now = ctx.clock.now();
  const task = await ctx.db.sql.begin(async (tx) => {
    const t = await getTaskForUpdate(tx, id);
    if (!t || t.cluster !== cluster) throw notFound(`task ${id} not found in cluster ${cluster}`).as('task-not-found');
    if (t.desiredStatus === 'STOPPED' || t.lastStatus === 'STOPPED') return t;
    // A task without a node (PROVISIONING) has no agent to stop it: it is STOPPED at once.
    const unplaced = !t.nodeId;
    const updated = await updateTask(tx, id, {
      desiredStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: input.reason || 'Task stopped by user',
      stoppingAt: now,
      ...(unplaced ? { lastStatus: 'STOPPED', stoppedAt: now } : {}),
    });
    if (t.nodeId) await bumpGenerations(tx, [t.nodeId]);
    await appendEvents(tx, [{ cluster, kind: 'task.stopping', subject: id, message: `task ${id} asked to stop: ${updated.stoppedReason}` }]);
    return updated;
  });
  if (task.nodeId) ctx.nodesChanged([task.nodeId]);
  return task;
}

export async function describeTasksOp(ctx: AppContext, input: { cluster?: string; tasks: string[] }): Promise<{ found: TaskRecord[]; missing: string[] }> {
  if (input.tasks.length === 0) throw invalid('tasks: must name at least one task');
  if (input.tasks.length > 100) throw invalid(`tasks: must name at most 100 tasks, got ${input.tasks.length}`);
  const cluster = await requireCluster(ctx, input.cluster);
  const wanted = input.tasks.map((ref) => ({ ref, id: resourceId(ref) }));
  const found = await getTasks(ctx.db.sql, cluster, wanted.map((w) => w.id));
  const byId = new Map(found.map((t) => [t.id, t]));
  return {
    found: wanted.flatMap((w) => (byId.has(w.id) ? [byId.get(w.id)!] : [])),
    missing: wanted.filter((w) => !byId.has(w.id)).map((w) => w.ref),
  };
}

export interface ListTasksInput {
  cluster?: string;
  containerInstance?: string;
  family?: string;
  startedBy?: string;
  desiredStatus?: string;
  serviceName?: string;
  nextToken?: string;
  maxResults?: number;
}

export async function listTasksOp(ctx: AppContext, input: ListTasksInput): Promise<Page<TaskKey>> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.desiredStatus && !['RUNNING', 'STOPPED', 'PENDING'].includes(input.desiredStatus)) {
    throw invalid(`desiredStatus: must be RUNNING, PENDING or STOPPED, got ${JSON.stringify(input.desiredStatus)}`);
  }
  const limit = pageSize(input.maxResults);
  if (input.serviceName && input.startedBy) throw invalid('startedBy: cannot be combined with serviceName (as in ECS)');
  const after = decodeToken(input.nextToken) as [string, string] | undefined;
  if (after && !(Array.isArray(after) && after.length === 2 && after.every((x) => typeof x === 'string'))) {
    throw invalid('nextToken: not a token this list returned');
  }
  const items = await listTasks(ctx.db.sql, {
    cluster,
    nodeId: input.containerInstance ? resourceId(input.containerInstance) : undefined,
    family: input.family || undefined,
    startedBy: input.startedBy || undefined,
    group: input.serviceName ? `service:${resourceId(input.serviceName)}` : undefined,
    // ECS: PENDING filters on desiredStatus RUNNING with lastStatus before RUNNING; kept simple here.
    desiredStatus: input.desiredStatus === 'PENDING' ? 'RUNNING' : input.desiredStatus || undefined,
    after,
    limit,
  });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken(last.cursor) : undefined };
}

/** A task status as an agent reports it (the proto TaskStatus, decoupled). */
export interface ReportedTaskStatus {
  taskId: string;
  lastStatus: string;
  containers: ContainerRecord[];
  stopCode: string;
  stoppedReason: string;
  at?: Date;
  /** Task definition fields the agent could not apply (sent once). */
  warnings?: string[];
}

/** Rounds of re-reading tasks that changed under a status batch before giving up on them. */
const STATUS_BATCH_ROUNDS = 5;

/**
 * Applies agent status reports for one node, as one batch: one read, one
 * UPDATE for every changed task, one INSERT of events. Rows are not locked:
 * each update applies only at the version it was decided on, and tasks that
 * changed meanwhile (a StopTask, the liveness controller) are decided again on
 * fresh state. Reports for tasks that are not this node's are ignored;
 * impossible transitions (e.g. RUNNING after STOPPED, a stale report) are
 * rejected and logged, never applied. Several reports for one task in a batch
 * apply in order. Returns whether the node's desired set changed (a task
 * reached STOPPED).
 */
export async function applyTaskStatusReports(ctx: AppContext, nodeId: string, reports: ReportedTaskStatus[]): Promise<boolean> {
  if (reports.length === 0) return false;
  const touchedGroups = new Map<string, Set<string>>();
  const result = await ctx.db.sql.begin(async (tx) => {
    let pending = reports;
    const events: NewEvent[] = [];
    let changed = false;
    for (let round = 1; pending.length > 0; round++) {
      const rows = await readTasksForStatus(tx, pending.map((r) => r.taskId));
      const decided = decideStatusReports(ctx, nodeId, pending, rows);
      const applied = await updateTasks(tx, decided.patches);
      for (const row of rows) {
        if (!applied.has(row.id) || !row.group.startsWith('service:')) continue;
        const names = touchedGroups.get(row.cluster) ?? new Set<string>();
        names.add(row.group.slice('service:'.length));
        touchedGroups.set(row.cluster, names);
      }
      const lost = new Set(decided.patches.filter((p) => !applied.has(p.id)).map((p) => p.id));
      events.push(...decided.events.filter((e) => !lost.has(e.subject)));
      changed ||= decided.stopped.some((id) => !lost.has(id));
      pending = pending.filter((r) => lost.has(r.taskId));
      if (pending.length > 0 && round >= STATUS_BATCH_ROUNDS) {
        ctx.log.warn({ nodeId, tasks: [...lost] }, 'status reports dropped: the tasks kept changing under them (the agent reports again)');
        break;
      }
    }
    if (changed) await bumpGenerations(tx, [nodeId]);
    await appendEvents(tx, events);
    return changed;
  });
  notifyServices(ctx, touchedGroups);
  return result;
}

/** Service tasks whose status changed: their services are looked at again. */
function notifyServices(ctx: AppContext, groups: Map<string, Set<string>>): void {
  for (const [cluster, names] of groups) ctx.servicesChanged?.(cluster, [...names]);
}

/** The pure part of a status batch: what to write for these reports given the tasks as read. */
function decideStatusReports(
  ctx: AppContext,
  nodeId: string,
  reports: ReportedTaskStatus[],
  rows: TaskStatusRow[],
): { patches: Array<TaskPatch & { id: string; expectVersion: number }>; events: NewEvent[]; stopped: string[] } {
  const current = new Map(rows.map((t) => [t.id, t]));
  const patches = new Map<string, TaskPatch & { id: string; expectVersion: number }>();
  const events: NewEvent[] = [];
  const stopped: string[] = [];
  for (const r of reports) {
    const t = current.get(r.taskId);
    if (!t) {
      ctx.log.warn({ nodeId, taskId: r.taskId }, 'status report for an unknown task ignored');
      continue;
    }
    if (t.nodeId !== nodeId) {
      ctx.log.warn({ nodeId, taskId: r.taskId, owner: t.nodeId }, "status report for another node's task ignored");
      continue;
    }
    if (!isTaskStatus(t.lastStatus)) continue;
    const check = checkTaskTransition(t.lastStatus, r.lastStatus);
    if (!check.ok) {
      ctx.log.warn({ nodeId, taskId: t.id, from: t.lastStatus, to: r.lastStatus, reason: check.reason }, 'task transition rejected');
      continue;
    }
    if (r.warnings && r.warnings.length > 0) {
      events.push({ cluster: t.cluster, kind: 'task.warning', subject: t.id, message: `task ${t.id}: not applied on node ${nodeId}: ${r.warnings.join('; ')}`, data: { warnings: r.warnings } });
    }
    const containers = mergeContainers(t.containers, r.containers);
    for (const c of containers) {
      const before = t.containers.find((x) => x.name === c.name)?.restartCount ?? 0;
      if ((c.restartCount ?? 0) > before) {
        events.push({
          cluster: t.cluster,
          kind: 'task.container-restarted',
          subject: t.id,
          message: `task ${t.id}: container ${c.name} restarted in place by its node (${c.restartCount} restart${c.restartCount === 1 ? '' : 's'} so far)`,
          data: { container: c.name, restartCount: c.restartCount, exitCode: c.exitCode ?? null },
        });
      }
    }
    if (r.lastStatus === t.lastStatus && sameContainers(t.containers, containers)) continue;
    const now = reportedTime(r.at, ctx.clock.now());
    const patch = { ...patches.get(t.id), id: t.id, expectVersion: t.version, lastStatus: r.lastStatus, containers };
    if (r.lastStatus === 'RUNNING') patch.startedAt ??= now;
    if (r.lastStatus === 'STOPPED') {
      patch.desiredStatus = 'STOPPED';
      patch.stoppedAt ??= now;
      patch.stoppingAt ??= now;
      if (!t.stopCode) {
        patch.stopCode = r.stopCode || 'EssentialContainerExited';
        patch.stoppedReason = r.stoppedReason || 'Essential container in task exited';
      }
      stopped.push(t.id);
    }
    patches.set(t.id, patch);
    if (r.lastStatus !== t.lastStatus) {
      events.push({ cluster: t.cluster, kind: 'task.status', subject: t.id, message: `task ${t.id} ${t.lastStatus} -> ${r.lastStatus}`, data: { from: t.lastStatus, to: r.lastStatus } });
    }
    // Later reports in this batch see this one applied (the version stays the one read).
    current.set(t.id, { ...t, lastStatus: r.lastStatus, containers, stopCode: patch.stopCode ?? t.stopCode, desiredStatus: patch.desiredStatus ?? t.desiredStatus });
  }
  return { patches: [...patches.values()], events, stopped };
}

/** How far an agent's clock may run ahead, or behind (a report delayed by a disconnection), before its times are not taken. */
export const AGENT_CLOCK_AHEAD_MS = 5_000;
export const AGENT_CLOCK_BEHIND_MS = 60 * 60_000;

/**
 * The time a report says something happened, when the agent's clock is
 * believable; otherwise the control plane's (a Pi without a real-time clock
 * can be a year off until NTP answers). Timestamps drive grace periods.
 */
export function reportedTime(at: Date | undefined, now: Date): Date {
  if (!at) return now;
  const skew = at.getTime() - now.getTime();
  return skew > AGENT_CLOCK_AHEAD_MS || skew < -AGENT_CLOCK_BEHIND_MS ? now : at;
}

function mergeContainers(current: ContainerRecord[], reported: ContainerRecord[]): ContainerRecord[] {
  const byName = new Map(reported.map((c) => [c.name, c]));
  return current.map((c) => {
    const r = byName.get(c.name);
    return r ? { ...c, ...r, image: c.image } : c;
  });
}

function sameContainers(a: ContainerRecord[], b: ContainerRecord[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
