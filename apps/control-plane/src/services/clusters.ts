import { CLUSTER_NAME_PATTERN, invalid, notFound } from '@berth/domain';
import { clusterCounts, createCluster, getCluster, listClusters, type ClusterCounts, type ClusterRecord } from '@berth/store';
import type { AppContext } from './context.js';

export interface ClusterView extends ClusterRecord {
  counts: ClusterCounts;
}

export const DEFAULT_CLUSTER = 'default';

/** A cluster reference (name or ARN) -> its name; empty means the default cluster. */
export function clusterName(ref: string | undefined): string {
  if (!ref) return DEFAULT_CLUSTER;
  const m = /:cluster\/(.+)$/.exec(ref);
  return m ? m[1]! : ref;
}

export async function requireCluster(ctx: AppContext, ref: string | undefined): Promise<string> {
  const name = clusterName(ref);
  if (!(await getCluster(ctx.db.sql, name))) throw notFound(`cluster ${name} not found`);
  return name;
}

export async function createClusterOp(ctx: AppContext, name: string): Promise<ClusterView> {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw invalid(`clusterName: must be 1-255 letters, digits, hyphens or underscores, got ${JSON.stringify(name)}`);
  }
  const c = await createCluster(ctx.db.sql, name);
  return { ...c, counts: await clusterCounts(ctx.db.sql, name) };
}

export async function listClustersOp(ctx: AppContext): Promise<ClusterRecord[]> {
  return listClusters(ctx.db.sql);
}

export async function describeClustersOp(ctx: AppContext, refs: string[]): Promise<{ found: ClusterView[]; missing: string[] }> {
  const names = refs.length > 0 ? refs.map(clusterName) : [DEFAULT_CLUSTER];
  const found: ClusterView[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const c = await getCluster(ctx.db.sql, name);
    if (c) found.push({ ...c, counts: await clusterCounts(ctx.db.sql, name) });
    else missing.push(name);
  }
  return { found, missing };
}
