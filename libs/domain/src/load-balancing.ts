import type { ArnContext } from './arn.js';
import type { FieldError } from './errors.js';
import type { Random } from './random.js';

/**
 * ELBv2 as Berth keeps it: load balancers, listeners, rules and target groups with ELB's field names
 * (actions and conditions are stored in ELB's own shapes, so describe gives back what was written),
 * ELB's ARNs, and the checks ELB makes beyond the model's types and ranges. Pure.
 */

export type LoadBalancerType = 'application' | 'network';
export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'TCP_UDP';

/** Which nodes serve a load balancer: the nodes named, and the nodes whose attributes or labels match all of `attributes`. */
export interface LbPlacement {
  nodes: string[];
  attributes: Record<string, string>;
}

/** The attribute a node carries to serve load balancers created without subnets. */
export const INGRESS_ATTRIBUTE = 'berth.ingress';

export interface TargetGroupTuple {
  TargetGroupArn: string;
  Weight?: number;
}

/** ELB's Action shape (the members Berth acts on). */
export interface ElbAction {
  Type: 'forward' | 'redirect' | 'fixed-response' | string;
  TargetGroupArn?: string;
  Order?: number;
  ForwardConfig?: { TargetGroups?: TargetGroupTuple[]; TargetGroupStickinessConfig?: { Enabled?: boolean; DurationSeconds?: number } };
  RedirectConfig?: { Protocol?: string; Port?: string; Host?: string; Path?: string; Query?: string; StatusCode: string };
  FixedResponseConfig?: { MessageBody?: string; StatusCode: string; ContentType?: string };
}

/** ELB's RuleCondition shape. */
export interface ElbCondition {
  Field?: string;
  Values?: string[];
  HostHeaderConfig?: { Values?: string[] };
  PathPatternConfig?: { Values?: string[] };
  HttpHeaderConfig?: { HttpHeaderName?: string; Values?: string[] };
  QueryStringConfig?: { Values?: { Key?: string; Value?: string }[] };
  HttpRequestMethodConfig?: { Values?: string[] };
  SourceIpConfig?: { Values?: string[] };
}

/** A target group's health check with ELB's member names, defaults filled in. */
export interface HealthCheckSettings {
  HealthCheckEnabled: boolean;
  HealthCheckProtocol: string;
  /** `traffic-port` or a port number as a string. */
  HealthCheckPort: string;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds: number;
  HealthCheckTimeoutSeconds: number;
  HealthyThresholdCount: number;
  UnhealthyThresholdCount: number;
  Matcher?: { HttpCode?: string };
}

/** Target group attributes Berth acts on, with ELB's keys and defaults. */
export const TARGET_GROUP_ATTRIBUTE_DEFAULTS: Record<string, string> = {
  'deregistration_delay.timeout_seconds': '300',
  'slow_start.duration_seconds': '0',
  'load_balancing.algorithm.type': 'round_robin',
  'stickiness.enabled': 'false',
  'stickiness.type': 'lb_cookie',
  'stickiness.lb_cookie.duration_seconds': '86400',
  'proxy_protocol_v2.enabled': 'false',
};

export const LOAD_BALANCER_ATTRIBUTE_DEFAULTS: Record<string, string> = {
  'idle_timeout.timeout_seconds': '60',
  'deletion_protection.enabled': 'false',
  'routing.http2.enabled': 'true',
};

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTPS']);
export const isHttpProtocol = (p: string | undefined | null): boolean => !!p && HTTP_PROTOCOLS.has(p);

// ---- ARNs

const elbPrefix = (c: ArnContext) => `arn:aws:elasticloadbalancing:${c.region}:${c.account}`;
const short = (t: LoadBalancerType) => (t === 'network' ? 'net' : 'app');

export const elbArns = {
  loadBalancer: (c: ArnContext, type: LoadBalancerType, name: string, id: string) => `${elbPrefix(c)}:loadbalancer/${short(type)}/${name}/${id}`,
  targetGroup: (c: ArnContext, name: string, id: string) => `${elbPrefix(c)}:targetgroup/${name}/${id}`,
  listener: (c: ArnContext, type: LoadBalancerType, lbName: string, lbId: string, id: string) => `${elbPrefix(c)}:listener/${short(type)}/${lbName}/${lbId}/${id}`,
  rule: (c: ArnContext, type: LoadBalancerType, lbName: string, lbId: string, listenerId: string, id: string) =>
    `${elbPrefix(c)}:listener-rule/${short(type)}/${lbName}/${lbId}/${listenerId}/${id}`,
};

/** Ids in ELB ARNs: 16 lowercase hex characters. */
export function newElbId(random: Random): string {
  return Array.from(random.bytes(8), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface ParsedElbArn {
  kind: 'loadbalancer' | 'targetgroup' | 'listener' | 'listener-rule';
  /** The load balancer's or target group's name. */
  name: string;
  /** The last id (the resource's own). */
  id: string;
  region: string;
  account: string;
}

/** An ELB ARN taken apart (any region and account: an ARN written for AWS resolves by name). */
export function parseElbArn(ref: string): ParsedElbArn | undefined {
  const m = /^arn:aws[a-z-]*:elasticloadbalancing:([^:]*):([^:]*):(loadbalancer|targetgroup|listener|listener-rule)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const [, region, account, kind, rest] = m as unknown as [string, string, string, ParsedElbArn['kind'], string];
  const parts = rest.split('/');
  if (kind === 'targetgroup') return parts.length === 2 ? { kind, name: parts[0]!, id: parts[1]!, region, account } : undefined;
  const expected = kind === 'loadbalancer' ? 3 : kind === 'listener' ? 4 : 5;
  if (parts.length !== expected || !['app', 'net'].includes(parts[0]!)) return undefined;
  return { kind, name: parts[1]!, id: parts[parts.length - 1]!, region, account };
}

// ---- names and placement

const ELB_NAME = /^(?!-)(?!internal-)[A-Za-z0-9-]{1,32}(?<!-)$/;

export function checkElbName(path: string, name: string, what: 'load balancer' | 'target group'): FieldError | undefined {
  if (!ELB_NAME.test(name)) {
    return { path, rule: `a ${what} name must be 1-32 letters, digits or hyphens, and must not begin or end with a hyphen${what === 'load balancer' ? ' or begin with "internal-"' : ''}`, value: name };
  }
  return undefined;
}

/**
 * Where a load balancer runs, from CreateLoadBalancer's Subnets (or SubnetMappings' SubnetId): each is a
 * node id (`n-...`) or `key=value` (nodes whose attribute or label key has that value). A VPC subnet id
 * from a configuration written for AWS (`subnet-...`) means the default: the nodes with
 * `berth.ingress=true`; so does giving none.
 */
export function parsePlacement(subnets: readonly string[], path = 'Subnets'): { placement: LbPlacement; errors: FieldError[]; warnings: string[] } {
  const placement: LbPlacement = { nodes: [], attributes: {} };
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  let awsSubnets = 0;
  subnets.forEach((s, i) => {
    if (/^n-[0-9a-f]{16}$/.test(s)) placement.nodes.push(s);
    else if (/^subnet-/.test(s)) awsSubnets++;
    else if (/^[A-Za-z0-9_.:/-]{1,128}=[^\s]{0,256}$/.test(s)) {
      const eq = s.indexOf('=');
      placement.attributes[s.slice(0, eq)] = s.slice(eq + 1);
    } else errors.push({ path: `${path}.member.${i + 1}`, rule: 'must be a node id (n-...), key=value (nodes with that attribute or label), or a subnet-... id (the default ingress nodes)', value: s });
  });
  if (awsSubnets > 0) warnings.push(`${path}: VPC subnets do not apply; the load balancer runs on the nodes with ${INGRESS_ATTRIBUTE}=true`);
  if (placement.nodes.length === 0 && Object.keys(placement.attributes).length === 0) placement.attributes[INGRESS_ATTRIBUTE] = 'true';
  return { placement, errors, warnings };
}

/** Whether a node serves a load balancer with this placement. */
export function servesLoadBalancer(p: LbPlacement, node: { id: string; attributes: Record<string, string>; labels: Record<string, string> }): boolean {
  if (p.nodes.includes(node.id)) return true;
  const keys = Object.keys(p.attributes);
  if (keys.length === 0) return false;
  return keys.every((k) => (Object.hasOwn(node.attributes, k) ? node.attributes[k] : node.labels[k]) === p.attributes[k]);
}

/** How a load balancer's placement reads in its answers (ELB's AvailabilityZones: one per selector). */
export function placementZones(p: LbPlacement): string[] {
  return [...p.nodes, ...Object.entries(p.attributes).map(([k, v]) => `${k}=${v}`)];
}

// ---- target groups

export interface TargetGroupInput {
  Name: string;
  Protocol?: string;
  Port?: number;
  TargetType?: string;
  HealthCheckProtocol?: string;
  HealthCheckPort?: string;
  HealthCheckEnabled?: boolean;
  HealthCheckPath?: string;
  HealthCheckIntervalSeconds?: number;
  HealthCheckTimeoutSeconds?: number;
  HealthyThresholdCount?: number;
  UnhealthyThresholdCount?: number;
  Matcher?: { HttpCode?: string; GrpcCode?: string };
}

/** ELB's defaults for a target group's health check, by protocol. */
export function healthCheckDefaults(protocol: string | undefined): HealthCheckSettings {
  const http = isHttpProtocol(protocol);
  return {
    HealthCheckEnabled: true,
    HealthCheckProtocol: http ? protocol! : 'TCP',
    HealthCheckPort: 'traffic-port',
    ...(http ? { HealthCheckPath: '/', Matcher: { HttpCode: '200' } } : {}),
    HealthCheckIntervalSeconds: 30,
    HealthCheckTimeoutSeconds: http ? 5 : 10,
    HealthyThresholdCount: 5,
    UnhealthyThresholdCount: 2,
  };
}

const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;

/** ELB's rules beyond the model's: the health check's consistency, matcher codes, protocol and port together. */
export function checkTargetGroup(input: TargetGroupInput, base?: HealthCheckSettings): { healthCheck: HealthCheckSettings; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const nameError = checkElbName('Name', input.Name, 'target group');
  if (nameError) errors.push(nameError);
  const type = input.TargetType ?? 'instance';
  if (!['instance', 'ip'].includes(type)) errors.push({ path: 'TargetType', rule: 'must be instance or ip (lambda and alb targets do not apply on Berth)', value: type });
  if ((input.Protocol === undefined) !== (input.Port === undefined)) errors.push({ path: input.Protocol === undefined ? 'Protocol' : 'Port', rule: 'Protocol and Port are given together for an instance or ip target group' });
  if (input.Protocol && ['GENEVE'].includes(input.Protocol)) errors.push({ path: 'Protocol', rule: 'GENEVE (gateway load balancers) does not apply on Berth', value: input.Protocol });
  const hc: HealthCheckSettings = { ...(base ?? healthCheckDefaults(input.Protocol)) };
  const set = <K extends keyof HealthCheckSettings>(k: K, v: HealthCheckSettings[K] | undefined) => {
    if (v !== undefined) hc[k] = v;
  };
  set('HealthCheckEnabled', input.HealthCheckEnabled);
  if (input.HealthCheckProtocol !== undefined) {
    hc.HealthCheckProtocol = input.HealthCheckProtocol;
    if (isHttpProtocol(input.HealthCheckProtocol)) {
      hc.HealthCheckPath ??= '/';
      hc.Matcher ??= { HttpCode: '200' };
    }
  }
  set('HealthCheckPort', input.HealthCheckPort);
  set('HealthCheckPath', input.HealthCheckPath);
  set('HealthCheckIntervalSeconds', input.HealthCheckIntervalSeconds);
  set('HealthCheckTimeoutSeconds', input.HealthCheckTimeoutSeconds);
  // A short interval given without a timeout: the default timeout shrinks to fit (ELB refuses; a user meant it).
  if (input.HealthCheckTimeoutSeconds === undefined && hc.HealthCheckTimeoutSeconds >= hc.HealthCheckIntervalSeconds) hc.HealthCheckTimeoutSeconds = Math.max(2, hc.HealthCheckIntervalSeconds - 1);
  set('HealthyThresholdCount', input.HealthyThresholdCount);
  set('UnhealthyThresholdCount', input.UnhealthyThresholdCount);
  if (input.Matcher?.GrpcCode !== undefined) errors.push({ path: 'Matcher.GrpcCode', rule: 'gRPC health checks are not available yet; use an HTTP path', value: input.Matcher.GrpcCode });
  if (input.Matcher?.HttpCode !== undefined) {
    if (!MATCHER.test(input.Matcher.HttpCode)) errors.push({ path: 'Matcher.HttpCode', rule: 'must be HTTP codes such as 200, 200,302 or 200-299', value: input.Matcher.HttpCode });
    else if (input.Matcher.HttpCode.split(/[,-]/).some((c) => Number(c) < 200 || Number(c) > 499)) errors.push({ path: 'Matcher.HttpCode', rule: 'codes must be 200-499', value: input.Matcher.HttpCode });
    hc.Matcher = { HttpCode: input.Matcher.HttpCode };
  }
  if (hc.HealthCheckPort !== 'traffic-port' && !(/^\d+$/.test(hc.HealthCheckPort) && Number(hc.HealthCheckPort) >= 1 && Number(hc.HealthCheckPort) <= 65535)) {
    errors.push({ path: 'HealthCheckPort', rule: 'must be traffic-port or 1-65535', value: hc.HealthCheckPort });
  }
  if (hc.HealthCheckPath !== undefined && !hc.HealthCheckPath.startsWith('/')) errors.push({ path: 'HealthCheckPath', rule: 'must begin with /', value: hc.HealthCheckPath });
  if (hc.HealthCheckPath !== undefined && !isHttpProtocol(hc.HealthCheckProtocol)) errors.push({ path: 'HealthCheckPath', rule: `applies to HTTP and HTTPS health checks only, not ${hc.HealthCheckProtocol}` });
  if (hc.HealthCheckTimeoutSeconds >= hc.HealthCheckIntervalSeconds) {
    errors.push({ path: 'HealthCheckTimeoutSeconds', rule: `must be smaller than HealthCheckIntervalSeconds (${hc.HealthCheckIntervalSeconds})`, value: hc.HealthCheckTimeoutSeconds });
  }
  return { healthCheck: hc, errors };
}

/** Checks target group attributes (keys Berth knows, values in ELB's ranges); returns the merged set. */
export function checkTargetGroupAttributes(current: Record<string, string>, changes: readonly { Key?: string; Value?: string }[]): { attributes: Record<string, string>; errors: FieldError[] } {
  const attributes = { ...current };
  const errors: FieldError[] = [];
  const int = (v: string, lo: number, hi: number) => /^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi;
  const bool = (v: string) => v === 'true' || v === 'false';
  const rules: Record<string, [(v: string) => boolean, string]> = {
    'deregistration_delay.timeout_seconds': [(v) => int(v, 0, 3600), 'must be 0-3600 seconds'],
    'slow_start.duration_seconds': [(v) => v === '0' || int(v, 30, 900), 'must be 0 or 30-900 seconds'],
    'load_balancing.algorithm.type': [(v) => ['round_robin', 'least_outstanding_requests'].includes(v), 'must be round_robin or least_outstanding_requests'],
    'stickiness.enabled': [bool, 'must be true or false'],
    'stickiness.type': [(v) => ['lb_cookie', 'source_ip'].includes(v), 'must be lb_cookie or source_ip'],
    'stickiness.lb_cookie.duration_seconds': [(v) => int(v, 1, 604800), 'must be 1-604800 seconds'],
    'proxy_protocol_v2.enabled': [bool, 'must be true or false'],
    'deregistration_delay.connection_termination.enabled': [bool, 'must be true or false'],
  };
  changes.forEach((a, i) => {
    const path = `Attributes.member.${i + 1}`;
    if (!a.Key || !Object.hasOwn(rules, a.Key)) return void errors.push({ path: `${path}.Key`, rule: `must be one of ${Object.keys(rules).join(', ')}`, value: a.Key });
    const [ok, rule] = rules[a.Key]!;
    if (a.Value === undefined || !ok(a.Value)) return void errors.push({ path: `${path}.Value`, rule: `${a.Key} ${rule}`, value: a.Value });
    attributes[a.Key] = a.Value;
  });
  return { attributes, errors };
}

// ---- actions and conditions

export interface ActionContext {
  /** Resolves a target group ARN (or undefined: not found). */
  targetGroup(arn: string): { id: string; protocol: string | null } | undefined;
  listenerProtocol: string;
}

/** ELB's action rules: one terminal action, forward weights, target groups that exist and fit the protocol. */
export function checkActions(actions: readonly ElbAction[], path: string, ctx: ActionContext): FieldError[] {
  const errors: FieldError[] = [];
  if (actions.length === 0) errors.push({ path, rule: 'at least one action is required' });
  const terminal = actions.filter((a) => ['forward', 'redirect', 'fixed-response'].includes(a.Type));
  if (terminal.length !== 1 && actions.length > 0) errors.push({ path, rule: 'exactly one forward, redirect or fixed-response action is required', value: actions.map((a) => a.Type).join(',') });
  const http = isHttpProtocol(ctx.listenerProtocol);
  actions.forEach((a, i) => {
    const p = `${path}.member.${i + 1}`;
    if (['authenticate-oidc', 'authenticate-cognito', 'jwt-validation'].includes(a.Type)) errors.push({ path: `${p}.Type`, rule: `${a.Type} is not available on Berth`, value: a.Type });
    if (a.Type === 'forward') {
      const tuples = a.ForwardConfig?.TargetGroups ?? [];
      if (a.TargetGroupArn && tuples.length > 0 && !(tuples.length === 1 && tuples[0]!.TargetGroupArn === a.TargetGroupArn)) {
        errors.push({ path: `${p}.TargetGroupArn`, rule: 'give TargetGroupArn or ForwardConfig.TargetGroups, not both with different groups' });
      }
      if (!a.TargetGroupArn && tuples.length === 0) errors.push({ path: `${p}.TargetGroupArn`, rule: 'a forward action needs TargetGroupArn or ForwardConfig.TargetGroups' });
      if (tuples.length > 5) errors.push({ path: `${p}.ForwardConfig.TargetGroups`, rule: 'at most 5 target groups', value: tuples.length });
      if (!http && tuples.length > 1) errors.push({ path: `${p}.ForwardConfig.TargetGroups`, rule: `weighted target groups need an HTTP or HTTPS listener, not ${ctx.listenerProtocol}` });
      const arns = a.TargetGroupArn && tuples.length === 0 ? [{ TargetGroupArn: a.TargetGroupArn, Weight: 1 }] : tuples;
      if (arns.length > 1 && arns.every((t) => (t.Weight ?? 1) === 0)) errors.push({ path: `${p}.ForwardConfig.TargetGroups`, rule: 'at least one target group needs a weight above 0' });
      const seen = new Set<string>();
      arns.forEach((t, j) => {
        const tp = tuples.length === 0 ? `${p}.TargetGroupArn` : `${p}.ForwardConfig.TargetGroups.member.${j + 1}.TargetGroupArn`;
        if (seen.has(t.TargetGroupArn)) errors.push({ path: tp, rule: 'a target group appears twice in one forward action', value: t.TargetGroupArn });
        seen.add(t.TargetGroupArn);
        const tg = ctx.targetGroup(t.TargetGroupArn);
        if (!tg) errors.push({ path: tp, rule: 'no such target group (create it with CreateTargetGroup or `berth lb target-group create`)', value: t.TargetGroupArn });
        else if (tg.protocol && isHttpProtocol(tg.protocol) !== http) errors.push({ path: tp, rule: `a ${tg.protocol} target group cannot take traffic from a ${ctx.listenerProtocol} listener`, value: t.TargetGroupArn });
      });
    }
    if ((a.Type === 'redirect' || a.Type === 'fixed-response') && !http) errors.push({ path: `${p}.Type`, rule: `${a.Type} needs an HTTP or HTTPS listener, not ${ctx.listenerProtocol}`, value: a.Type });
    if (a.Type === 'redirect' && !a.RedirectConfig) errors.push({ path: `${p}.RedirectConfig`, rule: 'is required for a redirect action' });
    if (a.Type === 'redirect' && a.RedirectConfig && !['HTTP_301', 'HTTP_302'].includes(a.RedirectConfig.StatusCode)) errors.push({ path: `${p}.RedirectConfig.StatusCode`, rule: 'must be HTTP_301 or HTTP_302', value: a.RedirectConfig.StatusCode });
    if (a.Type === 'fixed-response' && !a.FixedResponseConfig) errors.push({ path: `${p}.FixedResponseConfig`, rule: 'is required for a fixed-response action' });
    if (a.Type === 'fixed-response' && a.FixedResponseConfig && !/^(2|4|5)\d\d$/.test(a.FixedResponseConfig.StatusCode)) errors.push({ path: `${p}.FixedResponseConfig.StatusCode`, rule: 'must be 2XX, 4XX or 5XX', value: a.FixedResponseConfig.StatusCode });
  });
  return errors;
}

/** The target groups an action list forwards to, with weights (a plain TargetGroupArn weighs 1). */
export function forwardTargets(actions: readonly ElbAction[]): TargetGroupTuple[] {
  const f = actions.find((a) => a.Type === 'forward');
  if (!f) return [];
  const tuples = f.ForwardConfig?.TargetGroups ?? [];
  if (tuples.length > 0) return tuples.map((t) => ({ TargetGroupArn: t.TargetGroupArn, Weight: t.Weight ?? 1 }));
  return f.TargetGroupArn ? [{ TargetGroupArn: f.TargetGroupArn, Weight: 1 }] : [];
}

const CONDITION_FIELDS = ['host-header', 'path-pattern', 'http-header', 'http-request-method', 'query-string', 'source-ip'];

/** The values of a condition, from its Config or its plain Values. */
export function conditionValues(c: ElbCondition): string[] {
  switch (c.Field) {
    case 'host-header':
      return c.HostHeaderConfig?.Values ?? c.Values ?? [];
    case 'path-pattern':
      return c.PathPatternConfig?.Values ?? c.Values ?? [];
    case 'http-header':
      return c.HttpHeaderConfig?.Values ?? [];
    case 'http-request-method':
      return c.HttpRequestMethodConfig?.Values ?? [];
    case 'source-ip':
      return c.SourceIpConfig?.Values ?? [];
    case 'query-string':
      return (c.QueryStringConfig?.Values ?? []).map((kv) => `${kv.Key ?? ''}=${kv.Value ?? ''}`);
    default:
      return [];
  }
}

/** ELB's condition rules and limits: known fields, each at most once (http-header once per header), at most 5 values per rule. */
export function checkConditions(conditions: readonly ElbCondition[], path: string, listenerProtocol: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!isHttpProtocol(listenerProtocol) && conditions.length > 0) errors.push({ path, rule: `rules with conditions need an HTTP or HTTPS listener, not ${listenerProtocol}` });
  if (conditions.length === 0) errors.push({ path, rule: 'a rule needs at least one condition' });
  const fields = new Set<string>();
  let values = 0;
  conditions.forEach((c, i) => {
    const p = `${path}.member.${i + 1}`;
    if (!c.Field || !CONDITION_FIELDS.includes(c.Field)) return void errors.push({ path: `${p}.Field`, rule: `must be one of ${CONDITION_FIELDS.join(', ')}`, value: c.Field });
    const k = c.Field === 'http-header' ? `http-header:${c.HttpHeaderConfig?.HttpHeaderName?.toLowerCase()}` : c.Field;
    if (fields.has(k)) errors.push({ path: `${p}.Field`, rule: 'each condition field may appear once per rule', value: c.Field });
    fields.add(k);
    const v = conditionValues(c);
    if (v.length === 0) errors.push({ path: p, rule: `a ${c.Field} condition needs at least one value` });
    values += v.length;
    if (c.Field === 'http-header' && !c.HttpHeaderConfig?.HttpHeaderName) errors.push({ path: `${p}.HttpHeaderConfig.HttpHeaderName`, rule: 'is required' });
    if (c.Field === 'source-ip') for (const ip of v) if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(ip)) errors.push({ path: `${p}.SourceIpConfig.Values`, rule: 'must be CIDR blocks such as 192.168.1.0/24', value: ip });
    if (c.Field === 'path-pattern') for (const s of v) if (s.length > 128) errors.push({ path: `${p}.PathPatternConfig.Values`, rule: 'at most 128 characters', value: s });
    if (c.Field === 'host-header') for (const s of v) if (s.length > 128 || !/^[A-Za-z0-9.*?-]+(:\d+)?$/.test(s)) errors.push({ path: `${p}.HostHeaderConfig.Values`, rule: 'must be a host name with * and ? wildcards, at most 128 characters', value: s });
    if (c.Field === 'http-request-method') for (const s of v) if (!/^[A-Z_-]{1,40}$/.test(s)) errors.push({ path: `${p}.HttpRequestMethodConfig.Values`, rule: 'must be upper-case method names such as GET', value: s });
  });
  if (values > 5) errors.push({ path, rule: `at most 5 condition values per rule (ELB's limit), got ${values}` });
  return errors;
}

/** ELB's listener rules beyond the model: a protocol the load balancer type serves, and what it needs. */
export function checkListener(type: LoadBalancerType, protocol: string, certificates: number): FieldError[] {
  const errors: FieldError[] = [];
  const allowed = type === 'application' ? ['HTTP', 'HTTPS'] : ['TCP', 'TLS', 'UDP', 'TCP_UDP'];
  if (!allowed.includes(protocol)) errors.push({ path: 'Protocol', rule: `an ${type} load balancer's listener must be ${allowed.join(' or ')}`, value: protocol });
  if ((protocol === 'HTTPS' || protocol === 'TLS') && certificates === 0) errors.push({ path: 'Certificates', rule: `an ${protocol} listener needs a certificate` });
  if (protocol === 'HTTPS' || protocol === 'TLS' || protocol === 'UDP' || protocol === 'TCP_UDP') {
    errors.push({ path: 'Protocol', rule: `${protocol} listeners are not available in this Berth version yet (HTTP and TCP are)`, value: protocol });
  }
  return errors;
}
