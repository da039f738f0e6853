import type { Queryable } from './database.js';
import type { ContainerRecord, TaskRecord } from './records.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toTask(r: any): TaskRecord {
  return {
    id: r.id,
    cluster: r.cluster,
    family: r.family,
    revision: r.revision,
    nodeId: r.node_id,
    desiredStatus: r.desired_status,
    lastStatus: r.last_status,
    spec: r.spec,
    overrides: r.overrides,
    cpu: r.cpu,
    memory: r.memory,
    hostPorts: r.host_ports,
    containers: r.containers,
    startedBy: r.started_by,
    group: r.task_group,
    placement: r.placement ?? {},
    placementReason: r.placement_reason ?? '',
    stopCode: r.stop_code,
    stoppedReason: r.stopped_reason,
    version: r.version,
    createdAt: r.created_at,
    pullStartedAt: r.pull_started_at,
    startedAt: r.started_at,
    stoppingAt: r.stopping_at,
    stoppedAt: r.stopped_at,
    updatedAt: r.updated_at,
  };
}

export type NewTask = Pick<
  TaskRecord,
  | 'id'
  | 'cluster'
  | 'family'
  | 'revision'
  | 'nodeId'
  | 'desiredStatus'
  | 'lastStatus'
  | 'spec'
  | 'overrides'
  | 'cpu'
  | 'memory'
  | 'hostPorts'
  | 'containers'
  | 'startedBy'
  | 'group'
> &
  Partial<Pick<TaskRecord, 'placement' | 'placementReason'>>;

export async function insertTasks(q: Queryable, tasks: NewTask[]): Promise<TaskRecord[]> {
  if (tasks.length === 0) return [];
  const rows = tasks.map((t) => ({
    id: t.id,
    cluster: t.cluster,
    family: t.family,
    revision: t.revision,
    node_id: t.nodeId,
    desired_status: t.desiredStatus,
    last_status: t.lastStatus,
    spec: q.json(t.spec as never),
    overrides: q.json(t.overrides as never),
    cpu: t.cpu,
    memory: t.memory,
    host_ports: q.array(t.hostPorts),
    containers: q.json(t.containers as never),
    started_by: t.startedBy,
    task_group: t.group,
    placement: q.json((t.placement ?? {}) as never),
    placement_reason: t.placementReason ?? '',
  }));
  const inserted = await q`INSERT INTO tasks ${q(rows)} RETURNING *`;
  return inserted.map(toTask);
}

export async function getTasks(q: Queryable, cluster: string, ids: string[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  const rows = await q`SELECT * FROM tasks WHERE cluster = ${cluster} AND id = ANY(${ids})`;
  return rows.map(toTask);
}

/** Tasks of a group (e.g. a service's) that are not STOPPED, oldest first. */
export async function activeTasksOfGroup(q: Queryable, cluster: string, group: string): Promise<TaskRecord[]> {
  const rows = await q`SELECT * FROM tasks WHERE cluster = ${cluster} AND task_group = ${group} AND last_status <> 'STOPPED' ORDER BY created_at, id`;
  return rows.map(toTask);
}

export async function getTaskForUpdate(q: Queryable, id: string): Promise<TaskRecord | undefined> {
  const [r] = await q`SELECT * FROM tasks WHERE id = ${id} FOR UPDATE`;
  return r ? toTask(r) : undefined;
}

export interface TaskFilter {
  cluster: string;
  nodeId?: string;
  family?: string;
  startedBy?: string;
  /** ECS task group, e.g. "service:web" for a service's tasks. */
  group?: string;
  desiredStatus?: string;
  /** Keyset: the `cursor` of the last task of the previous page. */
  after?: [string, string];
  limit: number;
}

/** What a list returns: enough to name the task and to continue the page. */
export interface TaskKey {
  id: string;
  cluster: string;
  /** (created_at with microseconds, id): the keyset position of this task. */
  cursor: [string, string];
}

/**
 * One page of task keys in (created_at, id) order. Reads only key columns, so a
 * page costs the same whatever the task definitions weigh; each filter has an
 * index in that order (migration 004).
 */
export async function listTasks(q: Queryable, f: TaskFilter): Promise<TaskKey[]> {
  // ::text first: given a timestamptz parameter, postgres.js would round the cursor to milliseconds.
  const rows = await q`
    SELECT id, cluster, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key FROM tasks
    WHERE cluster = ${f.cluster}
      ${f.nodeId ? q`AND node_id = ${f.nodeId}` : q``}
      ${f.family ? q`AND family = ${f.family}` : q``}
      ${f.startedBy ? q`AND started_by = ${f.startedBy}` : q``}
      ${f.group ? q`AND task_group = ${f.group}` : q``}
      ${f.desiredStatus ? q`AND desired_status = ${f.desiredStatus}` : q``}
      ${f.after ? q`AND (created_at, id) > (${f.after[0]}::text::timestamptz, ${f.after[1]})` : q``}
    ORDER BY created_at, id
    LIMIT ${f.limit}`;
  return rows.map((r) => ({ id: r.id as string, cluster: r.cluster as string, cursor: [r.created_key as string, r.id as string] }));
}

/** The columns a status report needs, with the row version it was read at. */
export interface TaskStatusRow {
  id: string;
  cluster: string;
  nodeId: string | null;
  desiredStatus: string;
  lastStatus: string;
  containers: ContainerRecord[];
  stopCode: string;
  group: string;
  version: number;
}

/**
 * Reads the named tasks' status columns without locking them: writers check
 * the version instead (updateTasks with `expectVersion`), which costs no
 * lock record per row.
 */
export async function readTasksForStatus(q: Queryable, ids: string[]): Promise<TaskStatusRow[]> {
  if (ids.length === 0) return [];
  const rows = await q`
    SELECT id, cluster, node_id, desired_status, last_status, containers, stop_code, task_group, version FROM tasks
    WHERE id = ANY(${[...new Set(ids)]})`;
  return rows.map((r) => ({
    id: r.id,
    cluster: r.cluster,
    nodeId: r.node_id,
    desiredStatus: r.desired_status,
    lastStatus: r.last_status,
    containers: r.containers,
    stopCode: r.stop_code,
    group: r.task_group,
    version: Number(r.version),
  }));
}

/**
 * Applies many patches in one statement (UPDATE ... FROM unnest), with the
 * same column rules as updateTask. The batch path for agent status reports.
 * A patch with `expectVersion` applies only if the task is still at that
 * version (optimistic concurrency); returns the ids that were updated.
 */
export async function updateTasks(q: Queryable, patches: Array<TaskPatch & { id: string; expectVersion?: number }>): Promise<Set<string>> {
  if (patches.length === 0) return new Set();
  const col = <T>(f: (p: TaskPatch & { id: string; expectVersion?: number }) => T | undefined): Array<T | null> => patches.map((p) => f(p) ?? null);
  const ts = (d: Date | undefined) => d?.toISOString();
  const rows = await q`
    UPDATE tasks t SET
      desired_status = coalesce(u.desired_status, t.desired_status),
      last_status = coalesce(u.last_status, t.last_status),
      containers = coalesce(u.containers::jsonb, t.containers),
      stop_code = coalesce(u.stop_code, t.stop_code),
      stopped_reason = coalesce(u.stopped_reason, t.stopped_reason),
      pull_started_at = coalesce(t.pull_started_at, u.pull_started_at),
      started_at = coalesce(t.started_at, u.started_at),
      stopping_at = coalesce(t.stopping_at, u.stopping_at),
      stopped_at = coalesce(t.stopped_at, u.stopped_at),
      version = t.version + 1,
      updated_at = now()
    FROM unnest(
      ${col((p) => p.id)}::text[],
      ${col((p) => p.desiredStatus)}::text[],
      ${col((p) => p.lastStatus)}::text[],
      ${col((p) => (p.containers ? JSON.stringify(p.containers) : undefined))}::text[],
      ${col((p) => p.stopCode)}::text[],
      ${col((p) => p.stoppedReason)}::text[],
      ${col((p) => ts(p.pullStartedAt))}::timestamptz[],
      ${col((p) => ts(p.startedAt))}::timestamptz[],
      ${col((p) => ts(p.stoppingAt))}::timestamptz[],
      ${col((p) => ts(p.stoppedAt))}::timestamptz[],
      ${col((p) => (p.expectVersion === undefined ? undefined : String(p.expectVersion)))}::bigint[]
    ) AS u(id, desired_status, last_status, containers, stop_code, stopped_reason, pull_started_at, started_at, stopping_at, stopped_at, expect_version)
    WHERE t.id = u.id AND (u.expect_version IS NULL OR t.version = u.expect_version)
    RETURNING t.id`;
  return new Set(rows.map((r) => r.id as string));
}

/**
 * The node's desired set: every task placed there that has not been reported
 * STOPPED. Tasks asked to stop are included with desiredStatus STOPPED until
 * the agent confirms.
 */
export async function desiredTasksForNode(q: Queryable, nodeId: string): Promise<TaskRecord[]> {
  const rows = await q`SELECT * FROM tasks WHERE node_id = ${nodeId} AND last_status <> 'STOPPED' ORDER BY created_at, id`;
  return rows.map(toTask);
}

export interface TaskPatch {
  desiredStatus?: string;
  lastStatus?: string;
  containers?: ContainerRecord[];
  stopCode?: string;
  stoppedReason?: string;
  pullStartedAt?: Date;
  startedAt?: Date;
  stoppingAt?: Date;
  stoppedAt?: Date;
}

/** Applies a patch and bumps the task's version (ECS `version`). */
export async function updateTask(q: Queryable, id: string, p: TaskPatch): Promise<TaskRecord> {
  const [r] = await q`
    UPDATE tasks SET
      desired_status = coalesce(${p.desiredStatus ?? null}, desired_status),
      last_status = coalesce(${p.lastStatus ?? null}, last_status),
      containers = coalesce(${p.containers ? q.json(p.containers as never) : null}, containers),
      stop_code = coalesce(${p.stopCode ?? null}, stop_code),
      stopped_reason = coalesce(${p.stoppedReason ?? null}, stopped_reason),
      pull_started_at = coalesce(pull_started_at, ${p.pullStartedAt ?? null}),
      started_at = coalesce(started_at, ${p.startedAt ?? null}),
      stopping_at = coalesce(stopping_at, ${p.stoppingAt ?? null}),
      stopped_at = coalesce(stopped_at, ${p.stoppedAt ?? null}),
      version = version + 1,
      updated_at = now()
    WHERE id = ${id}
    RETURNING *`;
  return toTask(r);
}

/** Every task of a node that is not STOPPED becomes STOPPED with this code and reason. Returns their ids. */
export async function stopTasksOfNode(q: Queryable, nodeId: string, stopCode: string, reason: string, at: Date): Promise<string[]> {
  const rows = await q`
    UPDATE tasks SET
      last_status = 'STOPPED', desired_status = 'STOPPED',
      stop_code = CASE WHEN stop_code = '' THEN ${stopCode} ELSE stop_code END,
      stopped_reason = CASE WHEN stopped_reason = '' THEN ${reason} ELSE stopped_reason END,
      stopping_at = coalesce(stopping_at, ${at}), stopped_at = ${at},
      containers = (SELECT coalesce(jsonb_agg(c || '{"lastStatus": "STOPPED"}'::jsonb), '[]'::jsonb) FROM jsonb_array_elements(containers) c),
      version = version + 1, updated_at = now()
    WHERE node_id = ${nodeId} AND last_status <> 'STOPPED'
    RETURNING id`;
  return rows.map((r) => r.id as string);
}

/** Deletes up to `limit` tasks STOPPED before `before`; returns how many. */
export async function pruneStoppedTasks(q: Queryable, before: Date, limit: number): Promise<number> {
  const rows = await q`
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM tasks WHERE last_status = 'STOPPED' AND stopped_at < ${before} LIMIT ${limit}
    ) RETURNING id`;
  return rows.length;
}

/** Tasks waiting for a node (PROVISIONING), oldest first. */
export async function unplacedTasks(q: Queryable, cluster: string, limit: number): Promise<TaskRecord[]> {
  const rows = await q`
    SELECT * FROM tasks WHERE cluster = ${cluster} AND node_id IS NULL AND last_status = 'PROVISIONING'
    ORDER BY created_at, id LIMIT ${limit}`;
  return rows.map(toTask);
}

/** Clusters with tasks waiting for a node. */
export async function clustersWithUnplacedTasks(q: Queryable): Promise<string[]> {
  const rows = await q`SELECT DISTINCT cluster FROM tasks WHERE node_id IS NULL AND last_status = 'PROVISIONING'`;
  return rows.map((r) => r.cluster as string);
}

/** PROVISIONING -> PENDING on a node, only for tasks still unplaced (returns the ids that moved). */
export async function assignTasks(q: Queryable, assignments: { id: string; nodeId: string }[]): Promise<Set<string>> {
  if (assignments.length === 0) return new Set();
  const rows = await q`
    UPDATE tasks t SET node_id = a.node_id, last_status = 'PENDING', placement_reason = '', version = t.version + 1, updated_at = now()
    FROM unnest(${q.array(assignments.map((a) => a.id))}::text[], ${q.array(assignments.map((a) => a.nodeId))}::text[]) AS a(id, node_id)
    WHERE t.id = a.id AND t.node_id IS NULL AND t.last_status = 'PROVISIONING' AND t.desired_status = 'RUNNING'
    RETURNING t.id`;
  return new Set(rows.map((r) => r.id as string));
}

/** Records why PROVISIONING tasks still have no node (only where it changed; returns those ids). */
export async function setPlacementReason(q: Queryable, ids: string[], reason: string): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await q`
    UPDATE tasks SET placement_reason = ${reason}, updated_at = now()
    WHERE id = ANY(${ids}) AND node_id IS NULL AND last_status = 'PROVISIONING' AND placement_reason <> ${reason}
    RETURNING id`;
  return rows.map((r) => r.id as string);
}
