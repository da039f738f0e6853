import type { Queryable } from './database.js';
import type { ClusterRecord } from './records.js';

export interface ClusterCounts {
  nodes: number;
  runningTasks: number;
  pendingTasks: number;
  /** Services ACTIVE or DRAINING (being deleted). */
  activeServices: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toCluster = (r: any): ClusterRecord => ({ name: r.name, status: r.status, createdAt: r.created_at, nodeLostGraceSeconds: r.node_lost_grace_seconds });

export async function listClusters(q: Queryable): Promise<ClusterRecord[]> {
  const rows = await q`SELECT name, status, created_at, node_lost_grace_seconds FROM clusters ORDER BY name`;
  return rows.map(toCluster);
}

export async function getCluster(q: Queryable, name: string): Promise<ClusterRecord | undefined> {
  const [r] = await q`SELECT name, status, created_at, node_lost_grace_seconds FROM clusters WHERE name = ${name}`;
  return r ? toCluster(r) : undefined;
}

export interface ClusterSettings {
  nodeLostGraceSeconds?: number;
}

export async function updateClusterSettings(q: Queryable, name: string, s: ClusterSettings): Promise<void> {
  await q`UPDATE clusters SET node_lost_grace_seconds = coalesce(${s.nodeLostGraceSeconds ?? null}::int, node_lost_grace_seconds) WHERE name = ${name}`;
}

/** Creates the cluster if absent, or makes a deleted one ACTIVE again (CreateCluster is idempotent in ECS). */
export async function createCluster(q: Queryable, name: string): Promise<ClusterRecord> {
  await q`INSERT INTO clusters (name) VALUES (${name}) ON CONFLICT (name) DO UPDATE SET status = 'ACTIVE'`;
  return (await getCluster(q, name))!;
}

export async function clusterCounts(q: Queryable, name: string): Promise<ClusterCounts> {
  const [r] = await q`
    SELECT
      (SELECT count(*) FROM nodes WHERE cluster = ${name} AND status <> 'INACTIVE')::int AS nodes,
      (SELECT count(*) FROM tasks WHERE cluster = ${name} AND last_status = 'RUNNING')::int AS running,
      (SELECT count(*) FROM tasks WHERE cluster = ${name} AND last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING'))::int AS pending,
      (SELECT count(*) FROM services WHERE cluster = ${name} AND status <> 'INACTIVE')::int AS services`;
  return { nodes: r!.nodes, runningTasks: r!.running, pendingTasks: r!.pending, activeServices: r!.services };
}

/** ECS keeps a deleted cluster as INACTIVE. */
export async function setClusterStatus(q: Queryable, name: string, status: 'ACTIVE' | 'INACTIVE'): Promise<void> {
  await q`UPDATE clusters SET status = ${status} WHERE name = ${name}`;
}
