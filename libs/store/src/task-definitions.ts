import type { TaskDefinitionSpec } from '@berth/domain';
import type { Queryable, Sql } from './database.js';
import type { TaskDefinitionRecord } from './records.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toTaskDefinition(r: any): TaskDefinitionRecord {
  return {
    family: r.family,
    revision: r.revision,
    status: r.status,
    spec: r.spec,
    registeredAt: r.registered_at,
    deregisteredAt: r.deregistered_at,
  };
}

const UNIQUE_VIOLATION = '23505';

/**
 * Registers the next revision of a family. Two registrations racing for the
 * same revision number: the loser retries with the next one.
 */
export async function insertTaskDefinition(sql: Sql, spec: TaskDefinitionSpec): Promise<TaskDefinitionRecord> {
  for (let attempt = 0; ; attempt++) {
    try {
      const [r] = await sql`
        INSERT INTO task_definitions (family, revision, spec)
        SELECT ${spec.family}, coalesce(max(revision), 0) + 1, ${sql.json(spec as never)}
        FROM task_definitions WHERE family = ${spec.family}
        RETURNING *`;
      return toTaskDefinition(r);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 10) throw err;
    }
  }
}

/** A revision, or the latest ACTIVE one when revision is absent. */
export async function getTaskDefinition(q: Queryable, family: string, revision?: number): Promise<TaskDefinitionRecord | undefined> {
  const [r] =
    revision === undefined
      ? await q`SELECT * FROM task_definitions WHERE family = ${family} AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1`
      : await q`SELECT * FROM task_definitions WHERE family = ${family} AND revision = ${revision}`;
  return r ? toTaskDefinition(r) : undefined;
}

export interface TaskDefinitionFilter {
  familyPrefix?: string;
  /** ACTIVE, INACTIVE or ALL. */
  status: string;
  after?: [string, number];
  limit: number;
  /** ECS's sort: by family, then revision; DESC walks backwards (default ASC). */
  sort?: 'ASC' | 'DESC';
}

export async function listTaskDefinitions(q: Queryable, f: TaskDefinitionFilter): Promise<TaskDefinitionRecord[]> {
  const prefix = f.familyPrefix ? f.familyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%' : undefined;
  const rows = await q`
    SELECT * FROM task_definitions
    WHERE true
      ${f.status !== 'ALL' ? q`AND status = ${f.status}` : q``}
      ${prefix ? q`AND family LIKE ${prefix}` : q``}
      ${f.after ? (f.sort === 'DESC' ? q`AND (family, revision) < (${f.after[0]}, ${f.after[1]})` : q`AND (family, revision) > (${f.after[0]}, ${f.after[1]})`) : q``}
    ${f.sort === 'DESC' ? q`ORDER BY family DESC, revision DESC` : q`ORDER BY family, revision`}
    LIMIT ${f.limit}`;
  return rows.map(toTaskDefinition);
}

/**
 * ListTaskDefinitionFamilies: families with a revision in the status (ACTIVE:
 * at least one ACTIVE revision; INACTIVE: none ACTIVE; ALL: any), by name.
 */
export async function listTaskDefinitionFamilies(q: Queryable, f: { familyPrefix?: string; status: string; after?: string; limit: number }): Promise<string[]> {
  const prefix = f.familyPrefix ? f.familyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%' : undefined;
  const rows = await q`
    SELECT family FROM task_definitions
    WHERE status <> 'DELETE_IN_PROGRESS'
      ${prefix ? q`AND family LIKE ${prefix}` : q``}
      ${f.after !== undefined ? q`AND family > ${f.after}` : q``}
    GROUP BY family
    ${f.status === 'ACTIVE' ? q`HAVING bool_or(status = 'ACTIVE')` : f.status === 'INACTIVE' ? q`HAVING NOT bool_or(status = 'ACTIVE')` : q``}
    ORDER BY family
    LIMIT ${f.limit}`;
  return rows.map((r) => r.family as string);
}

/** DeleteTaskDefinitions: an INACTIVE revision becomes DELETE_IN_PROGRESS (kept while tasks refer to it, as ECS). Undefined: no such revision. */
export async function markTaskDefinitionDeleted(q: Queryable, family: string, revision: number): Promise<TaskDefinitionRecord | undefined> {
  const [r] = await q`
    UPDATE task_definitions SET status = CASE WHEN status = 'INACTIVE' THEN 'DELETE_IN_PROGRESS' ELSE status END
    WHERE family = ${family} AND revision = ${revision}
    RETURNING *`;
  return r ? toTaskDefinition(r) : undefined;
}

export async function deregisterTaskDefinition(q: Queryable, family: string, revision: number): Promise<TaskDefinitionRecord | undefined> {
  const [r] = await q`
    UPDATE task_definitions
    SET status = 'INACTIVE', deregistered_at = coalesce(deregistered_at, now())
    WHERE family = ${family} AND revision = ${revision}
    RETURNING *`;
  return r ? toTaskDefinition(r) : undefined;
}
