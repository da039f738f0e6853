import {
  conditionValues,
  forwardTargets,
  isHttpProtocol,
  parseElbArn,
  servesLoadBalancer,
  type ElbAction,
  type ElbCondition,
  type HealthCheckSettings,
  type LbPlacement,
  type LoadBalancerType,
} from './load-balancing.js';

/**
 * What each node's proxy serves, from the cluster's ELBv2 state and its tasks: which targets a target
 * group has (registered by hand, or a service's tasks by derivation), which are draining, and the
 * snapshot for one node. Pure: the control plane reads the state, this decides, the agent applies.
 * The shapes are structurally the agent protocol's ProxySnapshot.
 */

export interface TrafficLoadBalancer {
  id: string;
  name: string;
  type: LoadBalancerType;
  placement: LbPlacement;
  arn: string;
}
export interface TrafficListener {
  id: string;
  loadBalancerId: string;
  port: number;
  protocol: string;
  defaultActions: ElbAction[];
  arn: string;
}
export interface TrafficRule {
  id: string;
  listenerId: string;
  priority: number;
  conditions: ElbCondition[];
  actions: ElbAction[];
}
export interface TrafficTargetGroup {
  id: string;
  name: string;
  protocol: string | null;
  port: number | null;
  targetType: string;
  healthCheck: HealthCheckSettings;
  attributes: Record<string, string>;
  arn: string;
}

/** A target as the proxies see it. */
export interface ResolvedTarget {
  targetGroupId: string;
  /** ELB's target id: a node id (instance targets) or an address (ip targets). */
  targetId: string;
  port: number;
  /** Where the proxy connects; empty when the node's address is unknown (the target is then left out, `unavailable`). */
  address: string;
  draining: boolean;
  /** The task behind it, for a service's target. */
  taskId?: string;
  /** The node it is on, when known (a proxy on the same node reaches it at 127.0.0.1 when its address is unknown). */
  nodeId?: string;
  /** When draining ends at the latest (deregistration delay after the stop began). */
  drainUntilMs?: number;
}

export interface TrafficNode {
  id: string;
  address: string;
  attributes: Record<string, string>;
  labels: Record<string, string>;
}

export interface TargetRow {
  targetGroupId: string;
  targetId: string;
  port: number;
  state: string;
  drainUntilMs: number | null;
}

export interface ServiceTargets {
  /** The service's task group (`service:<name>`) and cluster. */
  cluster: string;
  group: string;
  loadBalancers: { targetGroupId: string; containerName: string; containerPort: number }[];
}

export interface TrafficTask {
  id: string;
  cluster: string;
  group: string;
  nodeId: string | null;
  desiredStatus: string;
  lastStatus: string;
  stoppingAtMs: number | null;
  containers: { name: string; networkBindings?: { bindIP: string; containerPort: number; hostPort: number; protocol?: string }[] }[];
}

const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]']);

/** Seconds a target group drains a deregistered target (ELB's deregistration_delay.timeout_seconds). */
export function deregistrationDelaySeconds(tg: Pick<TrafficTargetGroup, 'attributes'>): number {
  const v = Number(tg.attributes['deregistration_delay.timeout_seconds'] ?? 300);
  return Number.isFinite(v) ? v : 300;
}

/** Where a task's container port is reached: its binding's host address when specific, else its node's address. */
export function bindingAddress(bindIP: string, node: TrafficNode | undefined): string {
  return WILDCARD.has(bindIP) ? (node?.address ?? '') : bindIP;
}

/**
 * Every target of every target group: rows registered by hand, and the tasks of services whose
 * loadBalancers name the group. A service's task is a target once RUNNING (and wanted running); once it
 * is asked to stop it drains for the group's deregistration delay (its containers get SIGTERM after, see
 * `stopHeldUntil`); a STOPPED task is no target.
 */
export function resolveTargets(input: {
  targetGroups: readonly TrafficTargetGroup[];
  registered: readonly TargetRow[];
  services: readonly ServiceTargets[];
  tasks: readonly TrafficTask[];
  nodes: ReadonlyMap<string, TrafficNode>;
  nowMs: number;
}): ResolvedTarget[] {
  const groups = new Map(input.targetGroups.map((g) => [g.id, g]));
  const out: ResolvedTarget[] = [];
  for (const r of input.registered) {
    const tg = groups.get(r.targetGroupId);
    if (!tg) continue;
    if (r.state === 'draining' && r.drainUntilMs !== null && r.drainUntilMs <= input.nowMs) continue;
    const address = tg.targetType === 'ip' ? r.targetId : (input.nodes.get(r.targetId)?.address ?? '');
    out.push({
      targetGroupId: r.targetGroupId,
      targetId: r.targetId,
      port: r.port,
      address,
      draining: r.state === 'draining',
      ...(tg.targetType === 'instance' ? { nodeId: r.targetId } : {}),
      ...(r.drainUntilMs !== null ? { drainUntilMs: r.drainUntilMs } : {}),
    });
  }
  const byGroup = new Map<string, ServiceTargets>();
  for (const s of input.services) byGroup.set(`${s.cluster}\u0000${s.group}`, s);
  for (const t of input.tasks) {
    const svc = byGroup.get(`${t.cluster}\u0000${t.group}`);
    if (!svc || !t.nodeId || t.lastStatus === 'STOPPED') continue;
    const running = t.desiredStatus === 'RUNNING' && t.lastStatus === 'RUNNING';
    const stopping = t.desiredStatus === 'STOPPED' && t.lastStatus !== 'STOPPED' && t.stoppingAtMs !== null;
    if (!running && !stopping) continue;
    const node = input.nodes.get(t.nodeId);
    for (const lb of svc.loadBalancers) {
      const tg = groups.get(lb.targetGroupId);
      if (!tg) continue;
      const binding = t.containers.find((c) => c.name === lb.containerName)?.networkBindings?.find((b) => b.containerPort === lb.containerPort && (b.protocol ?? 'tcp') === 'tcp');
      if (!binding) continue;
      const drainUntilMs = stopping ? t.stoppingAtMs! + deregistrationDelaySeconds(tg) * 1000 : undefined;
      if (drainUntilMs !== undefined && drainUntilMs <= input.nowMs) continue;
      const address = bindingAddress(binding.bindIP, node);
      out.push({
        targetGroupId: tg.id,
        targetId: tg.targetType === 'ip' ? address || t.nodeId : t.nodeId,
        port: binding.hostPort,
        address,
        draining: stopping,
        taskId: t.id,
        nodeId: t.nodeId,
        ...(drainUntilMs !== undefined ? { drainUntilMs } : {}),
      });
    }
  }
  return out;
}

/**
 * Until when a stopping task's containers are held running so its targets drain first: the latest
 * drain end of its targets, or earlier once every proxy has reported each of them drained (no open
 * connection), as ELB completes a deregistration early. undefined: not held.
 */
export function stopHeldUntil(taskId: string, targets: readonly ResolvedTarget[], drained: (t: ResolvedTarget) => boolean): number | undefined {
  const mine = targets.filter((t) => t.taskId === taskId && t.draining && t.drainUntilMs !== undefined);
  if (mine.length === 0 || mine.every(drained)) return undefined;
  return Math.max(...mine.map((t) => t.drainUntilMs!));
}

// ---- the snapshot for one node

export interface SnapshotAction {
  type: string;
  forward: { backendId: string; weight: number }[];
  statusCode: number;
  contentType: string;
  messageBody: string;
  location: string;
}
export interface SnapshotRule {
  priority: number;
  hostHeaders: string[];
  pathPatterns: string[];
  httpRequestMethods: string[];
  sourceIps: string[];
  httpHeaders: { name: string; values: string[] }[];
  queryStrings: string[];
  action: SnapshotAction;
}
export interface SnapshotFrontend {
  id: string;
  bindAddress: string;
  port: number;
  protocol: string;
  rules: SnapshotRule[];
  defaultAction: SnapshotAction;
  loadBalancerArn: string;
  listenerArn: string;
}
export interface SnapshotBackend {
  id: string;
  protocol: string;
  algorithm: string;
  healthCheck: {
    protocol: string;
    path: string;
    port: number;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    matcher: string;
  };
  servers: { id: string; address: string; port: number; weight: number; state: string }[];
  targetGroupArn: string;
  slowStartSeconds: number;
}
export interface NodeProxySnapshot {
  frontends: SnapshotFrontend[];
  backends: SnapshotBackend[];
}

/** The server name a target has in its backend (and in health reports). */
export const serverId = (t: Pick<ResolvedTarget, 'targetId' | 'port'>): string => `${t.targetId}:${t.port}`;

/** A target group by its ARN, or by the name part of an ARN written for another region or account. */
export function targetGroupByArn(groups: readonly TrafficTargetGroup[], arn: string): TrafficTargetGroup | undefined {
  const exact = groups.find((g) => g.arn === arn);
  if (exact) return exact;
  const p = parseElbArn(arn);
  return p?.kind === 'targetgroup' ? (groups.find((g) => g.id === p.id) ?? groups.find((g) => g.name === p.name)) : undefined;
}

function action(actions: readonly ElbAction[], groups: readonly TrafficTargetGroup[], used: Set<string>): SnapshotAction {
  const a = actions.find((x) => ['forward', 'redirect', 'fixed-response'].includes(x.Type));
  const empty: SnapshotAction = { type: 'fixed-response', forward: [], statusCode: 503, contentType: 'text/plain', messageBody: 'no action\n', location: '' };
  if (!a) return empty;
  if (a.Type === 'forward') {
    const forward = forwardTargets([a]).flatMap((t) => {
      const g = targetGroupByArn(groups, t.TargetGroupArn);
      if (!g) return [];
      used.add(g.id);
      return [{ backendId: g.id, weight: t.Weight ?? 1 }];
    });
    return { ...empty, type: 'forward', forward, statusCode: 0, contentType: '', messageBody: '' };
  }
  if (a.Type === 'fixed-response') {
    const f = a.FixedResponseConfig!;
    return { ...empty, statusCode: Number(f.StatusCode), contentType: f.ContentType ?? 'text/plain', messageBody: f.MessageBody ?? '' };
  }
  const r = a.RedirectConfig!;
  // ELB's #{protocol}, #{host}, #{port}, #{path}, #{query} placeholders stay for the proxy to fill in.
  const protocol = (r.Protocol ?? '#{protocol}').toLowerCase();
  const query = r.Query ?? '#{query}';
  const location = `${protocol}://${r.Host ?? '#{host}'}:${r.Port ?? '#{port}'}${r.Path ?? '/#{path}'}${query ? `?${query}` : ''}`;
  return { ...empty, type: 'redirect', statusCode: r.StatusCode === 'HTTP_301' ? 301 : 302, contentType: '', messageBody: '', location };
}

function healthCheckOf(g: TrafficTargetGroup): SnapshotBackend['healthCheck'] {
  const h = g.healthCheck;
  return {
    protocol: isHttpProtocol(h.HealthCheckProtocol) ? 'HTTP' : 'TCP',
    path: h.HealthCheckPath ?? '',
    port: h.HealthCheckPort === 'traffic-port' ? 0 : Number(h.HealthCheckPort),
    intervalSeconds: h.HealthCheckIntervalSeconds,
    timeoutSeconds: h.HealthCheckTimeoutSeconds,
    healthyThreshold: h.HealthyThresholdCount,
    unhealthyThreshold: h.UnhealthyThresholdCount,
    matcher: h.Matcher?.HttpCode ?? '',
  };
}

/** The snapshot one node's proxy serves: the listeners of the load balancers placed on it, the target groups they use. */
export function proxySnapshotFor(
  node: TrafficNode,
  state: { loadBalancers: readonly TrafficLoadBalancer[]; listeners: readonly TrafficListener[]; rules: readonly TrafficRule[]; targetGroups: readonly TrafficTargetGroup[]; targets: readonly ResolvedTarget[] },
): NodeProxySnapshot {
  const lbs = state.loadBalancers.filter((lb) => servesLoadBalancer(lb.placement, node));
  const used = new Set<string>();
  const frontends: SnapshotFrontend[] = [];
  for (const lb of [...lbs].sort((a, b) => a.id.localeCompare(b.id))) {
    for (const l of state.listeners.filter((x) => x.loadBalancerId === lb.id).sort((a, b) => a.port - b.port)) {
      const rules = state.rules
        .filter((r) => r.listenerId === l.id)
        .sort((a, b) => a.priority - b.priority)
        .map((r): SnapshotRule => {
          const of = (field: string) => r.conditions.filter((c) => c.Field === field).flatMap(conditionValues);
          return {
            priority: r.priority,
            hostHeaders: of('host-header'),
            pathPatterns: of('path-pattern'),
            httpRequestMethods: of('http-request-method'),
            sourceIps: of('source-ip'),
            httpHeaders: r.conditions.filter((c) => c.Field === 'http-header').map((c) => ({ name: c.HttpHeaderConfig?.HttpHeaderName ?? '', values: conditionValues(c) })),
            queryStrings: of('query-string'),
            action: action(r.actions, state.targetGroups, used),
          };
        });
      frontends.push({
        id: l.id,
        bindAddress: node.address || '0.0.0.0',
        port: l.port,
        protocol: isHttpProtocol(l.protocol) ? 'HTTP' : 'TCP',
        rules,
        defaultAction: action(l.defaultActions, state.targetGroups, used),
        loadBalancerArn: lb.arn,
        listenerArn: l.arn,
      });
    }
  }
  const backends: SnapshotBackend[] = state.targetGroups
    .filter((g) => used.has(g.id))
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((g) => {
      const seen = new Set<string>();
      // A target on this very node whose address is unknown (its agent binds every address) is at 127.0.0.1.
      const reach = (t: ResolvedTarget) => t.address || (t.nodeId === node.id ? '127.0.0.1' : '');
      const servers = state.targets
        .filter((t) => t.targetGroupId === g.id && reach(t) !== '')
        .sort((a, b) => serverId(a).localeCompare(serverId(b)))
        .filter((t) => !seen.has(serverId(t)) && (seen.add(serverId(t)), true))
        .map((t) => ({ id: serverId(t), address: reach(t), port: t.port, weight: 1, state: t.draining ? 'draining' : 'active' }));
      return {
        id: g.id,
        protocol: isHttpProtocol(g.protocol) ? 'HTTP' : 'TCP',
        algorithm: g.attributes['load_balancing.algorithm.type'] === 'least_outstanding_requests' ? 'leastconn' : 'roundrobin',
        healthCheck: healthCheckOf(g),
        servers,
        targetGroupArn: g.arn,
        slowStartSeconds: Number(g.attributes['slow_start.duration_seconds'] ?? 0) || 0,
      };
    });
  return { frontends, backends };
}
