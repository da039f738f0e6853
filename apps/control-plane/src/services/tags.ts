import { invalid, notFound, parseEcsArn, tagKeys, validationFailed, type FieldError } from '@berth/domain';
import { deleteResourceTags, getCluster, getNode, getService, getTaskDefinition, getTasks, putResourceTags, resourceTags, type Queryable, type Tag } from '@berth/store';
import type { AppContext } from './context.js';

/**
 * Tags on clusters, services, tasks, task definitions and nodes (ECS
 * TagResource, UntagResource, ListTagsForResource, and `tags` at creation).
 * ECS's limits: 50 tags per resource, keys 1-128 and values 0-256 characters,
 * the `aws:` prefix reserved.
 */

export const MAX_TAGS = 50;

/** ECS tags as they arrive ({key, value}) -> checked tags; every problem at once. */
export function checkTags(input: unknown, field = 'tags'): Tag[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw invalid(`${field}: must be an array of {key, value}`);
  const errors: FieldError[] = [];
  const out = new Map<string, string>();
  input.forEach((t: { key?: unknown; value?: unknown } | null, i) => {
    const key = t?.key;
    const value = t?.value ?? '';
    if (typeof key !== 'string' || key.length < 1 || key.length > 128) errors.push({ path: `${field}[${i}].key`, rule: 'must be 1-128 characters', value: key });
    else if (/^aws:/i.test(key)) errors.push({ path: `${field}[${i}].key`, rule: 'must not start with aws: (reserved)', value: key });
    else if (typeof value !== 'string' || value.length > 256) errors.push({ path: `${field}[${i}].value`, rule: 'must be at most 256 characters', value });
    else out.set(key, value);
  });
  if (out.size > MAX_TAGS) errors.push({ path: field, rule: `must have at most ${MAX_TAGS} tags`, value: out.size });
  if (errors.length > 0) throw validationFailed('tags', errors);
  return [...out].map(([key, value]) => ({ key, value }));
}

/** A resource ARN -> the key its tags are kept under, after checking the resource exists. */
export async function taggedResource(ctx: AppContext, q: Queryable, arn: string): Promise<string> {
  const a = parseEcsArn(arn ?? '');
  if (!a) throw invalid(`resourceArn: must be an ECS ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/...), got ${JSON.stringify((arn ?? '').slice(0, 120))}`);
  const missing = () => notFound(`resourceArn: ${arn} does not exist`).as('resource-not-found');
  const [first, second] = a.path;
  switch (a.type) {
    case 'cluster': {
      const c = await getCluster(q, first!);
      if (!c || c.status !== 'ACTIVE' || a.path.length !== 1) throw missing();
      return tagKeys.cluster(first!);
    }
    case 'service': {
      // ECS's short service ARN (service/NAME) has no cluster: the default cluster.
      const [cluster, name] = a.path.length === 1 ? ['default', first!] : [first!, second!];
      const s = await getService(q, cluster, name);
      if (!s || s.status === 'INACTIVE') throw missing();
      return tagKeys.service(cluster, name);
    }
    case 'task': {
      if (a.path.length !== 2) throw missing();
      const [t] = await getTasks(q, first!, [second!]);
      if (!t) throw missing();
      return tagKeys.task(first!, second!);
    }
    case 'task-definition': {
      const m = /^([A-Za-z0-9_-]{1,255}):(\d+)$/.exec(a.path.join('/'));
      if (!m) throw invalid(`resourceArn: a task definition ARN ends with FAMILY:REVISION, got ${JSON.stringify(arn)}`);
      if (!(await getTaskDefinition(q, m[1]!, Number(m[2])))) throw missing();
      return tagKeys.taskDefinition(m[1]!, Number(m[2]));
    }
    case 'container-instance': {
      if (a.path.length !== 2) throw missing();
      const n = await getNode(q, second!);
      if (!n || n.cluster !== first) throw missing();
      return tagKeys.containerInstance(first!, second!);
    }
    default:
      throw invalid(`resourceArn: tags are kept on clusters, services, tasks, task definitions and container instances, not ${a.type}`);
  }
}

export async function tagResourceOp(ctx: AppContext, input: { resourceArn: string; tags: unknown }): Promise<void> {
  const tags = checkTags(input.tags);
  if (tags.length === 0) throw invalid('tags: name at least one tag');
  await ctx.db.sql.begin(async (tx) => {
    const key = await taggedResource(ctx, tx, input.resourceArn);
    await putResourceTags(tx, key, tags);
    const all = await resourceTags(tx, key);
    if (all.length > MAX_TAGS) throw invalid(`tags: a resource has at most ${MAX_TAGS} tags; ${input.resourceArn} would have ${all.length}`);
  });
}

export async function untagResourceOp(ctx: AppContext, input: { resourceArn: string; tagKeys: string[] }): Promise<void> {
  if (!Array.isArray(input.tagKeys) || input.tagKeys.length === 0) throw invalid('tagKeys: name at least one key');
  const key = await taggedResource(ctx, ctx.db.sql, input.resourceArn);
  await deleteResourceTags(ctx.db.sql, key, input.tagKeys);
}

export async function listTagsForResourceOp(ctx: AppContext, input: { resourceArn: string }): Promise<Tag[]> {
  const key = await taggedResource(ctx, ctx.db.sql, input.resourceArn);
  return resourceTags(ctx.db.sql, key);
}

/** Tags given at creation, kept under the new resource's key (in the creating transaction). */
export async function keepTags(q: Queryable, key: string, tags: Tag[] | undefined): Promise<void> {
  if (tags && tags.length > 0) await putResourceTags(q, key, tags);
}
