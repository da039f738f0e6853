import {
  BerthError,
  checkActions,
  checkConditions,
  checkElbName,
  checkListener,
  checkTargetGroup,
  checkTargetGroupAttributes,
  elbArns,
  invalid,
  LOAD_BALANCER_ATTRIBUTE_DEFAULTS,
  newElbId,
  notFound,
  conflict,
  parseElbArn,
  parsePlacement,
  placementZones,
  servesLoadBalancer,
  TARGET_GROUP_ATTRIBUTE_DEFAULTS,
  targetGroupByArn,
  validationFailed,
  type ElbAction,
  type ElbCondition,
  type FieldError,
  type LoadBalancerType,
  type ServiceLoadBalancer,
  type TargetGroupInput,
  type TaskDefinitionSpec,
} from '@berth/domain';
import {
  deleteAllResourceTags,
  deleteListener as deleteListenerRow,
  deleteLoadBalancer as deleteLoadBalancerRow,
  deleteResourceTags,
  deleteRule as deleteRuleRow,
  deleteTargetGroup as deleteTargetGroupRow,
  drainTargets,
  getListener,
  getLoadBalancer,
  getRule,
  getTargetGroup,
  getTargetGroupByName,
  insertListener,
  insertLoadBalancer,
  insertRule,
  insertTargetGroup,
  listListeners,
  listLoadBalancers,
  listRules,
  listTargetGroups,
  proxyAcks,
  putResourceTags,
  registerTargets as registerTargetRows,
  resourcesTags,
  servicesWithLoadBalancers,
  updateListener,
  updateLoadBalancer,
  updateRule,
  updateTargetGroup,
  type ListenerRecord,
  type LoadBalancerRecord,
  type Queryable,
  type RuleRecord,
  type TargetGroupRecord,
} from '@berth/store';
import type { AppContext } from './context.js';
import { loadBalancersOfGroups, nodesOf, readTrafficState, targetHealthOf, type TrafficState } from './traffic-state.js';

/**
 * ELBv2's application logic: load balancers, listeners, rules, target groups and targets, with ELB's
 * rules and errors (BerthError codes the ways in map onto ELB's error codes). Inputs and answers use
 * ELB's member names, so the ELBv2 adapter is a thin one and the CLI shows what `aws elbv2` would.
 * Every write tells the proxies (ctx.trafficChanged).
 */

type Tag = { Key: string; Value?: string };
const MAX_RULES_PER_LISTENER = 100;

const codeError = (e: BerthError, code: NonNullable<BerthError['code']>) => e.as(code);
const changed = (ctx: AppContext) => ctx.trafficChanged?.();
const fieldsFailed = (what: string, errors: FieldError[]) => {
  if (errors.length > 0) throw validationFailed(what, errors);
};

// ---- references

async function loadBalancerByArn(ctx: AppContext, arn: string, q: Queryable = ctx.db.sql): Promise<LoadBalancerRecord> {
  const p = parseElbArn(arn);
  const lb = p?.kind === 'loadbalancer' ? ((await getLoadBalancer(q, p.id)) ?? (await listLoadBalancers(q)).find((l) => l.name === p.name)) : undefined;
  if (!lb) throw codeError(notFound(`LoadBalancerArn: no load balancer ${arn}`), 'load-balancer-not-found');
  return lb;
}

export async function targetGroupOf(ctx: AppContext, arn: string, q: Queryable = ctx.db.sql): Promise<TargetGroupRecord> {
  const p = parseElbArn(arn);
  const tg = p?.kind === 'targetgroup' ? ((await getTargetGroup(q, p.id)) ?? (await getTargetGroupByName(q, p.name))) : undefined;
  if (!tg) {
    throw codeError(notFound(`TargetGroupArn: no target group ${arn}${p?.kind === 'targetgroup' ? `; create it with \`aws elbv2 create-target-group --name ${p.name} ...\` or \`berth lb target-group create ${p.name}\`` : ''}`), 'target-group-not-found');
  }
  return tg;
}

async function listenerByArn(ctx: AppContext, arn: string, q: Queryable = ctx.db.sql): Promise<{ listener: ListenerRecord; lb: LoadBalancerRecord }> {
  const p = parseElbArn(arn);
  const listener = p?.kind === 'listener' ? await getListener(q, p.id) : undefined;
  const lb = listener ? await getLoadBalancer(q, listener.loadBalancerId) : undefined;
  if (!listener || !lb) throw codeError(notFound(`ListenerArn: no listener ${arn}`), 'listener-not-found');
  return { listener, lb };
}

async function ruleByArn(ctx: AppContext, arn: string): Promise<{ rule: RuleRecord | undefined; listener: ListenerRecord; lb: LoadBalancerRecord }> {
  const p = parseElbArn(arn);
  if (p?.kind !== 'listener-rule') throw codeError(notFound(`RuleArn: no rule ${arn}`), 'rule-not-found');
  const rule = await getRule(ctx.db.sql, p.id);
  const listenerId = rule?.listenerId ?? p.id; // a listener's default rule has the listener's id
  const listener = await getListener(ctx.db.sql, listenerId);
  const lb = listener ? await getLoadBalancer(ctx.db.sql, listener.loadBalancerId) : undefined;
  if (!listener || !lb || (!rule && listenerId !== p.id)) throw codeError(notFound(`RuleArn: no rule ${arn}`), 'rule-not-found');
  return { rule, listener, lb };
}

const tagKey = {
  loadBalancer: (lb: LoadBalancerRecord) => `elb/loadbalancer/${lb.id}`,
  targetGroup: (tg: TargetGroupRecord) => `elb/targetgroup/${tg.id}`,
  listener: (id: string) => `elb/listener/${id}`,
  rule: (id: string) => `elb/listener-rule/${id}`,
};

// ---- views (ELB's shapes)

const lbArn = (ctx: AppContext, lb: LoadBalancerRecord) => elbArns.loadBalancer(ctx.arn, lb.type, lb.name, lb.id);
const tgArn = (ctx: AppContext, tg: TargetGroupRecord) => elbArns.targetGroup(ctx.arn, tg.name, tg.id);
const listenerArn = (ctx: AppContext, lb: LoadBalancerRecord, id: string) => elbArns.listener(ctx.arn, lb.type, lb.name, lb.id, id);
const ruleArn = (ctx: AppContext, lb: LoadBalancerRecord, listenerId: string, id: string) => elbArns.rule(ctx.arn, lb.type, lb.name, lb.id, listenerId, id);

function lbView(ctx: AppContext, lb: LoadBalancerRecord, state: TrafficState, acks: Map<string, { version: number; error: string }>) {
  const view = state.loadBalancers.find((l) => l.id === lb.id)!;
  const nodes = nodesOf(state, view);
  const addresses = nodes.map((n) => n.address || n.hostname).filter(Boolean);
  const failed = nodes.map((n) => ({ n, a: acks.get(n.id) })).find((x) => x.a?.error);
  const serving = nodes.some((n) => n.connected && (acks.get(n.id)?.version ?? 0) > 0 && !acks.get(n.id)?.error);
  const code = failed ? 'active_impaired' : serving ? 'active' : 'provisioning';
  return {
    LoadBalancerArn: lbArn(ctx, lb),
    DNSName: addresses[0] ?? `${lb.name}-${lb.id}.berth.internal`,
    CanonicalHostedZoneId: 'BERTH',
    CreatedTime: lb.createdAt,
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: 'vpc-berth',
    State: {
      Code: code,
      ...(failed ? { Reason: `node ${failed.n.id}: ${failed.a!.error}` } : code === 'provisioning' ? { Reason: nodes.length === 0 ? `no node matches ${placementZones(lb.placement).join(', ')} (label or attribute a node to serve it)` : 'waiting for a node to serve it' } : {}),
    },
    Type: lb.type,
    AvailabilityZones: placementZones(lb.placement).map((z) => ({
      ZoneName: z,
      SubnetId: z,
      LoadBalancerAddresses: nodes.filter((n) => servesLoadBalancer({ nodes: lb.placement.nodes.includes(z) ? [z] : [], attributes: lb.placement.nodes.includes(z) ? {} : Object.fromEntries([z.split(/=(.*)/s, 2) as [string, string]]) }, n)).map((n) => ({ IpAddress: n.address || n.hostname })),
    })),
    SecurityGroups: [],
    IpAddressType: lb.ipAddressType,
  };
}

function tgView(ctx: AppContext, tg: TargetGroupRecord, lbArnsOf: string[]) {
  const h = tg.healthCheck;
  return {
    TargetGroupArn: tgArn(ctx, tg),
    TargetGroupName: tg.name,
    ...(tg.protocol ? { Protocol: tg.protocol } : {}),
    ...(tg.port !== null ? { Port: tg.port } : {}),
    VpcId: 'vpc-berth',
    HealthCheckProtocol: h.HealthCheckProtocol,
    HealthCheckPort: h.HealthCheckPort,
    HealthCheckEnabled: h.HealthCheckEnabled,
    HealthCheckIntervalSeconds: h.HealthCheckIntervalSeconds,
    HealthCheckTimeoutSeconds: h.HealthCheckTimeoutSeconds,
    HealthyThresholdCount: h.HealthyThresholdCount,
    UnhealthyThresholdCount: h.UnhealthyThresholdCount,
    ...(h.HealthCheckPath ? { HealthCheckPath: h.HealthCheckPath } : {}),
    ...(h.Matcher ? { Matcher: h.Matcher } : {}),
    LoadBalancerArns: lbArnsOf,
    TargetType: tg.targetType,
    ...(tg.protocol === 'HTTP' || tg.protocol === 'HTTPS' ? { ProtocolVersion: 'HTTP1' } : {}),
    IpAddressType: 'ipv4',
  };
}

const listenerView = (ctx: AppContext, lb: LoadBalancerRecord, l: ListenerRecord) => ({
  ListenerArn: listenerArn(ctx, lb, l.id),
  LoadBalancerArn: lbArn(ctx, lb),
  Port: l.port,
  Protocol: l.protocol,
  DefaultActions: l.defaultActions,
  ...(l.certificates.length > 0 ? { Certificates: l.certificates } : {}),
  ...(l.sslPolicy ? { SslPolicy: l.sslPolicy } : {}),
});

const ruleView = (ctx: AppContext, lb: LoadBalancerRecord, listener: ListenerRecord, r: RuleRecord | undefined) =>
  r
    ? { RuleArn: ruleArn(ctx, lb, listener.id, r.id), Priority: String(r.priority), Conditions: r.conditions, Actions: r.actions, IsDefault: false }
    : { RuleArn: ruleArn(ctx, lb, listener.id, listener.id), Priority: 'default', Conditions: [], Actions: listener.defaultActions, IsDefault: true };

const proxyAcksOf = (ctx: AppContext) => proxyAcks(ctx.db.sql);

// ---- load balancers

export interface CreateLoadBalancerInput {
  Name: string;
  Subnets?: string[];
  SubnetMappings?: { SubnetId?: string }[];
  Type?: string;
  Scheme?: string;
  IpAddressType?: string;
  Tags?: Tag[];
  SecurityGroups?: string[];
}

export async function createLoadBalancerOp(ctx: AppContext, input: CreateLoadBalancerInput) {
  const errors: FieldError[] = [];
  const nameError = checkElbName('Name', input.Name, 'load balancer');
  if (nameError) errors.push(nameError);
  const type = (input.Type ?? 'application') as LoadBalancerType;
  if (type !== 'application' && type !== 'network') errors.push({ path: 'Type', rule: 'must be application or network (gateway load balancers do not apply on Berth)', value: input.Type });
  if (input.Subnets?.length && input.SubnetMappings?.length) errors.push({ path: 'SubnetMappings', rule: 'give Subnets or SubnetMappings, not both' });
  if ((input.IpAddressType ?? 'ipv4') !== 'ipv4') errors.push({ path: 'IpAddressType', rule: 'only ipv4 in this Berth version', value: input.IpAddressType });
  const subnets = input.Subnets ?? (input.SubnetMappings ?? []).map((m) => m.SubnetId ?? '');
  const placed = parsePlacement(subnets, input.Subnets ? 'Subnets' : 'SubnetMappings');
  errors.push(...placed.errors);
  fieldsFailed('invalid load balancer', errors);
  const existing = (await listLoadBalancers(ctx.db.sql)).find((l) => l.name === input.Name);
  if (existing) throw codeError(conflict(`Name: a load balancer named ${input.Name} exists (${lbArn(ctx, existing)})`), 'duplicate-load-balancer-name');
  const lb = await ctx.db.sql.begin(async (tx) => {
    const row = await insertLoadBalancer(tx, {
      id: newElbId(ctx.random),
      name: input.Name,
      type,
      scheme: input.Scheme ?? 'internet-facing',
      ipAddressType: 'ipv4',
      placement: placed.placement,
      attributes: { ...LOAD_BALANCER_ATTRIBUTE_DEFAULTS },
    });
    if (!row) throw codeError(conflict(`Name: a load balancer named ${input.Name} exists`), 'duplicate-load-balancer-name');
    if (input.Tags?.length) await putResourceTags(tx, tagKey.loadBalancer(row), input.Tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })));
    return row;
  });
  changed(ctx);
  const state = await readTrafficState(ctx);
  ctx.log.info({ loadBalancer: lb.name, placement: lb.placement }, 'load balancer created');
  return { loadBalancer: lbView(ctx, lb, state, await proxyAcksOf(ctx)), warnings: placed.warnings };
}

export async function describeLoadBalancersOp(ctx: AppContext, input: { LoadBalancerArns?: string[]; Names?: string[] }) {
  const all = await listLoadBalancers(ctx.db.sql);
  let picked = all;
  if (input.LoadBalancerArns?.length) picked = await Promise.all(input.LoadBalancerArns.map((a) => loadBalancerByArn(ctx, a)));
  if (input.Names?.length) {
    picked = input.Names.map((n) => {
      const lb = all.find((l) => l.name === n);
      if (!lb) throw codeError(notFound(`Names: no load balancer named ${n}`), 'load-balancer-not-found');
      return lb;
    });
  }
  const [state, acks] = await Promise.all([readTrafficState(ctx), proxyAcksOf(ctx)]);
  return picked.map((lb) => lbView(ctx, lb, state, acks));
}

export async function deleteLoadBalancerOp(ctx: AppContext, arn: string): Promise<void> {
  let lb: LoadBalancerRecord;
  try {
    lb = await loadBalancerByArn(ctx, arn);
  } catch (err) {
    // ELB: deleting a load balancer that is gone succeeds.
    if (err instanceof BerthError && err.code === 'load-balancer-not-found') return;
    throw err;
  }
  if (lb.attributes['deletion_protection.enabled'] === 'true') throw codeError(invalid(`load balancer ${lb.name} has deletion protection on (deletion_protection.enabled); turn it off first`), 'operation-not-permitted');
  await ctx.db.sql.begin(async (tx) => {
    const listeners = await listListeners(tx, lb.id);
    await deleteAllResourceTags(tx, [tagKey.loadBalancer(lb), ...listeners.map((l) => tagKey.listener(l.id))]);
    await deleteLoadBalancerRow(tx, lb.id);
  });
  ctx.log.info({ loadBalancer: lb.name }, 'load balancer deleted');
  changed(ctx);
}

const attributesOut = (a: Record<string, string>) => Object.entries(a).map(([Key, Value]) => ({ Key, Value }));

export async function loadBalancerAttributesOp(ctx: AppContext, arn: string, changes?: { Key?: string; Value?: string }[]) {
  const lb = await loadBalancerByArn(ctx, arn);
  if (!changes) return attributesOut(lb.attributes);
  const errors: FieldError[] = [];
  const next = { ...lb.attributes };
  changes.forEach((c, i) => {
    const p = `Attributes.member.${i + 1}`;
    if (!c.Key || !Object.hasOwn(LOAD_BALANCER_ATTRIBUTE_DEFAULTS, c.Key)) return void errors.push({ path: `${p}.Key`, rule: `must be one of ${Object.keys(LOAD_BALANCER_ATTRIBUTE_DEFAULTS).join(', ')}`, value: c.Key });
    const ok = c.Key === 'idle_timeout.timeout_seconds' ? /^\d+$/.test(c.Value ?? '') && Number(c.Value) >= 1 && Number(c.Value) <= 4000 : c.Value === 'true' || c.Value === 'false';
    if (!ok) return void errors.push({ path: `${p}.Value`, rule: c.Key === 'idle_timeout.timeout_seconds' ? 'must be 1-4000 seconds' : 'must be true or false', value: c.Value });
    next[c.Key] = c.Value!;
  });
  fieldsFailed('invalid load balancer attributes', errors);
  await updateLoadBalancer(ctx.db.sql, lb.id, { attributes: next });
  changed(ctx);
  return attributesOut(next);
}

// ---- target groups

export async function createTargetGroupOp(ctx: AppContext, input: TargetGroupInput & { Tags?: Tag[]; VpcId?: string; ProtocolVersion?: string; IpAddressType?: string }) {
  const { healthCheck, errors } = checkTargetGroup(input);
  if (input.ProtocolVersion && input.ProtocolVersion !== 'HTTP1') errors.push({ path: 'ProtocolVersion', rule: 'only HTTP1 in this Berth version', value: input.ProtocolVersion });
  fieldsFailed('invalid target group', errors);
  const existing = await getTargetGroupByName(ctx.db.sql, input.Name);
  if (existing) {
    // ELB: the same name with the same settings answers the existing group; different settings are a conflict.
    const same = existing.protocol === (input.Protocol ?? null) && existing.port === (input.Port ?? null) && existing.targetType === (input.TargetType ?? 'instance') && JSON.stringify(existing.healthCheck) === JSON.stringify(healthCheck);
    if (same) return tgView(ctx, existing, []);
    throw codeError(conflict(`Name: a target group named ${input.Name} exists with other settings (${tgArn(ctx, existing)})`), 'duplicate-target-group-name');
  }
  const tg = await ctx.db.sql.begin(async (tx) => {
    const row = await insertTargetGroup(tx, {
      id: newElbId(ctx.random),
      name: input.Name,
      protocol: input.Protocol ?? null,
      port: input.Port ?? null,
      targetType: input.TargetType ?? 'instance',
      healthCheck,
      attributes: { ...TARGET_GROUP_ATTRIBUTE_DEFAULTS },
    });
    if (!row) throw codeError(conflict(`Name: a target group named ${input.Name} exists`), 'duplicate-target-group-name');
    if (input.Tags?.length) await putResourceTags(tx, tagKey.targetGroup(row), input.Tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })));
    return row;
  });
  ctx.log.info({ targetGroup: tg.name }, 'target group created');
  return tgView(ctx, tg, []);
}

export async function describeTargetGroupsOp(ctx: AppContext, input: { LoadBalancerArn?: string; TargetGroupArns?: string[]; Names?: string[] }) {
  const all = await listTargetGroups(ctx.db.sql);
  const state = await readTrafficState(ctx);
  const used = loadBalancersOfGroups(state);
  const lbArnOf = (id: string) => state.loadBalancers.find((l) => l.id === id)?.arn ?? '';
  let picked = all;
  if (input.TargetGroupArns?.length) picked = await Promise.all(input.TargetGroupArns.map((a) => targetGroupOf(ctx, a)));
  if (input.Names?.length) {
    picked = input.Names.map((n) => {
      const g = all.find((x) => x.name === n);
      if (!g) throw codeError(notFound(`Names: no target group named ${n}`), 'target-group-not-found');
      return g;
    });
  }
  if (input.LoadBalancerArn) {
    const lb = await loadBalancerByArn(ctx, input.LoadBalancerArn);
    picked = picked.filter((g) => used.get(g.id)?.includes(lb.id));
  }
  return picked.map((g) => tgView(ctx, g, (used.get(g.id) ?? []).map(lbArnOf)));
}

export async function modifyTargetGroupOp(ctx: AppContext, input: Omit<TargetGroupInput, 'Name'> & { TargetGroupArn: string }) {
  const tg = await targetGroupOf(ctx, input.TargetGroupArn);
  const { healthCheck, errors } = checkTargetGroup({ ...input, Name: tg.name, Protocol: tg.protocol ?? undefined, Port: tg.port ?? undefined, TargetType: tg.targetType }, tg.healthCheck);
  fieldsFailed('invalid target group', errors);
  const next = await updateTargetGroup(ctx.db.sql, tg.id, { healthCheck });
  changed(ctx);
  return tgView(ctx, next!, []);
}

export async function deleteTargetGroupOp(ctx: AppContext, arn: string): Promise<void> {
  let tg: TargetGroupRecord;
  try {
    tg = await targetGroupOf(ctx, arn);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'target-group-not-found') return;
    throw err;
  }
  const state = await readTrafficState(ctx);
  const lbs = loadBalancersOfGroups(state).get(tg.id) ?? [];
  if (lbs.length > 0) throw codeError(conflict(`target group ${tg.name} is used by a listener or rule of load balancer ${state.loadBalancers.find((l) => l.id === lbs[0])?.name}; change those actions first`), 'resource-in-use');
  const svc = (await servicesWithLoadBalancers(ctx.db.sql)).find((s) => s.loadBalancers.some((l) => targetGroupByArn(state.targetGroups, l.targetGroupArn)?.id === tg.id));
  if (svc) throw codeError(conflict(`target group ${tg.name} is used by service ${svc.name} (cluster ${svc.cluster}); update or delete the service first`), 'resource-in-use');
  await ctx.db.sql.begin(async (tx) => {
    await deleteAllResourceTags(tx, [tagKey.targetGroup(tg)]);
    await deleteTargetGroupRow(tx, tg.id);
  });
  changed(ctx);
}

export async function targetGroupAttributesOp(ctx: AppContext, arn: string, changes?: { Key?: string; Value?: string }[]) {
  const tg = await targetGroupOf(ctx, arn);
  if (!changes) return attributesOut(tg.attributes);
  const { attributes, errors } = checkTargetGroupAttributes(tg.attributes, changes);
  fieldsFailed('invalid target group attributes', errors);
  await updateTargetGroup(ctx.db.sql, tg.id, { attributes });
  changed(ctx);
  return attributesOut(attributes);
}

// ---- targets

export interface TargetInput {
  Id: string;
  Port?: number;
  AvailabilityZone?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

async function checkTargets(ctx: AppContext, tg: TargetGroupRecord, targets: TargetInput[]): Promise<{ targetId: string; port: number }[]> {
  const errors: FieldError[] = [];
  const nodes = new Set((await ctx.db.sql`SELECT id FROM nodes WHERE status <> 'INACTIVE'`).map((r) => r.id as string));
  const out = targets.map((t, i) => {
    const p = `Targets.member.${i + 1}`;
    const port = t.Port ?? tg.port ?? 0;
    if (port < 1 || port > 65535) errors.push({ path: `${p}.Port`, rule: tg.port === null ? 'is required (the target group has no port)' : 'must be 1-65535', value: t.Port });
    if (tg.targetType === 'instance' && !nodes.has(t.Id)) errors.push({ path: `${p}.Id`, rule: 'must be a node (container instance) id of this cluster, such as n-0123456789abcdef', value: t.Id });
    if (tg.targetType === 'ip' && !IPV4.test(t.Id)) errors.push({ path: `${p}.Id`, rule: 'must be an IPv4 address for an ip target group', value: t.Id });
    return { targetId: t.Id, port };
  });
  if (errors.length > 0) throw codeError(validationFailed('invalid targets', errors), 'invalid-target');
  return out;
}

export async function registerTargetsOp(ctx: AppContext, arn: string, targets: TargetInput[]): Promise<void> {
  const tg = await targetGroupOf(ctx, arn);
  const rows = await checkTargets(ctx, tg, targets);
  await registerTargetRows(ctx.db.sql, tg.id, rows);
  changed(ctx);
}

export async function deregisterTargetsOp(ctx: AppContext, arn: string, targets: TargetInput[]): Promise<void> {
  const tg = await targetGroupOf(ctx, arn);
  const rows = targets.map((t) => ({ targetId: t.Id, port: t.Port ?? tg.port ?? 0 }));
  const delay = Number(tg.attributes['deregistration_delay.timeout_seconds'] ?? 300);
  const state = await readTrafficState(ctx);
  const fromTasks = rows.filter((r) => state.targets.some((t) => t.targetGroupId === tg.id && t.taskId && t.targetId === r.targetId && t.port === r.port));
  if (fromTasks.length > 0) {
    throw codeError(invalid(`Targets: ${fromTasks.map((r) => `${r.targetId}:${r.port}`).join(', ')} ${fromTasks.length === 1 ? 'is a task' : 'are tasks'} of a service; its targets follow its tasks (stop the task or update the service)`), 'invalid-target');
  }
  const n = await drainTargets(ctx.db.sql, tg.id, rows, new Date(ctx.clock.now().getTime() + delay * 1000));
  if (n < rows.length) {
    const registered = new Set(state.targets.filter((t) => t.targetGroupId === tg.id).map((t) => `${t.targetId}:${t.port}`));
    const missing = rows.filter((r) => !registered.has(`${r.targetId}:${r.port}`));
    if (missing.length > 0) throw codeError(invalid(`Targets: not registered in ${tg.name}: ${missing.map((r) => `${r.targetId}:${r.port}`).join(', ')}`), 'invalid-target');
  }
  changed(ctx);
}

export async function describeTargetHealthOp(ctx: AppContext, arn: string, targets?: TargetInput[]) {
  const tg = await targetGroupOf(ctx, arn);
  const state = await readTrafficState(ctx);
  const mine = state.targets.filter((t) => t.targetGroupId === tg.id);
  const port = (t: { port: number }) => (tg.healthCheck.HealthCheckPort === 'traffic-port' ? String(t.port) : tg.healthCheck.HealthCheckPort);
  if (targets?.length) {
    return targets.map((want) => {
      const p = want.Port ?? tg.port ?? 0;
      const t = mine.find((x) => x.targetId === want.Id && x.port === p);
      if (!t) return { Target: { Id: want.Id, Port: p }, HealthCheckPort: String(p), TargetHealth: { State: 'unavailable', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' } };
      const h = targetHealthOf(state, t);
      return { Target: { Id: t.targetId, Port: t.port }, HealthCheckPort: port(t), TargetHealth: { State: h.state, ...(h.reason ? { Reason: h.reason } : {}), ...(h.description ? { Description: h.description } : {}) } };
    });
  }
  return mine.map((t) => {
    const h = targetHealthOf(state, t);
    return { Target: { Id: t.targetId, Port: t.port }, HealthCheckPort: port(t), TargetHealth: { State: h.state, ...(h.reason ? { Reason: h.reason } : {}), ...(h.description ? { Description: h.description } : {}) } };
  });
}

// ---- listeners

async function actionContext(ctx: AppContext, protocol: string) {
  const groups = await listTargetGroups(ctx.db.sql);
  const views = groups.map((g) => ({ g, arn: tgArn(ctx, g) }));
  return {
    targetGroup: (arn: string) => {
      const p = parseElbArn(arn);
      const hit = views.find((v) => v.arn === arn) ?? (p?.kind === 'targetgroup' ? views.find((v) => v.g.id === p.id || v.g.name === p.name) : undefined);
      return hit ? { id: hit.g.id, protocol: hit.g.protocol } : undefined;
    },
    listenerProtocol: protocol,
  };
}

/** A port already served on one of these nodes by another load balancer's listener. */
async function portClash(ctx: AppContext, lb: LoadBalancerRecord, port: number, exceptListener?: string): Promise<string | undefined> {
  const state = await readTrafficState(ctx);
  const mine = new Set(nodesOf(state, state.loadBalancers.find((l) => l.id === lb.id)!).map((n) => n.id));
  for (const l of state.listeners) {
    if (l.port !== port || l.id === exceptListener || l.loadBalancerId === lb.id) continue;
    const other = state.loadBalancers.find((x) => x.id === l.loadBalancerId)!;
    const shared = nodesOf(state, other).filter((n) => mine.has(n.id));
    if (shared.length > 0) return `port ${port} is already a listener of load balancer ${other.name} on node ${shared[0]!.id}${shared.length > 1 ? ` and ${shared.length - 1} more` : ''}`;
  }
  return undefined;
}

export interface CreateListenerInput {
  LoadBalancerArn: string;
  Protocol?: string;
  Port?: number;
  DefaultActions: ElbAction[];
  Certificates?: { CertificateArn?: string; IsDefault?: boolean }[];
  SslPolicy?: string;
  Tags?: Tag[];
}

export async function createListenerOp(ctx: AppContext, input: CreateListenerInput) {
  const lb = await loadBalancerByArn(ctx, input.LoadBalancerArn);
  const protocol = input.Protocol ?? (lb.type === 'application' ? 'HTTP' : 'TCP');
  const port = input.Port ?? (protocol === 'HTTPS' || protocol === 'TLS' ? 443 : 80);
  const errors = [...checkListener(lb.type, protocol, input.Certificates?.length ?? 0), ...checkActions(input.DefaultActions, 'DefaultActions', await actionContext(ctx, protocol))];
  fieldsFailed('invalid listener', errors);
  const clash = await portClash(ctx, lb, port);
  if (clash) throw codeError(conflict(`Port: ${clash}`), 'duplicate-listener');
  const row = await insertListener(ctx.db.sql, { id: newElbId(ctx.random), loadBalancerId: lb.id, port, protocol, defaultActions: input.DefaultActions, certificates: input.Certificates ?? [], sslPolicy: input.SslPolicy ?? null });
  if (!row) throw codeError(conflict(`Port: load balancer ${lb.name} has a listener on port ${port}`), 'duplicate-listener');
  if (input.Tags?.length) await putResourceTags(ctx.db.sql, tagKey.listener(row.id), input.Tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })));
  ctx.log.info({ loadBalancer: lb.name, port, protocol }, 'listener created');
  changed(ctx);
  return listenerView(ctx, lb, row);
}

export async function describeListenersOp(ctx: AppContext, input: { LoadBalancerArn?: string; ListenerArns?: string[] }) {
  if (input.ListenerArns?.length) {
    return Promise.all(input.ListenerArns.map(async (a) => {
      const { listener, lb } = await listenerByArn(ctx, a);
      return listenerView(ctx, lb, listener);
    }));
  }
  if (!input.LoadBalancerArn) throw invalid('LoadBalancerArn or ListenerArns: one is required');
  const lb = await loadBalancerByArn(ctx, input.LoadBalancerArn);
  return (await listListeners(ctx.db.sql, lb.id)).map((l) => listenerView(ctx, lb, l));
}

export async function modifyListenerOp(ctx: AppContext, input: { ListenerArn: string; Port?: number; Protocol?: string; DefaultActions?: ElbAction[]; Certificates?: unknown[] }) {
  const { listener, lb } = await listenerByArn(ctx, input.ListenerArn);
  const protocol = input.Protocol ?? listener.protocol;
  const port = input.Port ?? listener.port;
  const actions = input.DefaultActions ?? listener.defaultActions;
  const errors = [...(input.Protocol ? checkListener(lb.type, protocol, input.Certificates?.length ?? listener.certificates.length) : []), ...checkActions(actions, 'DefaultActions', await actionContext(ctx, protocol))];
  fieldsFailed('invalid listener', errors);
  if (port !== listener.port) {
    const clash = (await portClash(ctx, lb, port, listener.id)) ?? ((await listListeners(ctx.db.sql, lb.id)).some((l) => l.port === port && l.id !== listener.id) ? `load balancer ${lb.name} has a listener on port ${port}` : undefined);
    if (clash) throw codeError(conflict(`Port: ${clash}`), 'duplicate-listener');
  }
  const row = await updateListener(ctx.db.sql, listener.id, { port, protocol, defaultActions: actions });
  changed(ctx);
  return listenerView(ctx, lb, row!);
}

export async function deleteListenerOp(ctx: AppContext, arn: string): Promise<void> {
  const { listener } = await listenerByArn(ctx, arn);
  await deleteAllResourceTags(ctx.db.sql, [tagKey.listener(listener.id)]);
  await deleteListenerRow(ctx.db.sql, listener.id);
  changed(ctx);
}

// ---- rules

export async function createRuleOp(ctx: AppContext, input: { ListenerArn: string; Conditions: ElbCondition[]; Priority: number; Actions: ElbAction[]; Tags?: Tag[] }) {
  const { listener, lb } = await listenerByArn(ctx, input.ListenerArn);
  const errors = [...checkConditions(input.Conditions, 'Conditions', listener.protocol), ...checkActions(input.Actions, 'Actions', await actionContext(ctx, listener.protocol))];
  if (!Number.isInteger(input.Priority) || input.Priority < 1 || input.Priority > 50000) errors.push({ path: 'Priority', rule: 'must be 1-50000', value: input.Priority });
  fieldsFailed('invalid rule', errors);
  const existing = await listRules(ctx.db.sql, listener.id);
  if (existing.length >= MAX_RULES_PER_LISTENER) throw codeError(invalid(`listener has ${existing.length} rules, the most a listener takes (ELB's limit is 100)`), 'invalid-configuration');
  const row = await insertRule(ctx.db.sql, { id: newElbId(ctx.random), listenerId: listener.id, priority: input.Priority, conditions: input.Conditions, actions: input.Actions });
  if (!row) throw codeError(conflict(`Priority: ${input.Priority} is already the priority of another rule of this listener`), 'priority-in-use');
  if (input.Tags?.length) await putResourceTags(ctx.db.sql, tagKey.rule(row.id), input.Tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })));
  changed(ctx);
  return ruleView(ctx, lb, listener, row);
}

export async function describeRulesOp(ctx: AppContext, input: { ListenerArn?: string; RuleArns?: string[] }) {
  if (input.RuleArns?.length) {
    return Promise.all(input.RuleArns.map(async (a) => {
      const { rule, listener, lb } = await ruleByArn(ctx, a);
      return ruleView(ctx, lb, listener, rule);
    }));
  }
  if (!input.ListenerArn) throw invalid('ListenerArn or RuleArns: one is required');
  const { listener, lb } = await listenerByArn(ctx, input.ListenerArn);
  const rules = await listRules(ctx.db.sql, listener.id);
  return [...rules.map((r) => ruleView(ctx, lb, listener, r)), ruleView(ctx, lb, listener, undefined)];
}

export async function modifyRuleOp(ctx: AppContext, input: { RuleArn: string; Conditions?: ElbCondition[]; Actions?: ElbAction[] }) {
  const { rule, listener, lb } = await ruleByArn(ctx, input.RuleArn);
  const errors: FieldError[] = [];
  if (!rule && input.Conditions?.length) errors.push({ path: 'Conditions', rule: 'the default rule has no conditions' });
  if (input.Conditions) errors.push(...checkConditions(input.Conditions, 'Conditions', listener.protocol));
  if (input.Actions) errors.push(...checkActions(input.Actions, 'Actions', await actionContext(ctx, listener.protocol)));
  fieldsFailed('invalid rule', errors);
  if (!rule) {
    const l = await updateListener(ctx.db.sql, listener.id, { port: listener.port, protocol: listener.protocol, defaultActions: input.Actions ?? listener.defaultActions });
    changed(ctx);
    return ruleView(ctx, lb, l!, undefined);
  }
  const next = await updateRule(ctx.db.sql, rule.id, { ...(input.Conditions ? { conditions: input.Conditions } : {}), ...(input.Actions ? { actions: input.Actions } : {}) });
  changed(ctx);
  return ruleView(ctx, lb, listener, next);
}

export async function deleteRuleOp(ctx: AppContext, arn: string): Promise<void> {
  const { rule } = await ruleByArn(ctx, arn);
  if (!rule) throw codeError(invalid('the default rule of a listener cannot be deleted (delete the listener, or change its default actions)'), 'operation-not-permitted');
  await deleteAllResourceTags(ctx.db.sql, [tagKey.rule(rule.id)]);
  await deleteRuleRow(ctx.db.sql, rule.id);
  changed(ctx);
}

export async function setRulePrioritiesOp(ctx: AppContext, priorities: { RuleArn?: string; Priority?: number }[]) {
  const resolved = await Promise.all(priorities.map(async (p, i) => {
    const r = await ruleByArn(ctx, p.RuleArn ?? '');
    if (!r.rule) throw codeError(invalid(`RulePriorities.member.${i + 1}: the default rule's priority cannot be set`), 'operation-not-permitted');
    if (!Number.isInteger(p.Priority) || p.Priority! < 1 || p.Priority! > 50000) throw invalid(`RulePriorities.member.${i + 1}.Priority: must be 1-50000, got ${p.Priority}`);
    return { ...r, rule: r.rule, priority: p.Priority! };
  }));
  const out = await ctx.db.sql.begin(async (tx) => {
    // Moved out of the way first, so swapping two priorities works; the unique index checks the end state.
    for (const r of resolved) await tx`UPDATE lb_rules SET priority = ${-1 - resolved.indexOf(r)} WHERE id = ${r.rule.id}`;
    for (const r of resolved) {
      const taken = await tx`SELECT id FROM lb_rules WHERE listener_id = ${r.listener.id} AND priority = ${r.priority} AND id <> ${r.rule.id}`;
      if (taken.length > 0) throw codeError(conflict(`Priority: ${r.priority} is already the priority of another rule of this listener`), 'priority-in-use');
      await tx`UPDATE lb_rules SET priority = ${r.priority} WHERE id = ${r.rule.id}`;
    }
    return resolved.map((r) => ruleView(ctx, r.lb, r.listener, { ...r.rule, priority: r.priority }));
  });
  changed(ctx);
  return out;
}

// ---- tags (AddTags, RemoveTags, DescribeTags)

async function tagResource(ctx: AppContext, arn: string): Promise<string> {
  const p = parseElbArn(arn);
  if (p?.kind === 'loadbalancer') return tagKey.loadBalancer(await loadBalancerByArn(ctx, arn));
  if (p?.kind === 'targetgroup') return tagKey.targetGroup(await targetGroupOf(ctx, arn));
  if (p?.kind === 'listener') return tagKey.listener((await listenerByArn(ctx, arn)).listener.id);
  if (p?.kind === 'listener-rule') return tagKey.rule(p.id);
  throw codeError(notFound(`ResourceArns: not an ELB resource ARN: ${arn}`), 'load-balancer-not-found');
}

export async function addTagsOp(ctx: AppContext, resourceArns: string[], tags: Tag[]): Promise<void> {
  for (const a of resourceArns) await putResourceTags(ctx.db.sql, await tagResource(ctx, a), tags.map((t) => ({ key: t.Key, value: t.Value ?? '' })));
}

export async function removeTagsOp(ctx: AppContext, resourceArns: string[], keys: string[]): Promise<void> {
  for (const a of resourceArns) await deleteResourceTags(ctx.db.sql, await tagResource(ctx, a), keys);
}

export async function describeTagsOp(ctx: AppContext, resourceArns: string[]) {
  const keys = await Promise.all(resourceArns.map((a) => tagResource(ctx, a)));
  const tags = await resourcesTags(ctx.db.sql, keys);
  return resourceArns.map((a, i) => ({ ResourceArn: a, Tags: (tags.get(keys[i]!) ?? []).map((t) => ({ Key: t.key, Value: t.value })) }));
}

// ---- ECS services' loadBalancers

/**
 * ECS's checks of a service's loadBalancers at create and update: each target group exists (an ARN
 * written for AWS resolves by its name part), the container is in the task definition and exposes the
 * port, the group is instance or ip, and no other service uses the group. Answers the list with
 * Berth's own ARNs.
 */
export async function resolveServiceLoadBalancers(
  ctx: AppContext,
  lbs: readonly ServiceLoadBalancer[],
  def: TaskDefinitionSpec,
  service: { cluster: string; name: string },
): Promise<ServiceLoadBalancer[]> {
  if (lbs.length === 0) return [];
  const errors: FieldError[] = [];
  const others = (await servicesWithLoadBalancers(ctx.db.sql)).filter((s) => !(s.cluster === service.cluster && s.name === service.name));
  const groups = await listTargetGroups(ctx.db.sql);
  const views = groups.map((g) => ({ ...g, arn: tgArn(ctx, g) }));
  const out: ServiceLoadBalancer[] = [];
  for (const [i, lb] of lbs.entries()) {
    const at = `loadBalancers[${i}]`;
    const g = targetGroupByArn(views as never, lb.targetGroupArn) as (typeof views)[number] | undefined;
    if (!g) {
      const name = parseElbArn(lb.targetGroupArn)?.name;
      errors.push({ path: `${at}.targetGroupArn`, rule: `no such target group${name ? `; create it first: aws elbv2 create-target-group --name ${name} --protocol HTTP --port ${lb.containerPort} --vpc-id vpc-berth (or berth lb target-group create ${name} --port ${lb.containerPort})` : ''}`, value: lb.targetGroupArn });
      continue;
    }
    const c = def.containerDefinitions.find((d) => d.name === lb.containerName);
    if (!c) errors.push({ path: `${at}.containerName`, rule: `the task definition has no container named ${lb.containerName}`, value: lb.containerName });
    else if (!(c.portMappings ?? []).some((m) => m.containerPort === lb.containerPort && (m.protocol ?? 'tcp') === 'tcp')) {
      errors.push({ path: `${at}.containerPort`, rule: `container ${c.name} does not expose ${lb.containerPort}/tcp in its portMappings`, value: lb.containerPort });
    }
    const user = others.find((s) => s.loadBalancers.some((x) => targetGroupByArn(views as never, x.targetGroupArn)?.id === g.id));
    if (user) errors.push({ path: `${at}.targetGroupArn`, rule: `target group ${g.name} is used by service ${user.name} (cluster ${user.cluster}); a target group serves one service`, value: lb.targetGroupArn });
    out.push({ targetGroupArn: g.arn, containerName: lb.containerName, containerPort: lb.containerPort });
  }
  if (errors.length > 0) throw validationFailed('invalid loadBalancers', errors);
  return out;
}
