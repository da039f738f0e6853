import { ELBV2_MODEL, validateInput } from '@berth/aws-model';
import { invalid, validationFailed } from '@berth/domain';
import type { AppContext } from './context.js';
import {
  addTagsOp,
  createListenerOp,
  createLoadBalancerOp,
  createRuleOp,
  createTargetGroupOp,
  deleteListenerOp,
  deleteLoadBalancerOp,
  deleteRuleOp,
  deleteTargetGroupOp,
  deregisterTargetsOp,
  describeListenersOp,
  describeLoadBalancersOp,
  describeRulesOp,
  describeTagsOp,
  describeTargetGroupsOp,
  describeTargetHealthOp,
  loadBalancerAttributesOp,
  modifyListenerOp,
  modifyRuleOp,
  modifyTargetGroupOp,
  registerTargetsOp,
  removeTagsOp,
  setRulePrioritiesOp,
  targetGroupAttributesOp,
} from './load-balancers.js';

/**
 * The ELBv2 operations Berth speaks, by ELB's operation name: input and output in ELB's member names
 * (the model's shapes), over the load-balancer service. The ways in (the ELBv2 Query endpoint, the gRPC
 * LoadBalancing call the CLI uses) decode, hand the input here and encode the answer; nothing else.
 * `warnings` are what Berth does differently (the CLI prints them; the AWS endpoint logs them).
 */
export type Elbv2Input = Record<string, unknown>;
export type Elbv2Output = Record<string, unknown> & { warnings?: string[] };
export type Elbv2Operation = (ctx: AppContext, input: Elbv2Input) => Promise<Elbv2Output>;

/** The least role each operation needs (the rest: operator). */
export const ELBV2_READ_OPERATIONS = new Set([
  'DescribeLoadBalancers',
  'DescribeLoadBalancerAttributes',
  'DescribeTargetGroups',
  'DescribeTargetGroupAttributes',
  'DescribeTargetHealth',
  'DescribeListeners',
  'DescribeListenerAttributes',
  'DescribeRules',
  'DescribeTags',
  'DescribeAccountLimits',
  'DescribeSSLPolicies',
  'DescribeListenerCertificates',
]);

/** A page of a described list: ELB's Marker/NextMarker over a list held in memory (small lists). */
function page<T>(items: T[], input: Elbv2Input): { items: T[]; NextMarker?: string } {
  const size = (input.PageSize as number | undefined) ?? 400;
  const from = input.Marker ? Number(Buffer.from(String(input.Marker), 'base64url').toString()) : 0;
  if (!Number.isInteger(from) || from < 0) throw invalid('Marker: not a marker this list returned');
  const slice = items.slice(from, from + size);
  return from + size < items.length ? { items: slice, NextMarker: Buffer.from(String(from + size)).toString('base64url') } : { items: slice };
}

const arns = (v: unknown) => (v as string[] | undefined) ?? [];

export const ELBV2_OPERATIONS: Record<string, Elbv2Operation> = {
  async CreateLoadBalancer(ctx, input) {
    const r = await createLoadBalancerOp(ctx, input as never);
    return { LoadBalancers: [r.loadBalancer], warnings: r.warnings };
  },
  async DescribeLoadBalancers(ctx, input) {
    const p = page(await describeLoadBalancersOp(ctx, { LoadBalancerArns: arns(input.LoadBalancerArns), Names: arns(input.Names) }), input);
    return { LoadBalancers: p.items, NextMarker: p.NextMarker };
  },
  async DeleteLoadBalancer(ctx, input) {
    await deleteLoadBalancerOp(ctx, input.LoadBalancerArn as string);
    return {};
  },
  async DescribeLoadBalancerAttributes(ctx, input) {
    return { Attributes: await loadBalancerAttributesOp(ctx, input.LoadBalancerArn as string) };
  },
  async ModifyLoadBalancerAttributes(ctx, input) {
    return { Attributes: await loadBalancerAttributesOp(ctx, input.LoadBalancerArn as string, input.Attributes as never) };
  },
  async SetSecurityGroups(_ctx, input) {
    return { SecurityGroupIds: arns(input.SecurityGroups), warnings: ['SecurityGroups: security groups do not apply on Berth; kept nowhere'] };
  },

  async CreateTargetGroup(ctx, input) {
    return { TargetGroups: [await createTargetGroupOp(ctx, input as never)] };
  },
  async DescribeTargetGroups(ctx, input) {
    const p = page(await describeTargetGroupsOp(ctx, { LoadBalancerArn: input.LoadBalancerArn as string | undefined, TargetGroupArns: arns(input.TargetGroupArns), Names: arns(input.Names) }), input);
    return { TargetGroups: p.items, NextMarker: p.NextMarker };
  },
  async ModifyTargetGroup(ctx, input) {
    return { TargetGroups: [await modifyTargetGroupOp(ctx, input as never)] };
  },
  async DeleteTargetGroup(ctx, input) {
    await deleteTargetGroupOp(ctx, input.TargetGroupArn as string);
    return {};
  },
  async DescribeTargetGroupAttributes(ctx, input) {
    return { Attributes: await targetGroupAttributesOp(ctx, input.TargetGroupArn as string) };
  },
  async ModifyTargetGroupAttributes(ctx, input) {
    return { Attributes: await targetGroupAttributesOp(ctx, input.TargetGroupArn as string, input.Attributes as never) };
  },
  async RegisterTargets(ctx, input) {
    await registerTargetsOp(ctx, input.TargetGroupArn as string, input.Targets as never);
    return {};
  },
  async DeregisterTargets(ctx, input) {
    await deregisterTargetsOp(ctx, input.TargetGroupArn as string, input.Targets as never);
    return {};
  },
  async DescribeTargetHealth(ctx, input) {
    return { TargetHealthDescriptions: await describeTargetHealthOp(ctx, input.TargetGroupArn as string, input.Targets as never) };
  },

  async CreateListener(ctx, input) {
    return { Listeners: [await createListenerOp(ctx, input as never)] };
  },
  async DescribeListeners(ctx, input) {
    const p = page(await describeListenersOp(ctx, { LoadBalancerArn: input.LoadBalancerArn as string | undefined, ListenerArns: arns(input.ListenerArns) }), input);
    return { Listeners: p.items, NextMarker: p.NextMarker };
  },
  async ModifyListener(ctx, input) {
    return { Listeners: [await modifyListenerOp(ctx, input as never)] };
  },
  async DeleteListener(ctx, input) {
    await deleteListenerOp(ctx, input.ListenerArn as string);
    return {};
  },
  async DescribeListenerAttributes(ctx, input) {
    await describeListenersOp(ctx, { ListenerArns: [input.ListenerArn as string] });
    return { Attributes: [] };
  },

  async CreateRule(ctx, input) {
    return { Rules: [await createRuleOp(ctx, input as never)] };
  },
  async DescribeRules(ctx, input) {
    const p = page(await describeRulesOp(ctx, { ListenerArn: input.ListenerArn as string | undefined, RuleArns: arns(input.RuleArns) }), input);
    return { Rules: p.items, NextMarker: p.NextMarker };
  },
  async ModifyRule(ctx, input) {
    return { Rules: [await modifyRuleOp(ctx, input as never)] };
  },
  async DeleteRule(ctx, input) {
    await deleteRuleOp(ctx, input.RuleArn as string);
    return {};
  },
  async SetRulePriorities(ctx, input) {
    return { Rules: await setRulePrioritiesOp(ctx, input.RulePriorities as never) };
  },

  async AddTags(ctx, input) {
    await addTagsOp(ctx, arns(input.ResourceArns), input.Tags as never);
    return {};
  },
  async RemoveTags(ctx, input) {
    await removeTagsOp(ctx, arns(input.ResourceArns), arns(input.TagKeys));
    return {};
  },
  async DescribeTags(ctx, input) {
    return { TagDescriptions: await describeTagsOp(ctx, arns(input.ResourceArns)) };
  },

  async DescribeAccountLimits() {
    return {
      Limits: [
        { Name: 'application-load-balancers', Max: '50' },
        { Name: 'target-groups', Max: '3000' },
        { Name: 'listeners-per-application-load-balancer', Max: '50' },
        { Name: 'rules-per-application-load-balancer', Max: '100' },
        { Name: 'targets-per-target-group', Max: '1000' },
      ],
    };
  },
};

/** What Berth leaves out of an operation, for docs/elbv2-api.md. */
export const ELBV2_PARTIAL: Record<string, string> = {
  CreateLoadBalancer: 'Subnets / SubnetMappings name nodes (`n-...`) or `key=value` node attributes/labels; AWS subnet ids mean the nodes with `berth.ingress=true`. Security groups and IPv6 do not apply.',
  CreateListener: 'HTTP and TCP listeners; HTTPS, TLS, UDP and TCP_UDP are refused with a clear error in this version.',
  CreateTargetGroup: 'instance (a node id) and ip targets; lambda, alb and GENEVE do not apply. ProtocolVersion HTTP1.',
  CreateRule: 'Every ALB condition; authenticate-* actions are refused.',
  DescribeListenerAttributes: 'No listener attributes apply; answers an empty list.',
  SetSecurityGroups: 'Accepted and ignored (no security groups on Berth).',
};

/** One operation by name with a JSON input (the gRPC way in): unknown operations and bad JSON are clear errors. */
export async function elbv2Call(ctx: AppContext, operation: string, inputJson: string): Promise<{ output: Record<string, unknown>; warnings: string[] }> {
  let input: unknown;
  try {
    input = inputJson ? JSON.parse(inputJson) : {};
  } catch (err) {
    throw invalid(`input: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('input: must be a JSON object');
  return runElbv2(ctx, operation, input as Elbv2Input);
}

/**
 * Every way in runs an operation through here: the input is checked against the ELBv2 model (types,
 * required members, ranges, enums: every problem at once, by field), then the operation acts.
 */
export async function runElbv2(ctx: AppContext, operation: string, input: Elbv2Input): Promise<{ output: Record<string, unknown>; warnings: string[] }> {
  const fn = Object.hasOwn(ELBV2_OPERATIONS, operation) ? ELBV2_OPERATIONS[operation]! : undefined;
  if (!fn) throw invalid(`operation: ${JSON.stringify(operation)} is not an ELBv2 operation Berth speaks (see docs/elbv2-api.md)`);
  const checked = validateInput<Elbv2Input>(ELBV2_MODEL, operation, input);
  if (!checked.ok) throw validationFailed(`${operation}: invalid input`, checked.errors);
  const { warnings = [], ...output } = await fn(ctx, checked.value);
  return { output, warnings };
}
