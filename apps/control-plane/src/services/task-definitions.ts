import { arns, invalid, notFound, parseTaskDefinition, parseTaskDefinitionRef, tagKeys, type TaskDefinition } from '@berth/domain';
import {
  decodeToken,
  deregisterTaskDefinition,
  encodeToken,
  getTaskDefinition,
  insertTaskDefinition,
  listTaskDefinitionFamilies,
  listTaskDefinitions,
  markTaskDefinitionDeleted,
  pageSize,
  type Page,
  type TaskDefinitionRecord,
} from '@berth/store';
import type { AppContext } from './context.js';
import { checkTaskSecrets } from './secrets.js';
import { checkTags, keepTags } from './tags.js';

/** Largest task-definition document accepted (ECS allows 64 KiB). */
export const MAX_TASK_DEFINITION_BYTES = 64 * 1024;

/** The ECS describe shape of a stored revision. */
export function toTaskDefinition(ctx: AppContext, r: TaskDefinitionRecord): TaskDefinition {
  return {
    taskDefinitionArn: arns.taskDefinition(ctx.arn, r.family, r.revision),
    ...r.spec,
    family: r.family,
    revision: r.revision,
    status: r.status,
    registeredAt: r.registeredAt.toISOString(),
  };
}

export async function registerTaskDefinitionOp(ctx: AppContext, json: string): Promise<{ record: TaskDefinitionRecord; warnings: string[] }> {
  if (Buffer.byteLength(json) > MAX_TASK_DEFINITION_BYTES) {
    throw invalid(`taskDefinition: must be at most ${MAX_TASK_DEFINITION_BYTES} bytes, got ${Buffer.byteLength(json)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw invalid(`taskDefinition: is not valid JSON: ${(err as Error).message}`);
  }
  const { spec, warnings } = parseTaskDefinition(doc);
  // Its role must allow every secret it names (they may be written later).
  await checkTaskSecrets(ctx, spec, { mustExist: false });
  const tags = checkTags((spec as { tags?: unknown }).tags);
  const record = await insertTaskDefinition(ctx.db.sql, spec);
  // A lost connection here leaves the revision without its tags (TagResource adds them); never a tag without a revision.
  await keepTags(ctx.db.sql, tagKeys.taskDefinition(record.family, record.revision), tags);
  ctx.log.info({ family: record.family, revision: record.revision, warnings: warnings.length }, 'task definition registered');
  return { record, warnings };
}

export async function resolveTaskDefinition(ctx: AppContext, ref: string): Promise<TaskDefinitionRecord> {
  const parsed = parseTaskDefinitionRef(ref ?? '');
  if (!parsed) {
    throw invalid(`taskDefinition: must be family, family:revision or a task definition ARN, got ${JSON.stringify(ref ?? '')}`);
  }
  const r = await getTaskDefinition(ctx.db.sql, parsed.family, parsed.revision);
  if (!r) {
    throw notFound(
      parsed.revision === undefined
        ? `task definition family ${parsed.family} not found (or it has no ACTIVE revision): register it first`
        : `task definition ${parsed.family}:${parsed.revision} not found`,
    ).as('task-definition-not-found');
  }
  return r;
}

export interface ListTaskDefinitionsInput {
  familyPrefix?: string;
  status?: string;
  nextToken?: string;
  maxResults?: number;
  /** ASC (default) or DESC, by family then revision. */
  sort?: string;
}

export async function listTaskDefinitionsOp(ctx: AppContext, input: ListTaskDefinitionsInput): Promise<Page<TaskDefinitionRecord>> {
  const status = input.status || 'ACTIVE';
  if (!['ACTIVE', 'INACTIVE', 'ALL'].includes(status)) throw invalid(`status: must be ACTIVE, INACTIVE or ALL, got ${JSON.stringify(status)}`);
  const sort = input.sort || 'ASC';
  if (sort !== 'ASC' && sort !== 'DESC') throw invalid(`sort: must be ASC or DESC, got ${JSON.stringify(sort)}`);
  const limit = pageSize(input.maxResults);
  const after = decodeToken(input.nextToken) as [string, number] | undefined;
  if (after && !(after.length === 2 && typeof after[0] === 'string' && typeof after[1] === 'number')) throw invalid('nextToken: not a token this list returned');
  const items = await listTaskDefinitions(ctx.db.sql, { familyPrefix: input.familyPrefix, status, after, limit, sort });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken([last.family, last.revision]) : undefined };
}

export async function deregisterTaskDefinitionOp(ctx: AppContext, ref: string): Promise<TaskDefinitionRecord> {
  const parsed = parseTaskDefinitionRef(ref ?? '');
  if (!parsed || parsed.revision === undefined) {
    throw invalid(`taskDefinition: must be family:revision or a task definition ARN, got ${JSON.stringify(ref ?? '')}`);
  }
  const r = await deregisterTaskDefinition(ctx.db.sql, parsed.family, parsed.revision);
  if (!r) throw notFound(`task definition ${parsed.family}:${parsed.revision} not found`).as('task-definition-not-found');
  return r;
}

/** ListTaskDefinitionFamilies: family names with an ACTIVE revision (status ACTIVE), none (INACTIVE), or any (ALL). */
export async function listTaskDefinitionFamiliesOp(ctx: AppContext, input: { familyPrefix?: string; status?: string; nextToken?: string; maxResults?: number }): Promise<Page<string>> {
  const status = input.status || 'ACTIVE';
  if (!['ACTIVE', 'INACTIVE', 'ALL'].includes(status)) throw invalid(`status: must be ACTIVE, INACTIVE or ALL, got ${JSON.stringify(status)}`);
  const limit = pageSize(input.maxResults);
  const after = decodeToken(input.nextToken);
  if (after && !(after.length === 1 && typeof after[0] === 'string')) throw invalid('nextToken: not a token this list returned');
  const items = await listTaskDefinitionFamilies(ctx.db.sql, { familyPrefix: input.familyPrefix, status, after: after?.[0] as string | undefined, limit });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken([last]) : undefined };
}

/**
 * DeleteTaskDefinitions: INACTIVE revisions become DELETE_IN_PROGRESS (ECS
 * deletes them once no task refers to them; Berth keeps the row, as tasks
 * carry their own copy). An ACTIVE revision is a failure: deregister it first.
 */
export async function deleteTaskDefinitionsOp(ctx: AppContext, refs: string[]): Promise<{ deleted: TaskDefinitionRecord[]; failures: { arn: string; reason: string; detail: string }[] }> {
  if (refs.length === 0 || refs.length > 10) throw invalid(`taskDefinitions: must name 1-10 revisions, got ${refs.length}`);
  const deleted: TaskDefinitionRecord[] = [];
  const failures: { arn: string; reason: string; detail: string }[] = [];
  for (const ref of refs) {
    const parsed = parseTaskDefinitionRef(ref ?? '');
    if (!parsed || parsed.revision === undefined) {
      failures.push({ arn: ref, reason: 'INVALID_ARGUMENT', detail: 'must be family:revision or a task definition ARN' });
      continue;
    }
    const r = await markTaskDefinitionDeleted(ctx.db.sql, parsed.family, parsed.revision);
    if (!r) failures.push({ arn: arns.taskDefinition(ctx.arn, parsed.family, parsed.revision), reason: 'MISSING', detail: 'no such revision' });
    else if (r.status === 'ACTIVE') failures.push({ arn: arns.taskDefinition(ctx.arn, r.family, r.revision), reason: 'TASK_DEFINITION_ACTIVE', detail: 'deregister the revision before deleting it' });
    else deleted.push(r);
  }
  return { deleted, failures };
}
