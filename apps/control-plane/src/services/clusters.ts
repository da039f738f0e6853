import { CLUSTER_NAME_PATTERN, conflict, invalid, notFound, tagKeys, validationFailed, type FieldError } from '@berth/domain';
import { appendEvents, clusterCounts, createCluster, getCluster, listClusters, setClusterStatus, updateClusterSettings, type ClusterCounts, type ClusterRecord, type ClusterSettings } from '@berth/store';
import type { AppContext } from './context.js';
import { checkTags, keepTags } from './tags.js';

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

/** A cluster with its counts, as the API shows it; undefined when there is no such cluster. */
async function loadClusterView(ctx: AppContext, name: string): Promise<ClusterView | undefined> {
  const c = await getCluster(ctx.db.sql, name);
  return c && { ...c, counts: await clusterCounts(ctx.db.sql, name) };
}

export async function requireCluster(ctx: AppContext, ref: string | undefined): Promise<string> {
  const name = clusterName(ref);
  const c = await getCluster(ctx.db.sql, name);
  if (!c || c.status !== 'ACTIVE') throw notFound(`cluster ${name} not found`).as('cluster-not-found');
  return name;
}

/** ECS ClusterSetting as it arrives. */
export interface ClusterSettingInput {
  name: string;
  value: string;
}

/** Bounds of nodeLostGraceSeconds: a second (tests, impatient labs) to a day. */
export const NODE_LOST_GRACE_RANGE = [1, 86_400] as const;

/**
 * ECS cluster settings -> Berth's. nodeLostGraceSeconds is Berth's own; ECS's
 * containerInsights is accepted and has no effect (warned in the log).
 */
export function parseClusterSettings(ctx: AppContext, input: ClusterSettingInput[] | undefined): ClusterSettings {
  const out: ClusterSettings = {};
  const errors: FieldError[] = [];
  (input ?? []).forEach((s, i) => {
    if (s.name === 'nodeLostGraceSeconds') {
      const n = Number(s.value);
      if (!/^\d+$/.test(s.value) || n < NODE_LOST_GRACE_RANGE[0] || n > NODE_LOST_GRACE_RANGE[1]) {
        errors.push({ path: `settings[${i}].value`, rule: `nodeLostGraceSeconds must be a whole number of seconds, ${NODE_LOST_GRACE_RANGE[0]}-${NODE_LOST_GRACE_RANGE[1]}`, value: s.value });
      } else out.nodeLostGraceSeconds = n;
    } else if (s.name === 'containerInsights') {
      ctx.log.warn({ setting: s.name }, 'cluster setting containerInsights is AWS-only and has no effect in Berth');
    } else {
      errors.push({ path: `settings[${i}].name`, rule: "must be nodeLostGraceSeconds (or ECS's containerInsights, ignored)", value: s.name });
    }
  });
  if (errors.length > 0) throw validationFailed('cluster settings', errors);
  return out;
}

export async function createClusterOp(ctx: AppContext, name: string, settings?: ClusterSettingInput[], tagsInput?: unknown): Promise<ClusterView> {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw invalid(`clusterName: must be 1-255 letters, digits, hyphens or underscores, got ${JSON.stringify(name)}`);
  }
  const parsed = parseClusterSettings(ctx, settings);
  const tags = checkTags(tagsInput);
  await ctx.db.sql.begin(async (tx) => {
    await createCluster(tx, name);
    await updateClusterSettings(tx, name, parsed);
    await keepTags(tx, tagKeys.cluster(name), tags);
  });
  return (await loadClusterView(ctx, name))!;
}

/** ECS UpdateClusterSettings. */
export async function updateClusterSettingsOp(ctx: AppContext, ref: string, settings: ClusterSettingInput[]): Promise<ClusterView> {
  if (settings.length === 0) throw invalid('settings: name at least one setting');
  const name = await requireCluster(ctx, ref);
  const parsed = parseClusterSettings(ctx, settings);
  await updateClusterSettings(ctx.db.sql, name, parsed);
  if (parsed.nodeLostGraceSeconds !== undefined) {
    await appendEvents(ctx.db.sql, [{ cluster: name, kind: 'cluster.settings', subject: name, message: `cluster ${name}: nodeLostGraceSeconds = ${parsed.nodeLostGraceSeconds}` }]);
  }
  return (await loadClusterView(ctx, name))!;
}

export async function listClustersOp(ctx: AppContext): Promise<ClusterRecord[]> {
  return (await listClusters(ctx.db.sql)).filter((c) => c.status === 'ACTIVE');
}

/**
 * DeleteCluster: refused while the cluster has tasks that are not STOPPED or
 * registered nodes; the cluster is kept as INACTIVE, as ECS does.
 */
export async function deleteClusterOp(ctx: AppContext, ref: string): Promise<ClusterView> {
  const name = await requireCluster(ctx, ref);
  if (name === DEFAULT_CLUSTER) throw invalid('cluster: the default cluster cannot be deleted');
  const counts = await clusterCounts(ctx.db.sql, name);
  if (counts.activeServices > 0) throw conflict(`cluster ${name} has ${counts.activeServices} service(s): delete them first (berth service rm)`).as('cluster-contains-services');
  if (counts.runningTasks + counts.pendingTasks > 0) {
    throw conflict(`cluster ${name} has ${counts.runningTasks + counts.pendingTasks} task(s) that are not STOPPED: stop them first`).as('cluster-contains-tasks');
  }
  if (counts.nodes > 0) throw conflict(`cluster ${name} has ${counts.nodes} registered node(s): deregister them first (berth node deregister)`).as('cluster-contains-nodes');
  await setClusterStatus(ctx.db.sql, name, 'INACTIVE');
  await appendEvents(ctx.db.sql, [{ cluster: name, kind: 'cluster.deleted', subject: name, message: `cluster ${name} deleted` }]);
  const c = (await getCluster(ctx.db.sql, name))!;
  return { ...c, counts };
}

export async function describeClustersOp(ctx: AppContext, refs: string[]): Promise<{ found: ClusterView[]; missing: string[] }> {
  const names = refs.length > 0 ? refs.map(clusterName) : [DEFAULT_CLUSTER];
  const found: ClusterView[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const v = await loadClusterView(ctx, name);
    if (v) found.push(v);
    else missing.push(name);
  }
  return { found, missing };
}
