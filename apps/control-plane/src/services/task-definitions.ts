import { arns, invalid, notFound, parseTaskDefinition, parseTaskDefinitionRef, type TaskDefinition } from '@berth/domain';
import {
  decodeToken,
  deregisterTaskDefinition,
  encodeToken,
  getTaskDefinition,
  insertTaskDefinition,
  listTaskDefinitions,
  pageSize,
  type Page,
  type TaskDefinitionRecord,
} from '@berth/store';
import type { AppContext } from './context.js';
import { checkTaskSecrets } from './secrets.js';

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
  const record = await insertTaskDefinition(ctx.db.sql, spec);
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
    );
  }
  return r;
}

export interface ListTaskDefinitionsInput {
  familyPrefix?: string;
  status?: string;
  nextToken?: string;
  maxResults?: number;
}

export async function listTaskDefinitionsOp(ctx: AppContext, input: ListTaskDefinitionsInput): Promise<Page<TaskDefinitionRecord>> {
  const status = input.status || 'ACTIVE';
  if (!['ACTIVE', 'INACTIVE', 'ALL'].includes(status)) throw invalid(`status: must be ACTIVE, INACTIVE or ALL, got ${JSON.stringify(status)}`);
  const limit = pageSize(input.maxResults);
  const after = decodeToken(input.nextToken) as [string, number] | undefined;
  const items = await listTaskDefinitions(ctx.db.sql, { familyPrefix: input.familyPrefix, status, after, limit });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken([last.family, last.revision]) : undefined };
}

export async function deregisterTaskDefinitionOp(ctx: AppContext, ref: string): Promise<TaskDefinitionRecord> {
  const parsed = parseTaskDefinitionRef(ref ?? '');
  if (!parsed || parsed.revision === undefined) {
    throw invalid(`taskDefinition: must be family:revision or a task definition ARN, got ${JSON.stringify(ref ?? '')}`);
  }
  const r = await deregisterTaskDefinition(ctx.db.sql, parsed.family, parsed.revision);
  if (!r) throw notFound(`task definition ${parsed.family}:${parsed.revision} not found`);
  return r;
}
