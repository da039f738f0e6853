import {
  elbArns,
  resolveTargets,
  serverId,
  servesLoadBalancer,
  targetGroupByArn,
  type ResolvedTarget,
  type TrafficListener,
  type TrafficLoadBalancer,
  type TrafficNode,
  type TrafficRule,
  type TrafficTargetGroup,
} from '@berth/domain';
import {
  listListeners,
  listLoadBalancers,
  listRules,
  listTargetGroups,
  listTargetHealth,
  listTargets,
  servicesWithLoadBalancers,
  trafficTasks,
  type Queryable,
  type TargetHealthRecord,
} from '@berth/store';
import type { AppContext } from './context.js';

/** The whole ELBv2 picture at one moment: resources, every target (registered or a service's task), nodes, health reports. */
export interface TrafficState {
  loadBalancers: TrafficLoadBalancer[];
  listeners: TrafficListener[];
  rules: TrafficRule[];
  targetGroups: TrafficTargetGroup[];
  targets: ResolvedTarget[];
  nodes: Map<string, TrafficNode & { connected: boolean; hostname: string }>;
  health: TargetHealthRecord[];
  nowMs: number;
}

export async function readTrafficState(ctx: AppContext, q: Queryable = ctx.db.sql): Promise<TrafficState> {
  const now = ctx.clock.now().getTime();
  const [lbs, listeners, rules, tgs, registered, services, nodeRows, health] = await Promise.all([
    listLoadBalancers(q),
    listListeners(q),
    listRules(q),
    listTargetGroups(q),
    listTargets(q),
    servicesWithLoadBalancers(q),
    q`SELECT id, address, attributes, labels, agent_connected, hostname FROM nodes WHERE status <> 'INACTIVE'` as unknown as Promise<Record<string, unknown>[]>,
    listTargetHealth(q),
  ]);
  const lbById = new Map(lbs.map((l) => [l.id, l]));
  const loadBalancers: TrafficLoadBalancer[] = lbs.map((l) => ({ id: l.id, name: l.name, type: l.type, placement: l.placement, arn: elbArns.loadBalancer(ctx.arn, l.type, l.name, l.id) }));
  const listenerViews: TrafficListener[] = listeners.flatMap((l) => {
    const lb = lbById.get(l.loadBalancerId);
    return lb ? [{ id: l.id, loadBalancerId: l.loadBalancerId, port: l.port, protocol: l.protocol, defaultActions: l.defaultActions, arn: elbArns.listener(ctx.arn, lb.type, lb.name, lb.id, l.id) }] : [];
  });
  const targetGroups: TrafficTargetGroup[] = tgs.map((g) => ({
    id: g.id,
    name: g.name,
    protocol: g.protocol,
    port: g.port,
    targetType: g.targetType,
    healthCheck: g.healthCheck,
    attributes: g.attributes,
    arn: elbArns.targetGroup(ctx.arn, g.name, g.id),
  }));
  const nodes = new Map<string, TrafficNode & { connected: boolean; hostname: string }>(
    nodeRows.map((r) => [
      r.id as string,
      { id: r.id as string, address: (r.address as string) ?? '', attributes: (r.attributes as Record<string, string>) ?? {}, labels: (r.labels as Record<string, string>) ?? {}, connected: r.agent_connected as boolean, hostname: r.hostname as string },
    ]),
  );
  const serviceTargets = services.map((s) => ({
    cluster: s.cluster,
    group: `service:${s.name}`,
    loadBalancers: s.loadBalancers.flatMap((lb) => {
      const g = targetGroupByArn(targetGroups, lb.targetGroupArn);
      return g ? [{ targetGroupId: g.id, containerName: lb.containerName, containerPort: lb.containerPort }] : [];
    }),
  }));
  const tasks = await trafficTasks(q, serviceTargets.map((s) => ({ cluster: s.cluster, group: s.group })));
  const targets = resolveTargets({
    targetGroups,
    registered: registered.map((r) => ({ targetGroupId: r.targetGroupId, targetId: r.targetId, port: r.port, state: r.state, drainUntilMs: r.drainUntil?.getTime() ?? null })),
    services: serviceTargets,
    tasks: tasks.map((t) => ({ ...t, stoppingAtMs: t.stoppingAt?.getTime() ?? null })),
    nodes,
    nowMs: now,
  });
  return {
    loadBalancers,
    listeners: listenerViews,
    rules: rules.map((r) => ({ id: r.id, listenerId: r.listenerId, priority: r.priority, conditions: r.conditions, actions: r.actions })),
    targetGroups,
    targets,
    nodes,
    health,
    nowMs: now,
  };
}

/** ELB's target health states. */
export type ElbTargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

export interface TargetHealthView {
  state: ElbTargetState;
  reason?: string;
  description?: string;
}

/** The target groups each listener's actions use, by target group id. */
function usedGroups(state: TrafficState): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (tgArnOrName: string, lbId: string) => {
    const g = targetGroupByArn(state.targetGroups, tgArnOrName);
    if (!g) return;
    const list = used.get(g.id) ?? [];
    if (!list.includes(lbId)) list.push(lbId);
    used.set(g.id, list);
  };
  for (const l of state.listeners) {
    const actions = [...l.defaultActions, ...state.rules.filter((r) => r.listenerId === l.id).flatMap((r) => r.actions)];
    for (const a of actions) {
      if (a.Type !== 'forward') continue;
      if (a.TargetGroupArn) add(a.TargetGroupArn, l.loadBalancerId);
      for (const t of a.ForwardConfig?.TargetGroups ?? []) add(t.TargetGroupArn, l.loadBalancerId);
    }
  }
  return used;
}

/** The load balancer ids that send traffic to each target group. */
export function loadBalancersOfGroups(state: TrafficState): Map<string, string[]> {
  return usedGroups(state);
}

/** A target's health as ELB reports it, from the reports of the proxies that serve it. */
export function targetHealthOf(state: TrafficState, t: ResolvedTarget): TargetHealthView {
  const tg = state.targetGroups.find((g) => g.id === t.targetGroupId);
  if (!(usedGroups(state).get(t.targetGroupId)?.length ?? 0)) return { state: 'unused', reason: 'Target.NotInUse', description: 'Target group is not configured to receive traffic from the load balancer' };
  if (t.draining) return { state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' };
  if (tg && !tg.healthCheck.HealthCheckEnabled) return { state: 'unavailable', reason: 'Target.HealthCheckDisabled', description: 'Health checks are disabled' };
  const id = serverId(t);
  const reports = state.health.filter((h) => h.targetGroupId === t.targetGroupId && `${h.targetId}:${h.port}` === id && state.nodes.get(h.nodeId)?.connected !== false);
  if (!t.address && reports.length === 0) {
    return { state: 'unavailable', reason: 'Elb.InternalError', description: `node ${t.nodeId ?? t.targetId} has no address other nodes reach (its agent binds every address: give it a specific --bind-ip)` };
  }
  const bad = reports.find((r) => r.state === 'unhealthy');
  if (bad) return { state: 'unhealthy', ...unhealthyReason(bad.reason) };
  if (reports.some((r) => r.state === 'healthy')) return { state: 'healthy' };
  return { state: 'initial', reason: reports.length === 0 ? 'Elb.RegistrationInProgress' : 'Elb.InitialHealthChecking', description: reports.length === 0 ? 'Target registration is in progress' : 'Initial health checks in progress' };
}

function unhealthyReason(haproxy: string): { reason: string; description: string } {
  const code = /L7STS\D*(\d{3})/.exec(haproxy)?.[1];
  if (code) return { reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${code}]` };
  if (/TOUT/.test(haproxy)) return { reason: 'Target.Timeout', description: 'Request timed out' };
  return { reason: 'Target.FailedHealthChecks', description: haproxy ? `Health checks failed: ${haproxy}` : 'Health checks failed' };
}

/** Whether every proxy that serves this draining target reported it drained (no connection left). */
export function drainedEverywhere(state: TrafficState, t: ResolvedTarget): boolean {
  const id = serverId(t);
  const reports = state.health.filter((h) => h.targetGroupId === t.targetGroupId && `${h.targetId}:${h.port}` === id && state.nodes.get(h.nodeId)?.connected);
  return reports.length > 0 && reports.every((r) => r.state === 'drained');
}

/** The nodes each load balancer is placed on (connected or not). */
export function nodesOf(state: TrafficState, lb: TrafficLoadBalancer): (TrafficNode & { connected: boolean; hostname: string })[] {
  return [...state.nodes.values()].filter((n) => servesLoadBalancer(lb.placement, n));
}
