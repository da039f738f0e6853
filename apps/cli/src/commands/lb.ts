import type { Api } from '../client.js';
import { printJson, type Command, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../output/table.js';

/**
 * `berth lb`: load balancers, listeners, target groups and their targets, over the control API's
 * LoadBalancing call (ELBv2 operations with ELB's member names, so `--json` prints what
 * `aws elbv2 ... --output json` would). Names work wherever an ARN does.
 */

type Json = Record<string, unknown>;
type Lb = { LoadBalancerArn: string; LoadBalancerName: string; Type: string; State: { Code: string; Reason?: string }; DNSName: string; AvailabilityZones: { ZoneName: string; LoadBalancerAddresses?: { IpAddress?: string }[] }[] };
type Tg = { TargetGroupArn: string; TargetGroupName: string; Protocol?: string; Port?: number; TargetType: string; HealthCheckPath?: string; LoadBalancerArns: string[] };
type Listener = { ListenerArn: string; Port: number; Protocol: string; DefaultActions: { Type: string; TargetGroupArn?: string; ForwardConfig?: { TargetGroups?: { TargetGroupArn: string; Weight?: number }[] } }[] };

async function call<T = Json>(api: Api, operation: string, input: Json): Promise<{ output: T; warnings: string[] }> {
  const r = await api.loadBalancing({ operation, inputJson: JSON.stringify(input) });
  return { output: JSON.parse(r.outputJson || '{}') as T, warnings: r.warnings };
}

const nameOf = (arn: string) => arn.split('/').slice(-2, -1)[0] ?? arn;
const isArn = (s: string) => s.startsWith('arn:');

async function lbArn(api: Api, ref: string): Promise<string> {
  if (isArn(ref)) return ref;
  return (await call<{ LoadBalancers: Lb[] }>(api, 'DescribeLoadBalancers', { Names: [ref] })).output.LoadBalancers[0]!.LoadBalancerArn;
}

async function tgArn(api: Api, ref: string): Promise<string> {
  if (isArn(ref)) return ref;
  return (await call<{ TargetGroups: Tg[] }>(api, 'DescribeTargetGroups', { Names: [ref] })).output.TargetGroups[0]!.TargetGroupArn;
}

function warn(ctx: CommandContext, warnings: string[]): void {
  for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
}

const int = (v: unknown, flag: string, lo: number, hi: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${flag}: must be a whole number ${lo}-${hi}, got ${JSON.stringify(v)}`);
  return n;
};

/** `--forward web` or `--forward web=90,canary=10`. */
function forwardAction(spec: string): Json {
  const parts = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError('--forward: which target group? (NAME, or NAME=WEIGHT,NAME=WEIGHT)');
  const groups = parts.map((p) => {
    const [name, weight] = p.split('=');
    const w = weight === undefined ? 1 : Number(weight);
    if (!name || !Number.isInteger(w) || w < 0 || w > 999) throw new UsageError(`--forward: ${JSON.stringify(p)} is not NAME or NAME=WEIGHT (0-999)`);
    return { name, weight: w };
  });
  return { Type: 'forward', ForwardConfig: { TargetGroups: groups.map((g) => ({ TargetGroupArn: `name:${g.name}`, Weight: g.weight })) } };
}

/** Target group names in a forward action become ARNs. */
async function resolveForward(api: Api, action: Json): Promise<Json> {
  const fc = action.ForwardConfig as { TargetGroups: { TargetGroupArn: string; Weight: number }[] } | undefined;
  if (!fc) return action;
  const TargetGroups = await Promise.all(fc.TargetGroups.map(async (t) => ({ ...t, TargetGroupArn: await tgArn(api, t.TargetGroupArn.replace(/^name:/, '')) })));
  return TargetGroups.length === 1 ? { Type: 'forward', TargetGroupArn: TargetGroups[0]!.TargetGroupArn } : { Type: 'forward', ForwardConfig: { TargetGroups } };
}

export const lbCommands: Record<string, Command> = {
  'lb create': {
    usage: 'berth lb create NAME [--on NODE|KEY=VALUE]... [--type application|network]\n    default: the nodes with berth.ingress=true (berth node attribute put NODE berth.ingress=true)',
    summary: 'create a load balancer on some nodes (each listens on its own address)',
    options: { on: { type: 'string', multiple: true }, type: { type: 'string' } },
    async run(ctx) {
      const name = ctx.args[0];
      if (!name || ctx.args.length > 1) throw new UsageError('lb create: give one NAME');
      const r = await call<{ LoadBalancers: Lb[] }>(ctx.api, 'CreateLoadBalancer', { Name: name, Subnets: (ctx.flags.on as string[] | undefined) ?? [], Type: (ctx.flags.type as string | undefined) ?? 'application' });
      warn(ctx, r.warnings);
      if (ctx.json) return printJson(ctx.io, r.output);
      const lb = r.output.LoadBalancers[0]!;
      ctx.io.out(`load balancer ${lb.LoadBalancerName} created on ${lb.AvailabilityZones.map((z) => z.ZoneName).join(', ')}: ${lb.State.Code}${lb.State.Reason ? ` (${lb.State.Reason})` : ''}\n${lb.LoadBalancerArn}\n`);
    },
  },
  'lb ls': {
    usage: 'berth lb ls',
    summary: 'list load balancers: state, nodes and addresses, listeners',
    async run(ctx) {
      const r = await call<{ LoadBalancers: Lb[] }>(ctx.api, 'DescribeLoadBalancers', {});
      if (ctx.json) return printJson(ctx.io, r.output);
      const rows = await Promise.all(r.output.LoadBalancers.map(async (lb) => {
        const ls = (await call<{ Listeners: Listener[] }>(ctx.api, 'DescribeListeners', { LoadBalancerArn: lb.LoadBalancerArn })).output.Listeners;
        const addrs = lb.AvailabilityZones.flatMap((z) => (z.LoadBalancerAddresses ?? []).map((a) => a.IpAddress ?? ''));
        return [lb.LoadBalancerName, lb.Type, lb.State.Code, addrs.join(',') || '-', ls.map((l) => `${l.Protocol}:${l.Port}`).join(',') || '-'];
      }));
      ctx.io.out(table(['NAME', 'TYPE', 'STATE', 'ADDRESSES', 'LISTENERS'], rows));
    },
  },
  'lb rm': {
    usage: 'berth lb rm NAME|ARN',
    summary: 'delete a load balancer and its listeners (its nodes stop listening)',
    async run(ctx) {
      if (!ctx.args[0]) throw new UsageError('lb rm: which load balancer?');
      const arn = await lbArn(ctx.api, ctx.args[0]);
      await call(ctx.api, 'DeleteLoadBalancer', { LoadBalancerArn: arn });
      if (ctx.json) return printJson(ctx.io, {});
      ctx.io.out(`load balancer ${nameOf(arn)} deleted\n`);
    },
  },
  'lb listen': {
    usage: 'berth lb listen LB PORT --forward TG[=WEIGHT,TG=WEIGHT] [--protocol HTTP|TCP]',
    summary: 'add a listener to a load balancer, forwarding to target groups',
    options: { forward: { type: 'string' }, protocol: { type: 'string' } },
    async run(ctx) {
      const [lb, portArg] = ctx.args;
      if (!lb || !portArg) throw new UsageError('lb listen: give LB and PORT');
      if (!ctx.flags.forward) throw new UsageError('lb listen: --forward TG is required (where the traffic goes)');
      const port = int(portArg, 'PORT', 1, 65535)!;
      const action = await resolveForward(ctx.api, forwardAction(ctx.flags.forward as string));
      const r = await call<{ Listeners: Listener[] }>(ctx.api, 'CreateListener', { LoadBalancerArn: await lbArn(ctx.api, lb), Port: port, Protocol: (ctx.flags.protocol as string | undefined) ?? 'HTTP', DefaultActions: [action] });
      if (ctx.json) return printJson(ctx.io, r.output);
      ctx.io.out(`listener ${r.output.Listeners[0]!.Protocol}:${port} on ${lb}\n`);
    },
  },
  'lb target-group create': {
    usage: 'berth lb target-group create NAME --port PORT [--protocol HTTP|TCP] [--health-path /healthz] [--interval S] [--timeout S] [--healthy N] [--unhealthy N] [--matcher 200-299] [--deregistration-delay S]',
    summary: "create a target group (a service's loadBalancers name it; its tasks register themselves)",
    options: {
      port: { type: 'string' },
      protocol: { type: 'string' },
      'health-path': { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
      healthy: { type: 'string' },
      unhealthy: { type: 'string' },
      matcher: { type: 'string' },
      'deregistration-delay': { type: 'string' },
    },
    async run(ctx) {
      const name = ctx.args[0];
      if (!name) throw new UsageError('lb target-group create: give a NAME');
      const f = ctx.flags;
      const input: Json = { Name: name, Protocol: (f.protocol as string | undefined) ?? 'HTTP', Port: int(f.port ?? '80', 'port', 1, 65535) };
      if (f['health-path']) input.HealthCheckPath = f['health-path'];
      if (f.interval) input.HealthCheckIntervalSeconds = int(f.interval, 'interval', 5, 300);
      if (f.timeout) input.HealthCheckTimeoutSeconds = int(f.timeout, 'timeout', 2, 120);
      if (f.healthy) input.HealthyThresholdCount = int(f.healthy, 'healthy', 2, 10);
      if (f.unhealthy) input.UnhealthyThresholdCount = int(f.unhealthy, 'unhealthy', 2, 10);
      if (f.matcher) input.Matcher = { HttpCode: f.matcher };
      const r = await call<{ TargetGroups: Tg[] }>(ctx.api, 'CreateTargetGroup', input);
      const arn = r.output.TargetGroups[0]!.TargetGroupArn;
      if (f['deregistration-delay'] !== undefined) {
        await call(ctx.api, 'ModifyTargetGroupAttributes', { TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(int(f['deregistration-delay'], 'deregistration-delay', 0, 3600)) }] });
      }
      if (ctx.json) return printJson(ctx.io, r.output);
      ctx.io.out(`target group ${name} created\n${arn}\n`);
    },
  },
  'lb target-group ls': {
    usage: 'berth lb target-group ls',
    summary: 'list target groups: protocol, port, health check, load balancers',
    async run(ctx) {
      const r = await call<{ TargetGroups: Tg[] }>(ctx.api, 'DescribeTargetGroups', {});
      if (ctx.json) return printJson(ctx.io, r.output);
      ctx.io.out(table(['NAME', 'PROTOCOL', 'PORT', 'TYPE', 'HEALTH', 'LOAD BALANCERS'], r.output.TargetGroups.map((g) => [g.TargetGroupName, g.Protocol ?? '-', g.Port ?? '-', g.TargetType, g.HealthCheckPath ?? 'tcp', g.LoadBalancerArns.map(nameOf).join(',') || '-'])));
    },
  },
  'lb target-group rm': {
    usage: 'berth lb target-group rm NAME|ARN',
    summary: 'delete a target group (refused while a listener or a service uses it)',
    async run(ctx) {
      if (!ctx.args[0]) throw new UsageError('lb target-group rm: which target group?');
      const arn = await tgArn(ctx.api, ctx.args[0]);
      await call(ctx.api, 'DeleteTargetGroup', { TargetGroupArn: arn });
      if (ctx.json) return printJson(ctx.io, {});
      ctx.io.out(`target group ${nameOf(arn)} deleted\n`);
    },
  },
  'lb targets': {
    usage: 'berth lb targets TG',
    summary: "a target group's targets and their health as the proxies see it (ELB's states and reasons)",
    async run(ctx) {
      if (!ctx.args[0]) throw new UsageError('lb targets: which target group?');
      const r = await call<{ TargetHealthDescriptions: { Target: { Id: string; Port: number }; TargetHealth: { State: string; Reason?: string; Description?: string } }[] }>(ctx.api, 'DescribeTargetHealth', { TargetGroupArn: await tgArn(ctx.api, ctx.args[0]) });
      if (ctx.json) return printJson(ctx.io, r.output);
      ctx.io.out(table(['TARGET', 'PORT', 'STATE', 'REASON'], r.output.TargetHealthDescriptions.map((d) => [d.Target.Id, d.Target.Port, d.TargetHealth.State, d.TargetHealth.Description ?? d.TargetHealth.Reason ?? ''])));
    },
  },
};
