import type { Queryable } from './database.js';

/**
 * Tags on any resource, keyed by the resource part of its ARN (`cluster/lab`,
 * `service/lab/web`, `task/lab/<id>`, `task-definition/web:3`,
 * `container-instance/lab/<id>`).
 */
export interface Tag {
  key: string;
  value: string;
}

export async function resourceTags(q: Queryable, resource: string): Promise<Tag[]> {
  return (await q`SELECT key, value FROM resource_tags WHERE resource = ${resource} ORDER BY key`).map((r) => ({ key: r.key as string, value: r.value as string }));
}

/** Tags of many resources at once. */
export async function resourcesTags(q: Queryable, resources: string[]): Promise<Map<string, Tag[]>> {
  const out = new Map<string, Tag[]>();
  if (resources.length === 0) return out;
  const rows = await q`SELECT resource, key, value FROM resource_tags WHERE resource = ANY(${resources}) ORDER BY resource, key`;
  for (const r of rows) {
    const list = out.get(r.resource as string) ?? [];
    list.push({ key: r.key as string, value: r.value as string });
    out.set(r.resource as string, list);
  }
  return out;
}

/** Sets tags (a key already there gets the new value). */
export async function putResourceTags(q: Queryable, resource: string, tags: Tag[]): Promise<void> {
  if (tags.length === 0) return;
  await q`
    INSERT INTO resource_tags (resource, key, value)
    SELECT ${resource}, k, v FROM unnest(${tags.map((t) => t.key)}::text[], ${tags.map((t) => t.value)}::text[]) AS x(k, v)
    ON CONFLICT (resource, key) DO UPDATE SET value = excluded.value`;
}

export async function deleteResourceTags(q: Queryable, resource: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await q`DELETE FROM resource_tags WHERE resource = ${resource} AND key = ANY(${keys})`;
}

/** Every tag of the resources under a prefix (a deleted task's, when it is pruned). */
export async function deleteAllResourceTags(q: Queryable, resources: string[]): Promise<void> {
  if (resources.length === 0) return;
  await q`DELETE FROM resource_tags WHERE resource = ANY(${resources})`;
}
