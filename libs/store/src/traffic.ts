import type { ElbAction, ElbCondition, HealthCheckSettings, LbPlacement, LoadBalancerType } from '@berth/domain';
import type { Queryable } from './database.js';

/** ELBv2 resources as stored (see migration 013). */

export interface LoadBalancerRecord {
  id: string;
  name: string;
  type: LoadBalancerType;
  scheme: string;
  ipAddressType: string;
  placement: LbPlacement;
  attributes: Record<string, string>;
  createdAt: Date;
}

export interface ListenerRecord {
  id: string;
  loadBalancerId: string;
  port: number;
  protocol: string;
  defaultActions: ElbAction[];
  certificates: { CertificateArn?: string; IsDefault?: boolean }[];
  sslPolicy: string | null;
  createdAt: Date;
}

export interface RuleRecord {
  id: string;
  listenerId: string;
  priority: number;
  conditions: ElbCondition[];
  actions: ElbAction[];
  createdAt: Date;
}

export interface TargetGroupRecord {
  id: string;
  name: string;
  protocol: string | null;
  port: number | null;
  targetType: string;
  healthCheck: HealthCheckSettings;
  attributes: Record<string, string>;
  createdAt: Date;
}

export interface TargetRecord {
  targetGroupId: string;
  targetId: string;
  port: number;
  state: 'registered' | 'draining';
  drainUntil: Date | null;
  registeredAt: Date;
}

export interface TargetHealthRecord {
  targetGroupId: string;
  targetId: string;
  port: number;
  nodeId: string;
  state: string;
  reason: string;
  updatedAt: Date;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const toLb = (r: any): LoadBalancerRecord => ({
  id: r.id,
  name: r.name,
  type: r.type,
  scheme: r.scheme,
  ipAddressType: r.ip_address_type,
  placement: r.placement,
  attributes: r.attributes,
  createdAt: r.created_at,
});
const toListener = (r: any): ListenerRecord => ({
  id: r.id,
  loadBalancerId: r.load_balancer_id,
  port: r.port,
  protocol: r.protocol,
  defaultActions: r.default_actions,
  certificates: r.certificates,
  sslPolicy: r.ssl_policy,
  createdAt: r.created_at,
});
const toRule = (r: any): RuleRecord => ({ id: r.id, listenerId: r.listener_id, priority: r.priority, conditions: r.conditions, actions: r.actions, createdAt: r.created_at });
const toTg = (r: any): TargetGroupRecord => ({
  id: r.id,
  name: r.name,
  protocol: r.protocol,
  port: r.port,
  targetType: r.target_type,
  healthCheck: r.health_check,
  attributes: r.attributes,
  createdAt: r.created_at,
});
const toTarget = (r: any): TargetRecord => ({ targetGroupId: r.target_group_id, targetId: r.target_id, port: r.port, state: r.state, drainUntil: r.drain_until, registeredAt: r.registered_at });
const toHealth = (r: any): TargetHealthRecord => ({ targetGroupId: r.target_group_id, targetId: r.target_id, port: r.port, nodeId: r.node_id, state: r.state, reason: r.reason, updatedAt: r.updated_at });
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---- load balancers

/** Inserts a load balancer; false when the name is taken. */
export async function insertLoadBalancer(q: Queryable, lb: Omit<LoadBalancerRecord, 'createdAt'>): Promise<LoadBalancerRecord | undefined> {
  const [r] = await q`
    INSERT INTO load_balancers (id, name, type, scheme, ip_address_type, placement, attributes)
    VALUES (${lb.id}, ${lb.name}, ${lb.type}, ${lb.scheme}, ${lb.ipAddressType}, ${q.json(lb.placement as never)}, ${q.json(lb.attributes)})
    ON CONFLICT (name) DO NOTHING RETURNING *`;
  return r ? toLb(r) : undefined;
}

export async function listLoadBalancers(q: Queryable): Promise<LoadBalancerRecord[]> {
  return (await q`SELECT * FROM load_balancers ORDER BY name`).map(toLb);
}

export async function getLoadBalancer(q: Queryable, id: string): Promise<LoadBalancerRecord | undefined> {
  const [r] = await q`SELECT * FROM load_balancers WHERE id = ${id}`;
  return r ? toLb(r) : undefined;
}

export async function updateLoadBalancer(q: Queryable, id: string, patch: { attributes?: Record<string, string>; placement?: LbPlacement }): Promise<void> {
  if (patch.attributes) await q`UPDATE load_balancers SET attributes = ${q.json(patch.attributes)} WHERE id = ${id}`;
  if (patch.placement) await q`UPDATE load_balancers SET placement = ${q.json(patch.placement as never)} WHERE id = ${id}`;
}

export async function deleteLoadBalancer(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM load_balancers WHERE id = ${id} RETURNING id`).length === 1;
}

// ---- listeners and rules

export async function insertListener(q: Queryable, l: Omit<ListenerRecord, 'createdAt'>): Promise<ListenerRecord | undefined> {
  const [r] = await q`
    INSERT INTO lb_listeners (id, load_balancer_id, port, protocol, default_actions, certificates, ssl_policy)
    VALUES (${l.id}, ${l.loadBalancerId}, ${l.port}, ${l.protocol}, ${q.json(l.defaultActions as never)}, ${q.json(l.certificates as never)}, ${l.sslPolicy})
    ON CONFLICT (load_balancer_id, port) DO NOTHING RETURNING *`;
  return r ? toListener(r) : undefined;
}

export async function listListeners(q: Queryable, loadBalancerId?: string): Promise<ListenerRecord[]> {
  const rows = loadBalancerId ? await q`SELECT * FROM lb_listeners WHERE load_balancer_id = ${loadBalancerId} ORDER BY port` : await q`SELECT * FROM lb_listeners ORDER BY load_balancer_id, port`;
  return rows.map(toListener);
}

export async function getListener(q: Queryable, id: string): Promise<ListenerRecord | undefined> {
  const [r] = await q`SELECT * FROM lb_listeners WHERE id = ${id}`;
  return r ? toListener(r) : undefined;
}

export async function updateListener(q: Queryable, id: string, patch: { port: number; protocol: string; defaultActions: ElbAction[] }): Promise<ListenerRecord | undefined> {
  const [r] = await q`
    UPDATE lb_listeners SET port = ${patch.port}, protocol = ${patch.protocol}, default_actions = ${q.json(patch.defaultActions as never)}
    WHERE id = ${id} RETURNING *`;
  return r ? toListener(r) : undefined;
}

export async function deleteListener(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM lb_listeners WHERE id = ${id} RETURNING id`).length === 1;
}

/** Inserts a rule; undefined when its priority is taken on the listener. */
export async function insertRule(q: Queryable, r0: Omit<RuleRecord, 'createdAt'>): Promise<RuleRecord | undefined> {
  const [r] = await q`
    INSERT INTO lb_rules (id, listener_id, priority, conditions, actions)
    VALUES (${r0.id}, ${r0.listenerId}, ${r0.priority}, ${q.json(r0.conditions as never)}, ${q.json(r0.actions as never)})
    ON CONFLICT (listener_id, priority) DO NOTHING RETURNING *`;
  return r ? toRule(r) : undefined;
}

export async function listRules(q: Queryable, listenerId?: string): Promise<RuleRecord[]> {
  const rows = listenerId ? await q`SELECT * FROM lb_rules WHERE listener_id = ${listenerId} ORDER BY priority` : await q`SELECT * FROM lb_rules ORDER BY listener_id, priority`;
  return rows.map(toRule);
}

export async function getRule(q: Queryable, id: string): Promise<RuleRecord | undefined> {
  const [r] = await q`SELECT * FROM lb_rules WHERE id = ${id}`;
  return r ? toRule(r) : undefined;
}

export async function updateRule(q: Queryable, id: string, patch: { conditions?: ElbCondition[]; actions?: ElbAction[]; priority?: number }): Promise<RuleRecord | undefined> {
  if (patch.conditions) await q`UPDATE lb_rules SET conditions = ${q.json(patch.conditions as never)} WHERE id = ${id}`;
  if (patch.actions) await q`UPDATE lb_rules SET actions = ${q.json(patch.actions as never)} WHERE id = ${id}`;
  if (patch.priority !== undefined) await q`UPDATE lb_rules SET priority = ${patch.priority} WHERE id = ${id}`;
  return getRule(q, id);
}

export async function deleteRule(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM lb_rules WHERE id = ${id} RETURNING id`).length === 1;
}

// ---- target groups, targets, health

export async function insertTargetGroup(q: Queryable, g: Omit<TargetGroupRecord, 'createdAt'>): Promise<TargetGroupRecord | undefined> {
  const [r] = await q`
    INSERT INTO target_groups (id, name, protocol, port, target_type, health_check, attributes)
    VALUES (${g.id}, ${g.name}, ${g.protocol}, ${g.port}, ${g.targetType}, ${q.json(g.healthCheck as never)}, ${q.json(g.attributes)})
    ON CONFLICT (name) DO NOTHING RETURNING *`;
  return r ? toTg(r) : undefined;
}

export async function listTargetGroups(q: Queryable): Promise<TargetGroupRecord[]> {
  return (await q`SELECT * FROM target_groups ORDER BY name`).map(toTg);
}

export async function getTargetGroup(q: Queryable, id: string): Promise<TargetGroupRecord | undefined> {
  const [r] = await q`SELECT * FROM target_groups WHERE id = ${id}`;
  return r ? toTg(r) : undefined;
}

export async function getTargetGroupByName(q: Queryable, name: string): Promise<TargetGroupRecord | undefined> {
  const [r] = await q`SELECT * FROM target_groups WHERE name = ${name}`;
  return r ? toTg(r) : undefined;
}

export async function updateTargetGroup(q: Queryable, id: string, patch: { healthCheck?: HealthCheckSettings; attributes?: Record<string, string> }): Promise<TargetGroupRecord | undefined> {
  if (patch.healthCheck) await q`UPDATE target_groups SET health_check = ${q.json(patch.healthCheck as never)} WHERE id = ${id}`;
  if (patch.attributes) await q`UPDATE target_groups SET attributes = ${q.json(patch.attributes)} WHERE id = ${id}`;
  return getTargetGroup(q, id);
}

export async function deleteTargetGroup(q: Queryable, id: string): Promise<boolean> {
  return (await q`DELETE FROM target_groups WHERE id = ${id} RETURNING id`).length === 1;
}

/** Registers targets (a draining one comes back registered). */
export async function registerTargets(q: Queryable, targetGroupId: string, targets: { targetId: string; port: number }[]): Promise<void> {
  for (const t of targets) {
    await q`
      INSERT INTO lb_targets (target_group_id, target_id, port) VALUES (${targetGroupId}, ${t.targetId}, ${t.port})
      ON CONFLICT (target_group_id, target_id, port) DO UPDATE SET state = 'registered', drain_until = NULL`;
  }
}

/** Targets start draining until `drainUntil`; returns how many were registered. */
export async function drainTargets(q: Queryable, targetGroupId: string, targets: { targetId: string; port: number }[], drainUntil: Date): Promise<number> {
  let n = 0;
  for (const t of targets) {
    const rows = await q`
      UPDATE lb_targets SET state = 'draining', drain_until = ${drainUntil}
      WHERE target_group_id = ${targetGroupId} AND target_id = ${t.targetId} AND port = ${t.port} AND state = 'registered' RETURNING port`;
    n += rows.length;
  }
  return n;
}

export async function listTargets(q: Queryable, targetGroupId?: string): Promise<TargetRecord[]> {
  const rows = targetGroupId ? await q`SELECT * FROM lb_targets WHERE target_group_id = ${targetGroupId} ORDER BY target_id, port` : await q`SELECT * FROM lb_targets ORDER BY target_group_id, target_id, port`;
  return rows.map(toTarget);
}

/** Drained targets leave. */
export async function deleteDrainedTargets(q: Queryable, now: Date): Promise<number> {
  return (await q`DELETE FROM lb_targets WHERE state = 'draining' AND drain_until <= ${now} RETURNING port`).length;
}

/** One node's proxy report replaces what it said before for the groups it reports on. */
export async function saveTargetHealth(q: Queryable, nodeId: string, reports: { targetGroupId: string; targetId: string; port: number; state: string; reason: string }[], at: Date): Promise<void> {
  await q`DELETE FROM target_health WHERE node_id = ${nodeId}`;
  if (reports.length === 0) return;
  const known = new Set((await q`SELECT id FROM target_groups WHERE id = ANY(${[...new Set(reports.map((r) => r.targetGroupId))]})`).map((r) => r.id as string));
  const rows = reports.filter((r) => known.has(r.targetGroupId)).map((r) => ({ target_group_id: r.targetGroupId, target_id: r.targetId, port: r.port, node_id: nodeId, state: r.state, reason: r.reason, updated_at: at }));
  if (rows.length > 0) await q`INSERT INTO target_health ${q(rows)} ON CONFLICT DO NOTHING`;
}

export async function listTargetHealth(q: Queryable, targetGroupId?: string): Promise<TargetHealthRecord[]> {
  const rows = targetGroupId ? await q`SELECT * FROM target_health WHERE target_group_id = ${targetGroupId}` : await q`SELECT * FROM target_health`;
  return rows.map(toHealth);
}

export async function clearTargetHealth(q: Queryable, nodeId: string): Promise<void> {
  await q`DELETE FROM target_health WHERE node_id = ${nodeId}`;
}

/** The next proxy snapshot version (grows across restarts and replicas). */
export async function nextProxyVersion(q: Queryable): Promise<number> {
  const [r] = await q`SELECT nextval('proxy_snapshot_version')::int8 AS v`;
  return Number(r!.v);
}

export async function setProxyAck(q: Queryable, nodeId: string, version: number, error: string): Promise<void> {
  await q`UPDATE nodes SET proxy_acked_version = ${version}, proxy_error = ${error} WHERE id = ${nodeId}`;
}

export async function proxyAcks(q: Queryable): Promise<Map<string, { version: number; error: string }>> {
  const rows = await q`SELECT id, proxy_acked_version, proxy_error FROM nodes`;
  return new Map(rows.map((r) => [r.id as string, { version: Number(r.proxy_acked_version), error: r.proxy_error as string }]));
}

/** Live services whose spec has loadBalancers: cluster, name and the list (as given: target group ARNs). */
export async function servicesWithLoadBalancers(q: Queryable): Promise<{ cluster: string; name: string; loadBalancers: { targetGroupArn: string; containerName: string; containerPort: number }[] }[]> {
  const rows = await q`
    SELECT cluster, name, spec->'loadBalancers' AS lbs FROM services
    WHERE status <> 'INACTIVE' AND jsonb_typeof(spec->'loadBalancers') = 'array' AND jsonb_array_length(spec->'loadBalancers') > 0`;
  return rows.map((r) => ({ cluster: r.cluster as string, name: r.name as string, loadBalancers: r.lbs }));
}

/** The not-STOPPED tasks of these (cluster, group) pairs, the columns traffic needs. */
export async function trafficTasks(q: Queryable, groups: { cluster: string; group: string }[]): Promise<
  { id: string; cluster: string; group: string; nodeId: string | null; desiredStatus: string; lastStatus: string; stoppingAt: Date | null; containers: { name: string; networkBindings?: { bindIP: string; containerPort: number; hostPort: number; protocol?: string }[] }[] }[]
> {
  if (groups.length === 0) return [];
  const clusters = groups.map((g) => g.cluster);
  const names = groups.map((g) => g.group);
  const rows = await q`
    SELECT t.id, t.cluster, t.task_group, t.node_id, t.desired_status, t.last_status, t.stopping_at, t.containers
    FROM tasks t JOIN unnest(${clusters}::text[], ${names}::text[]) AS g(cluster, grp) ON t.cluster = g.cluster AND t.task_group = g.grp
    WHERE t.last_status <> 'STOPPED'`;
  return rows.map((r) => ({
    id: r.id as string,
    cluster: r.cluster as string,
    group: r.task_group as string,
    nodeId: (r.node_id as string | null) ?? null,
    desiredStatus: r.desired_status as string,
    lastStatus: r.last_status as string,
    stoppingAt: (r.stopping_at as Date | null) ?? null,
    containers: r.containers,
  }));
}
