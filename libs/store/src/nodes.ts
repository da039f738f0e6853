import type { Queryable } from './database.js';
import type { NodeRecord, NodeUsage } from './records.js';

const COLUMNS = 'id, cluster, hostname, status, agent_connected, agent_version, protocol_version, facts, labels, registered_cpu, registered_memory, desired_generation, acked_generation, session_id, usage, last_heartbeat_at, registered_at, disconnected_at, attributes, address';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toNode(r: any): NodeRecord {
  return {
    id: r.id,
    cluster: r.cluster,
    hostname: r.hostname,
    status: r.status,
    agentConnected: r.agent_connected,
    agentVersion: r.agent_version,
    protocolVersion: r.protocol_version,
    facts: r.facts,
    labels: r.labels,
    registeredCpu: r.registered_cpu,
    registeredMemory: r.registered_memory,
    desiredGeneration: r.desired_generation,
    ackedGeneration: r.acked_generation,
    sessionId: r.session_id,
    usage: r.usage,
    lastHeartbeatAt: r.last_heartbeat_at,
    registeredAt: r.registered_at,
    disconnectedAt: r.disconnected_at,
    attributes: r.attributes,
    address: r.address ?? '',
  };
}

export type NodeRegistration = Pick<NodeRecord, 'id' | 'cluster' | 'agentVersion' | 'protocolVersion' | 'facts' | 'labels' | 'registeredCpu' | 'registeredMemory'> & {
  sessionId: string;
  /** The address other nodes reach this one at (empty: unknown). */
  address?: string;
};

/**
 * Registers a node from an agent hello, or refreshes its facts when it is known.
 * The node's identity (id) is the agent's: a node that comes back keeps it.
 */
export async function upsertNode(q: Queryable, n: NodeRegistration): Promise<NodeRecord> {
  const [r] = await q`
    INSERT INTO nodes (id, cluster, hostname, agent_connected, agent_version, protocol_version, facts, labels,
                       registered_cpu, registered_memory, session_id, address)
    VALUES (${n.id}, ${n.cluster}, ${n.facts.hostname}, true, ${n.agentVersion}, ${n.protocolVersion},
            ${q.json(n.facts as never)}, ${q.json(n.labels)}, ${n.registeredCpu}, ${n.registeredMemory}, ${n.sessionId}, ${n.address ?? ''})
    ON CONFLICT (id) DO UPDATE SET
      hostname = EXCLUDED.hostname, agent_connected = true, agent_version = EXCLUDED.agent_version,
      protocol_version = EXCLUDED.protocol_version, facts = EXCLUDED.facts, labels = EXCLUDED.labels,
      registered_cpu = EXCLUDED.registered_cpu, registered_memory = EXCLUDED.registered_memory,
      session_id = EXCLUDED.session_id, disconnected_at = NULL, address = EXCLUDED.address,
      updated_at = now()
    RETURNING ${q.unsafe(COLUMNS)}`;
  return toNode(r);
}

export async function getNode(q: Queryable, id: string): Promise<NodeRecord | undefined> {
  const [r] = await q`SELECT ${q.unsafe(COLUMNS)} FROM nodes WHERE id = ${id}`;
  return r ? toNode(r) : undefined;
}

export interface NodeFilter {
  cluster: string;
  status?: string;
  afterId?: string;
  limit?: number;
}

export async function listNodes(q: Queryable, f: NodeFilter): Promise<NodeRecord[]> {
  const rows = await q`
    SELECT ${q.unsafe(COLUMNS)} FROM nodes
    WHERE cluster = ${f.cluster}
      ${f.status ? q`AND status = ${f.status}` : q``}
      ${f.afterId ? q`AND id > ${f.afterId}` : q``}
    ORDER BY id
    ${f.limit ? q`LIMIT ${f.limit}` : q``}`;
  return rows.map(toNode);
}

/** Nodes of a cluster that may take new tasks, locked for this transaction (placement). */
export async function lockPlaceableNodes(q: Queryable, cluster: string): Promise<NodeRecord[]> {
  const rows = await q`
    SELECT ${q.unsafe(COLUMNS)} FROM nodes
    WHERE cluster = ${cluster} AND status = 'ACTIVE' AND agent_connected
    ORDER BY id FOR UPDATE`;
  return rows.map(toNode);
}

/** Marks a node disconnected at `at`, unless another session took it over meanwhile. */
export async function setNodeDisconnected(q: Queryable, id: string, sessionId: string, at: Date): Promise<boolean> {
  const rows = await q`
    UPDATE nodes SET agent_connected = false, disconnected_at = ${at}, updated_at = now()
    WHERE id = ${id} AND session_id = ${sessionId} AND agent_connected RETURNING id`;
  return rows.length > 0;
}

/**
 * At control-plane start no agent is connected yet. Every node's grace starts
 * now: a restart of the control plane itself never makes a node look lost.
 */
export async function disconnectAllNodes(q: Queryable, at: Date): Promise<void> {
  await q`UPDATE nodes SET agent_connected = false, disconnected_at = ${at} WHERE agent_connected OR disconnected_at IS NOT NULL`;
}

export interface LostNode {
  id: string;
  cluster: string;
  graceSeconds: number;
}

/**
 * Disconnected nodes whose grace ran out and that still hold tasks not
 * STOPPED. `graceFrom`: no grace counts from before this time (after a
 * control-plane start, agents may still be waiting out their reconnect backoff).
 */
export async function findLostNodes(q: Queryable, now: Date, graceFrom: Date = new Date(0)): Promise<LostNode[]> {
  const rows = await q`
    SELECT n.id, n.cluster, c.node_lost_grace_seconds AS grace
    FROM nodes n JOIN clusters c ON c.name = n.cluster
    WHERE NOT n.agent_connected AND n.disconnected_at IS NOT NULL
      AND GREATEST(n.disconnected_at, ${graceFrom}::timestamptz) + make_interval(secs => c.node_lost_grace_seconds) <= ${now}
      AND EXISTS (SELECT 1 FROM tasks t WHERE t.node_id = n.id AND t.last_status <> 'STOPPED')`;
  return rows.map((r) => ({ id: r.id, cluster: r.cluster, graceSeconds: r.grace }));
}

export interface ClusterContact {
  cluster: string;
  /** Registered nodes (not INACTIVE) whose agent is connected. */
  inContact: number;
  /**
   * Registered nodes out of contact that still hold tasks not STOPPED, or went
   * away since `recentSince` (and were not judged lost since).
   */
  outOfContact: number;
}

/**
 * Per cluster, how many nodes are in and out of contact: when most of a
 * cluster looks dead at once, the control plane is more likely the side cut
 * off. A node long gone with nothing on it (never deregistered), or already
 * judged lost, counts as neither.
 */
export async function clusterContact(q: Queryable, clusters: string[], recentSince: Date): Promise<ClusterContact[]> {
  if (clusters.length === 0) return [];
  const rows = await q`
    SELECT n.cluster,
           count(*) FILTER (WHERE n.agent_connected)::int AS in_contact,
           count(*) FILTER (WHERE NOT n.agent_connected AND (
             EXISTS (SELECT 1 FROM tasks t WHERE t.node_id = n.id AND t.last_status <> 'STOPPED')
             OR (n.disconnected_at >= ${recentSince}
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.node_id = n.id AND t.stop_code = 'NodeLost' AND t.stopped_at >= n.disconnected_at))))::int AS out_of_contact
    FROM nodes n WHERE n.cluster = ANY(${clusters}) AND n.status <> 'INACTIVE' GROUP BY n.cluster`;
  return rows.map((r) => ({ cluster: r.cluster, inContact: r.in_contact, outOfContact: r.out_of_contact }));
}

export async function saveNodeUsage(q: Queryable, id: string, usage: NodeUsage, at: Date): Promise<void> {
  await q`UPDATE nodes SET usage = ${q.json(usage as never)}, last_heartbeat_at = ${at} WHERE id = ${id}`;
}

export async function setAckedGeneration(q: Queryable, id: string, generation: number): Promise<void> {
  await q`UPDATE nodes SET acked_generation = GREATEST(acked_generation, ${generation}) WHERE id = ${id}`;
}

/** A node's task set changed: its desired state gets a new generation. */
export async function bumpGenerations(q: Queryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await q`UPDATE nodes SET desired_generation = desired_generation + 1 WHERE id = ANY(${ids})`;
}

export interface NodeAllocation {
  cpu: number;
  memory: number;
  ports: string[];
  running: number;
  pending: number;
}

/** What the tasks that hold resources on each node use. */
export async function nodeAllocations(q: Queryable, ids: string[]): Promise<Map<string, NodeAllocation>> {
  const out = new Map<string, NodeAllocation>();
  if (ids.length === 0) return out;
  const sums = await q`
    SELECT node_id, sum(cpu)::int AS cpu, sum(memory)::int AS memory,
           count(*) FILTER (WHERE last_status = 'RUNNING')::int AS running,
           count(*) FILTER (WHERE last_status <> 'RUNNING')::int AS pending
    FROM tasks WHERE node_id = ANY(${ids}) AND last_status <> 'STOPPED' GROUP BY node_id`;
  for (const r of sums) out.set(r.node_id, { cpu: r.cpu, memory: r.memory, ports: [], running: r.running, pending: r.pending });
  const ports = await q`
    SELECT node_id, array_agg(p) AS ports FROM tasks, unnest(host_ports) AS p
    WHERE node_id = ANY(${ids}) AND last_status <> 'STOPPED' GROUP BY node_id`;
  for (const r of ports) out.get(r.node_id)!.ports = r.ports;
  return out;
}

export async function setNodeStatus(q: Queryable, id: string, status: NodeRecord['status']): Promise<NodeRecord | undefined> {
  const [r] = await q`UPDATE nodes SET status = ${status}, updated_at = now() WHERE id = ${id} RETURNING ${q.unsafe(COLUMNS)}`;
  return r ? toNode(r) : undefined;
}

/** Sets (value given) or removes (value undefined) operator attributes of a node. */
export async function updateNodeAttributes(q: Queryable, id: string, set: Record<string, string>, remove: string[]): Promise<void> {
  await q`
    UPDATE nodes SET attributes = (attributes - ${q.array(remove)}::text[]) || ${q.json(set)}, updated_at = now()
    WHERE id = ${id}`;
}

/** Every node of a cluster (any status), by id: what the scheduler's snapshot starts from. */
export async function clusterNodes(q: Queryable, cluster: string): Promise<NodeRecord[]> {
  const rows = await q`SELECT ${q.unsafe(COLUMNS)} FROM nodes WHERE cluster = ${cluster} ORDER BY id`;
  return rows.map(toNode);
}

/** Locks these nodes (in id order, so concurrent plan appliers never deadlock) and returns them. */
export async function lockNodes(q: Queryable, ids: string[]): Promise<NodeRecord[]> {
  if (ids.length === 0) return [];
  const rows = await q`SELECT ${q.unsafe(COLUMNS)} FROM nodes WHERE id = ANY(${ids}) ORDER BY id FOR UPDATE`;
  return rows.map(toNode);
}

/** Tasks not STOPPED per node and group, for nodes of a cluster (or only the given nodes). */
export async function nodeTaskGroups(q: Queryable, cluster: string, ids?: string[]): Promise<Map<string, Map<string, number>>> {
  const rows = ids
    ? await q`SELECT node_id, task_group, count(*)::int AS n FROM tasks WHERE node_id = ANY(${ids}) AND last_status <> 'STOPPED' GROUP BY node_id, task_group`
    : await q`SELECT node_id, task_group, count(*)::int AS n FROM tasks WHERE cluster = ${cluster} AND node_id IS NOT NULL AND last_status <> 'STOPPED' GROUP BY node_id, task_group`;
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let m = out.get(r.node_id);
    if (!m) out.set(r.node_id, (m = new Map()));
    m.set(r.task_group, r.n);
  }
  return out;
}
