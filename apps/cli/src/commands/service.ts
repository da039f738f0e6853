import { MAX_DESIRED_COUNT } from '@berth/domain';
import { status } from '@grpc/grpc-js';
import type { Api } from '../client.js';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command, type CommandContext, type Io } from '../context.js';
import { age, definitionName, shortId, when } from '../output/format.js';
import { table } from '../output/table.js';
import { PLACEMENT_OPTIONS, PLACEMENT_USAGE, placementFlags } from './placement.js';
import { jsonProblem } from './taskdef.js';

/**
 * `berth service`: ECS services over CreateService, UpdateService,
 * DeleteService, DescribeServices and ListServices. Services travel as ECS
 * JSON (the describe-services Service object); --wait follows a deployment
 * until it is steady, failed, rolled back or out of time.
 */

/** --wait exit codes (create, update, scale). Exit 1 and 2 keep their usual meaning (failure, usage). */
export const EXIT_STEADY = 0;
/** The deployment failed (circuit breaker) and nothing rolled it back, or the rollback failed too. */
export const EXIT_DEPLOYMENT_FAILED = 3;
/** The deployment failed and the circuit breaker rolled the service back. */
export const EXIT_ROLLED_BACK = 4;
/** --timeout passed before the service was steady. */
export const EXIT_WAIT_TIMEOUT = 5;

/** How often --wait polls DescribeServices (the wait itself is Io.sleep, faked in tests). */
export const WAIT_INTERVAL_MS = 1000;
export const DEFAULT_WAIT_TIMEOUT = '10m';
/** Events shown by `service describe`, newest first. */
export const DESCRIBE_EVENTS_SHOWN = 10;
/** DescribeServices takes at most 10 services (as ECS). */
const DESCRIBE_BATCH = 10;

const WAIT_FLAGS = `[--wait [--timeout ${DEFAULT_WAIT_TIMEOUT}]]`;
const WAIT_EXITS =
  `    --wait exits ${EXIT_STEADY} when steady, ${EXIT_DEPLOYMENT_FAILED} when the deployment failed (no rollback, or the rollback failed too), ` +
  `${EXIT_ROLLED_BACK} when it was rolled back, ${EXIT_WAIT_TIMEOUT} when --timeout (90s, 5m; default ${DEFAULT_WAIT_TIMEOUT}) passed first`;
const WAIT_OPTIONS = { wait: { type: 'boolean' }, timeout: { type: 'string' } } as const;

/** One deployment of an ECS Service, as DescribeServices returns it. */
export interface ServiceDeployment {
  id: string;
  status: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  failedTasks?: number;
  createdAt?: string;
  updatedAt?: string;
  rolloutState?: string;
  rolloutStateReason?: string;
}

/** The ECS Service object (describe-services shape, ISO timestamps), the fields the CLI reads. */
export interface ServiceView {
  serviceArn: string;
  serviceName: string;
  clusterArn?: string;
  status: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  taskDefinition: string;
  schedulingStrategy?: string;
  deploymentConfiguration?: { minimumHealthyPercent?: number; maximumPercent?: number; deploymentCircuitBreaker?: { enable: boolean; rollback: boolean } };
  placementConstraints?: { type: string; expression?: string }[];
  placementStrategy?: { type: string; field?: string }[];
  healthCheckGracePeriodSeconds?: number;
  deployments: ServiceDeployment[];
  events: { id: string; createdAt?: string; message: string }[];
  createdAt?: string;
}

function parseService(json: string): ServiceView {
  const s = JSON.parse(json) as ServiceView;
  return { ...s, deployments: s.deployments ?? [], events: s.events ?? [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const ago = (iso: string | undefined) => age(iso ? new Date(iso) : undefined);
const primaryOf = (s: ServiceView) => s.deployments.find((d) => d.status === 'PRIMARY');
/** The cluster a returned service lives in (for the polls that follow). */
const clusterOf = (s: ServiceView, fallback: string) => (s.clusterArn ? shortId(s.clusterArn) : fallback);

// ---- flags -------------------------------------------------------------------

function wholeNumber(flags: CommandContext['flags'], name: string, min: number, max: number): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const text = String(v).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(text);
}

/** --grace-period 60, 60s or 2m -> seconds. */
function graceSeconds(flags: CommandContext['flags']): number | undefined {
  const v = flags['grace-period'] as string | undefined;
  if (v === undefined) return undefined;
  const m = /^(\d+)(s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--grace-period: must be seconds (60, 60s) or minutes (2m), got ${JSON.stringify(v)}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** --timeout 90s, 5m, 1h30m, 90d or plain seconds -> milliseconds. */
export function parseTimeout(flag: string): number {
  const text = flag.trim();
  let seconds = Number.NaN;
  const unitSeconds: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };
  if (/^\d+$/.test(text)) seconds = Number(text);
  else if (/^(\d+[dsmh])+$/.test(text)) {
    seconds = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([dsmh])/g)) seconds += Number(n) * unitSeconds[unit!]!;
  }
  if (!(seconds > 0)) throw new UsageError(`--timeout: must be a duration such as 90s, 5m or 1h30m, got ${JSON.stringify(flag)}`);
  return seconds * 1000;
}

interface WaitSetup {
  ms: number;
  text: string;
}

function waitSetup(flags: CommandContext['flags']): WaitSetup | undefined {
  const timeout = flags.timeout as string | undefined;
  if (flags.wait !== true) {
    if (timeout !== undefined) throw new UsageError('--timeout: only with --wait');
    return undefined;
  }
  const text = timeout ?? DEFAULT_WAIT_TIMEOUT;
  return { ms: parseTimeout(text), text };
}

/** --min-healthy-percent, --max-percent and the circuit breaker flags -> ECS deploymentConfiguration (undefined when none given). */
function deploymentConfiguration(flags: CommandContext['flags']): Record<string, unknown> | undefined {
  const min = wholeNumber(flags, 'min-healthy-percent', 0, 100);
  const max = wholeNumber(flags, 'max-percent', 100, 1000);
  const on = flags['circuit-breaker'] === true;
  const rollback = flags.rollback === true;
  const off = flags['no-circuit-breaker'] === true;
  if (off && (on || rollback)) throw new UsageError(`--no-circuit-breaker: cannot go with ${on ? '--circuit-breaker' : '--rollback'}`);
  const dc: Record<string, unknown> = {};
  if (min !== undefined) dc.minimumHealthyPercent = min;
  if (max !== undefined) dc.maximumPercent = max;
  // --rollback needs the breaker, so it turns it on.
  if (on || rollback) dc.deploymentCircuitBreaker = { enable: true, rollback };
  if (off) dc.deploymentCircuitBreaker = { enable: false, rollback: false };
  return Object.keys(dc).length > 0 ? dc : undefined;
}

/** The placement flags as ECS JSON (no empty expression or field). */
function ecsPlacement(flags: CommandContext['flags']): Record<string, unknown> {
  const p = placementFlags(flags);
  return {
    ...(p.placementConstraints.length > 0 ? { placementConstraints: p.placementConstraints.map((c) => (c.expression ? c : { type: c.type })) } : {}),
    ...(p.placementStrategy.length > 0 ? { placementStrategy: p.placementStrategy.map((s) => (s.field ? s : { type: s.type })) } : {}),
  };
}

/**
 * A --file passed through as the request body. `patch` (the NAME argument)
 * and the cluster are written in only when needed: the file's own cluster
 * (cluster or clusterArn) wins unless --cluster was given.
 */
function fileBody(ctx: CommandContext, file: string, patch: Record<string, string | undefined>): { body: string; doc: Record<string, unknown> | undefined } {
  let text: string;
  try {
    text = ctx.io.readFile(file === '-' ? '/dev/stdin' : file);
  } catch (err) {
    throw new CliError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file}: ${jsonProblem(text, err as Error)}`);
  }
  // Not an object: the control plane says what is wrong with it.
  if (!isObject(parsed)) return { body: text, doc: undefined };
  // describe-services output: {"services": [one]}.
  const doc = Array.isArray(parsed.services) && parsed.services.length === 1 && isObject(parsed.services[0]) ? parsed.services[0] : parsed;
  let changed = false;
  const set = (key: string, value: string) => {
    if (doc[key] === value) return;
    doc[key] = value;
    changed = true;
  };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) set(key, value);
  if (ctx.flags.cluster !== undefined) set('cluster', ctx.cluster);
  else if ((doc.cluster === undefined || doc.cluster === null) && typeof doc.clusterArn !== 'string') set('cluster', ctx.cluster);
  return { body: changed ? JSON.stringify(parsed) : text, doc };
}

function refuseWithFile(flags: CommandContext['flags'], names: string[]): void {
  const given = names.find((n) => flags[n] !== undefined);
  if (given) throw new UsageError(`--${given}: give the service in --file or with flags, not both`);
}

const CREATE_FLAGS = ['task-definition', 'desired-count', 'daemon', 'min-healthy-percent', 'max-percent', 'circuit-breaker', 'rollback', 'grace-period', 'placement-constraint', 'placement-strategy'];
const UPDATE_FLAGS = ['task-definition', 'desired-count', 'min-healthy-percent', 'max-percent', 'circuit-breaker', 'no-circuit-breaker', 'rollback', 'force-new-deployment', 'grace-period', 'placement-constraint', 'placement-strategy'];

/** The ECS CreateService body for `service create NAME --task-definition ...`. */
function createBody(ctx: CommandContext): Record<string, unknown> {
  const { args, flags, cluster } = ctx;
  const taskDefinition = flags['task-definition'] as string | undefined;
  if (!taskDefinition) throw new UsageError('--task-definition: is required (family or family:revision), or give the service with --file');
  const daemon = flags.daemon === true;
  if (daemon && flags['desired-count'] !== undefined) throw new UsageError('--desired-count: a DAEMON service (--daemon) runs one task on every matching node; leave the count out');
  if (daemon && flags['placement-strategy'] !== undefined) throw new UsageError('--placement-strategy: cannot be used with --daemon (a DAEMON service runs on every matching node)');
  const desiredCount = wholeNumber(flags, 'desired-count', 0, MAX_DESIRED_COUNT) ?? 1;
  const dc = deploymentConfiguration(flags);
  const grace = graceSeconds(flags);
  return {
    cluster,
    serviceName: args[0],
    taskDefinition,
    ...(daemon ? {} : { desiredCount }),
    schedulingStrategy: daemon ? 'DAEMON' : 'REPLICA',
    ...(dc ? { deploymentConfiguration: dc } : {}),
    ...ecsPlacement(flags),
    ...(grace !== undefined ? { healthCheckGracePeriodSeconds: grace } : {}),
  };
}

/** The ECS UpdateService body for `service update NAME --flags`. */
function updateBody(ctx: CommandContext, name: string): Record<string, unknown> {
  const { flags, cluster } = ctx;
  const taskDefinition = flags['task-definition'] as string | undefined;
  if (taskDefinition === '') throw new UsageError('--task-definition: must be family or family:revision');
  const desiredCount = wholeNumber(flags, 'desired-count', 0, MAX_DESIRED_COUNT);
  const dc = deploymentConfiguration(flags);
  const grace = graceSeconds(flags);
  const changes = {
    ...(taskDefinition !== undefined ? { taskDefinition } : {}),
    ...(desiredCount !== undefined ? { desiredCount } : {}),
    ...(dc ? { deploymentConfiguration: dc } : {}),
    ...ecsPlacement(flags),
    ...(grace !== undefined ? { healthCheckGracePeriodSeconds: grace } : {}),
    ...(flags['force-new-deployment'] === true ? { forceNewDeployment: true } : {}),
  };
  if (Object.keys(changes).length === 0) {
    throw new UsageError('service update: what should change? (--task-definition, --desired-count, --min-healthy-percent, --max-percent, --circuit-breaker, --force-new-deployment, ... or --file)');
  }
  return { cluster, service: name, ...changes };
}

function oneName(verb: string, args: string[], required: boolean): string | undefined {
  if (args.length > 1) throw new UsageError(`service ${verb}: one service at a time, got ${args.length}: ${args.join(' ')}`);
  if (required && !args[0]) throw new UsageError(verb === 'create' ? 'service create: which name? (or give the service with --file FILE)' : `service ${verb}: which service? (its name or ARN)`);
  return args[0];
}

// ---- reading services --------------------------------------------------------

async function describeService(api: Api, cluster: string, name: string): Promise<ServiceView> {
  const res = await api.describeServices({ cluster, services: [name] });
  const json = res.servicesJson[0];
  if (!json) throw new CliError(`service ${shortId(name)} not found in cluster ${cluster}`);
  return parseService(json);
}

/** The ids of the events a service has now, so --wait prints only newer ones (undefined when it cannot tell). */
async function knownEvents(api: Api, cluster: string, name: string | undefined): Promise<Set<string> | undefined> {
  if (!name) return undefined;
  try {
    const res = await api.describeServices({ cluster, services: [name] });
    return new Set(res.servicesJson.flatMap((j) => parseService(j).events.map((e) => e.id)));
  } catch {
    return undefined;
  }
}

export function deploymentsTable(deployments: ServiceDeployment[], indent = ''): string {
  return table(
    [`${indent}ID`, 'STATUS', 'ROLLOUT', 'TASKDEF', 'DESIRED', 'RUNNING', 'PENDING', 'FAILED', 'AGE'],
    deployments.map((d) => [
      `${indent}${d.id}`,
      d.status,
      d.rolloutState,
      definitionName(d.taskDefinition),
      d.desiredCount,
      d.runningCount,
      d.pendingCount,
      d.failedTasks ?? 0,
      ago(d.createdAt),
    ]),
  );
}

/** ceil(desired * min / 100) .. floor(desired * max / 100): the running tasks a REPLICA deployment keeps within. */
export function bounds(s: ServiceView): [number, number] {
  const min = s.deploymentConfiguration?.minimumHealthyPercent ?? 100;
  const max = s.deploymentConfiguration?.maximumPercent ?? 200;
  return [Math.ceil((s.desiredCount * min) / 100), Math.floor((s.desiredCount * max) / 100)];
}

function describeText(s: ServiceView): string {
  const dc = s.deploymentConfiguration ?? {};
  const cb = dc.deploymentCircuitBreaker;
  const strategy = s.schedulingStrategy ?? 'REPLICA';
  let deployment = `min ${dc.minimumHealthyPercent ?? '-'}%, max ${dc.maximumPercent ?? '-'}%`;
  if (strategy === 'REPLICA') {
    const [lo, hi] = bounds(s);
    deployment += ` (${lo}..${hi} running tasks)`;
  }
  deployment += cb?.enable ? `, circuit breaker on ${cb.rollback ? 'with rollback' : 'without rollback'}` : ', circuit breaker off';
  const placement = [
    ...(s.placementConstraints ?? []).map((c) => (c.expression ? `${c.type}:${c.expression}` : c.type)),
    ...(s.placementStrategy ?? []).map((p) => (p.field ? `${p.type}:${p.field}` : p.type)),
  ];
  const lines = [
    `Service:     ${s.serviceName}`,
    `ARN:         ${s.serviceArn}`,
    `Status:      ${s.status}`,
    `Strategy:    ${strategy}`,
    `Definition:  ${definitionName(s.taskDefinition)}`,
    `Tasks:       ${s.desiredCount} desired, ${s.runningCount} running, ${s.pendingCount} pending`,
    `Deployment:  ${deployment}`,
  ];
  if (s.healthCheckGracePeriodSeconds) lines.push(`Grace:       ${s.healthCheckGracePeriodSeconds} s before health checks count`);
  if (placement.length > 0) lines.push(`Placement:   ${placement.join(', ')}`);
  if (s.createdAt) lines.push(`Created:     ${when(new Date(s.createdAt))}`);
  lines.push('Deployments:');
  const events = s.events.slice(0, DESCRIBE_EVENTS_SHOWN);
  return (
    `${lines.join('\n')}\n${deploymentsTable(s.deployments, '  ')}Events:\n` +
    table(['  AGE', 'MESSAGE'], events.map((e) => [`  ${ago(e.createdAt)}`, e.message]))
  );
}

// ---- --wait ------------------------------------------------------------------

const ROLLBACK_REASON = /^rolling back to deployment (\S+)/;
/** "(service web) rolling back to deployment ecs-svc/456 (task definition web:3)." */
const ROLLBACK_EVENT = /^\(service [^)]*\) rolling back to deployment (\S+)/;

export interface WaitVerdict {
  /** The progress line for this state. */
  line: string;
  /** The end of the wait: exit code and what to say. */
  done?: { code: number; message: string };
}

/** What a wait has learnt so far (judgeWait updates it). */
export interface WaitMemory {
  /** The rollback deployment, once the circuit breaker has rolled the awaited one back. */
  rollback?: string;
  /** The deployment it returns to. */
  rollbackTo?: string;
  /** From a service event seen during the wait: "rolling back to deployment X". */
  rollbackEvent?: string;
}

/** "deployment ecs-svc/1 IN_PROGRESS: new 2/4 running, old 2 draining, healthy 4 (bounds 4..6)". */
export function progressLine(s: ServiceView, d: ServiceDeployment): string {
  const older = s.deployments.filter((x) => x !== d);
  const parts = [`new ${d.runningCount}/${d.desiredCount} running${d.pendingCount > 0 ? ` (${d.pendingCount} pending)` : ''}`];
  if (d.failedTasks) parts.push(`${d.failedTasks} failed`);
  if (older.length > 0) parts.push(`old ${older.reduce((n, x) => n + x.runningCount + x.pendingCount, 0)} draining`);
  let healthy = `healthy ${s.runningCount}`;
  if ((s.schedulingStrategy ?? 'REPLICA') === 'REPLICA') {
    const [lo, hi] = bounds(s);
    healthy += ` (bounds ${lo}..${hi})`;
  }
  parts.push(healthy);
  const rollback = ROLLBACK_REASON.exec(d.rolloutStateReason ?? '');
  return `deployment ${d.id} ${d.rolloutState ?? ''}${rollback ? ` (rolling back to ${rollback[1]})` : ''}: ${parts.join(', ')}`;
}

/** Steady: one deployment, PRIMARY, COMPLETED, and the service runs what it wants. */
export function isSteady(s: ServiceView): boolean {
  const d = s.deployments[0];
  return s.deployments.length === 1 && d!.status === 'PRIMARY' && d!.rolloutState === 'COMPLETED' && s.runningCount === s.desiredCount;
}

/**
 * Where a wait on deployment `target` stands. Throws a CliError when it can
 * never end well (the service was deleted, or updated again by someone else).
 */
export function judgeWait(s: ServiceView, target: string, memory: WaitMemory = {}): WaitVerdict {
  const name = s.serviceName;
  if (s.status !== 'ACTIVE') throw new CliError(`service ${name} is ${s.status} (deleted) while waiting for deployment ${target}`);
  const primary = primaryOf(s);
  if (!primary) return { line: `service ${name}: no primary deployment` };
  const rollingBackTo = ROLLBACK_REASON.exec(primary.rolloutStateReason ?? '')?.[1];
  if (primary.id !== target && primary.id !== memory.rollback) {
    // A rollback deployment says so in its reason until it completes; its event stays.
    if (memory.rollback || !(rollingBackTo || memory.rollbackEvent)) {
      throw new CliError(`deployment ${target} was replaced by deployment ${primary.id} (the service was updated again)`);
    }
    memory.rollback = primary.id;
  }
  if (primary.id === memory.rollback) memory.rollbackTo ??= rollingBackTo ?? memory.rollbackEvent;
  const line = progressLine(s, primary);
  if (primary.rolloutState === 'FAILED') {
    const why = primary.rolloutStateReason || 'rollout FAILED';
    const message = memory.rollback ? `deployment ${target} failed, and its rollback (deployment ${primary.id}) failed too: ${why}` : `deployment ${target} failed: ${why}`;
    return { line, done: { code: EXIT_DEPLOYMENT_FAILED, message } };
  }
  if (isSteady(s)) {
    const td = definitionName(primary.taskDefinition);
    if (memory.rollback) {
      const to = memory.rollbackTo ? `deployment ${memory.rollbackTo}` : 'the last completed deployment';
      return { line, done: { code: EXIT_ROLLED_BACK, message: `deployment ${target} failed and was rolled back to ${to} (task definition ${td}); service ${name} is steady again` } };
    }
    return { line, done: { code: EXIT_STEADY, message: `service ${name} is steady: deployment ${primary.id} (${td}), ${s.runningCount}/${s.desiredCount} running` } };
  }
  return { line };
}

function transient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
}

/**
 * Polls DescribeServices until the PRIMARY deployment of `first` settles:
 * prints each new service event once and a progress line whenever it changes.
 * Progress goes to stdout (stderr with -o json, which prints the last Service).
 */
export async function waitForService(
  ctx: { api: Api; io: Io; json: boolean },
  cluster: string,
  first: ServiceView,
  seen: Set<string>,
  timeout: WaitSetup,
): Promise<{ code: number; service: ServiceView }> {
  const { api, io } = ctx;
  const say = (text: string) => (ctx.json ? io.err(text) : io.out(text));
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = io.now ?? Date.now;
  const deadline = now() + timeout.ms;
  const name = first.serviceName;
  const target = primaryOf(first)?.id;
  if (!target) throw new CliError(`service ${name} has no primary deployment to wait for`);
  let s = first;
  const memory: WaitMemory = {};
  let lastLine = '';
  let unreachable = false;
  for (;;) {
    for (const e of [...s.events].reverse()) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      say(`${e.message}\n`);
      memory.rollbackEvent ??= ROLLBACK_EVENT.exec(e.message)?.[1];
    }
    const verdict = judgeWait(s, target, memory);
    if (verdict.line !== lastLine) say(`${verdict.line}\n`);
    lastLine = verdict.line;
    if (verdict.done) {
      if (verdict.done.code === EXIT_STEADY) say(`${verdict.done.message}\n`);
      else io.err(`berth: ${verdict.done.message}\n`);
      return { code: verdict.done.code, service: s };
    }
    const left = deadline - now();
    if (left <= 0) {
      io.err(`berth: --timeout ${timeout.text} passed before service ${name} was steady (${lastLine})\n`);
      return { code: EXIT_WAIT_TIMEOUT, service: s };
    }
    await sleep(Math.min(WAIT_INTERVAL_MS, left));
    try {
      s = await describeService(api, cluster, name);
      unreachable = false;
    } catch (err) {
      // A control plane restarting is no reason to give up: keep the last state and poll again.
      if (!transient(err)) throw err;
      if (!unreachable) say('control plane not answering; still waiting\n');
      unreachable = true;
    }
  }
}

/** After create, update or scale: the summary (or JSON), then --wait if asked. */
async function finish(ctx: CommandContext, s: ServiceView, summary: string, wait: WaitSetup | undefined, seen: Set<string> | undefined): Promise<number | void> {
  const { io, json } = ctx;
  if (!json) io.out(summary);
  if (!wait) {
    if (json) printJson(io, s);
    return;
  }
  const { code, service } = await waitForService(ctx, clusterOf(s, ctx.cluster), s, seen ?? new Set(s.events.map((e) => e.id)), wait);
  if (json) printJson(io, service);
  return code;
}

function desiredText(s: ServiceView): string {
  return s.schedulingStrategy === 'DAEMON' ? 'one task on every matching node' : `${s.desiredCount} desired`;
}

// ---- commands ----------------------------------------------------------------

/** Flags create and update share. */
const SERVICE_OPTIONS = {
  'task-definition': { type: 'string' },
  'desired-count': { type: 'string' },
  'min-healthy-percent': { type: 'string' },
  'max-percent': { type: 'string' },
  'circuit-breaker': { type: 'boolean' },
  rollback: { type: 'boolean' },
  'grace-period': { type: 'string' },
  ...PLACEMENT_OPTIONS,
  file: { type: 'string', short: 'f' },
  ...WAIT_OPTIONS,
} as const;

export const serviceCommands: Record<string, Command> = {
  'service create': {
    usage:
      'berth service create NAME --task-definition FAMILY[:REV] [--desired-count N] [--daemon] [--min-healthy-percent P] [--max-percent P]\n' +
      `    [--circuit-breaker] [--rollback] [--grace-period SECONDS] ${PLACEMENT_USAGE} ${WAIT_FLAGS}\n` +
      `  berth service create [NAME] --file service.json ${WAIT_FLAGS}\n${WAIT_EXITS}`,
    summary:
      'create a service (ECS CreateService): desired count 1 unless given, --daemon for one task on every matching node, --rollback turns the circuit breaker on with rollback; ' +
      '--file takes an ECS CreateService body or describe-services output (its cluster unless --cluster is given)',
    options: { ...SERVICE_OPTIONS, daemon: { type: 'boolean' } },
    async run(ctx) {
      const { api, io, args, flags } = ctx;
      const file = flags.file as string | undefined;
      const name = oneName('create', args, file === undefined);
      const wait = waitSetup(flags);
      let body: string;
      let cluster = ctx.cluster;
      let serviceName = name;
      if (file !== undefined) {
        refuseWithFile(flags, CREATE_FLAGS);
        const r = fileBody(ctx, file, { serviceName: name });
        body = r.body;
        if (r.doc) {
          if (typeof r.doc.cluster === 'string') cluster = r.doc.cluster;
          else if (typeof r.doc.clusterArn === 'string') cluster = shortId(r.doc.clusterArn);
          if (typeof r.doc.serviceName === 'string') serviceName = r.doc.serviceName;
        }
      } else body = JSON.stringify(createBody(ctx));
      const seen = wait ? await knownEvents(api, cluster, serviceName) : undefined;
      const res = await api.createService({ serviceJson: body });
      const s = parseService(res.serviceJson);
      for (const w of res.warnings) io.err(`warning: ${w}\n`);
      return finish(ctx, s, `service ${s.serviceName} created: ${definitionName(s.taskDefinition)}, ${desiredText(s)}; deployment ${primaryOf(s)?.id ?? '-'}\n`, wait, seen);
    },
  },
  'service update': {
    usage:
      'berth service update NAME [--task-definition FAMILY[:REV]] [--desired-count N] [--min-healthy-percent P] [--max-percent P]\n' +
      `    [--circuit-breaker [--rollback] | --no-circuit-breaker] [--force-new-deployment] [--grace-period S] ${PLACEMENT_USAGE} ${WAIT_FLAGS}\n` +
      `  berth service update [NAME] --file update.json ${WAIT_FLAGS}\n${WAIT_EXITS}`,
    summary:
      'change a service (ECS UpdateService); a new task definition, new placement or --force-new-deployment starts a rolling deployment; ' +
      '--circuit-breaker alone turns rollback off; --file takes an ECS UpdateService body',
    options: { ...SERVICE_OPTIONS, 'no-circuit-breaker': { type: 'boolean' }, 'force-new-deployment': { type: 'boolean' } },
    async run(ctx) {
      const { api, io, args, flags } = ctx;
      const file = flags.file as string | undefined;
      const name = oneName('update', args, file === undefined);
      const wait = waitSetup(flags);
      let body: string;
      let cluster = ctx.cluster;
      let service = name;
      if (file !== undefined) {
        refuseWithFile(flags, UPDATE_FLAGS);
        const r = fileBody(ctx, file, { service: name });
        body = r.body;
        if (r.doc) {
          if (typeof r.doc.cluster === 'string') cluster = r.doc.cluster;
          if (typeof r.doc.service === 'string') service = r.doc.service;
        }
        if (r.doc && !service) throw new UsageError('service update: which service? (NAME, or "service" in the file)');
      } else body = JSON.stringify(updateBody(ctx, name!));
      const seen = wait ? await knownEvents(api, cluster, service) : undefined;
      const res = await api.updateService({ updateJson: body });
      const s = parseService(res.serviceJson);
      for (const w of res.warnings) io.err(`warning: ${w}\n`);
      const d = primaryOf(s);
      return finish(ctx, s, `service ${s.serviceName} updated: ${definitionName(s.taskDefinition)}, ${desiredText(s)}; deployment ${d?.id ?? '-'} ${d?.rolloutState ?? ''}\n`, wait, seen);
    },
  },
  'service scale': {
    usage: `berth service scale NAME COUNT ${WAIT_FLAGS}\n${WAIT_EXITS}`,
    summary: "set a REPLICA service's desired count (ECS UpdateService desiredCount)",
    options: { ...WAIT_OPTIONS },
    async run(ctx) {
      const { api, io, args, flags, cluster } = ctx;
      if (args.length !== 2) throw new UsageError(`service scale: give the service and the count (berth service scale NAME COUNT), got ${args.length} argument${args.length === 1 ? '' : 's'}`);
      const [name, count] = args as [string, string];
      if (!/^\d+$/.test(count) || Number(count) > MAX_DESIRED_COUNT) throw new UsageError(`service scale: COUNT must be a whole number from 0 to ${MAX_DESIRED_COUNT}, got ${JSON.stringify(count)}`);
      const wait = waitSetup(flags);
      const seen = wait ? await knownEvents(api, cluster, name) : undefined;
      const res = await api.updateService({ updateJson: JSON.stringify({ cluster, service: name, desiredCount: Number(count) }) });
      const s = parseService(res.serviceJson);
      for (const w of res.warnings) io.err(`warning: ${w}\n`);
      return finish(ctx, s, `service ${s.serviceName} scaled to ${s.desiredCount} (${s.runningCount} running now)\n`, wait, seen);
    },
  },
  'service describe': {
    usage: 'berth service describe NAME',
    summary: `show a service: status, counts, deployment configuration, deployments and the newest ${DESCRIBE_EVENTS_SHOWN} events (-o json: the ECS Service object)`,
    async run({ api, io, json, args, cluster }) {
      const s = await describeService(api, cluster, oneName('describe', args, true)!);
      if (json) return printJson(io, s);
      io.out(describeText(s));
    },
  },
  'service ls': {
    usage: 'berth service ls [--strategy REPLICA|DAEMON]',
    summary: 'list services with counts and how many deployments each has',
    options: { strategy: { type: 'string' } },
    async run({ api, io, json, flags, cluster }) {
      const strategy = (flags.strategy as string | undefined) ?? '';
      if (strategy && strategy !== 'REPLICA' && strategy !== 'DAEMON') throw new UsageError(`--strategy: must be REPLICA or DAEMON, got ${JSON.stringify(strategy)}`);
      const arns: string[] = [];
      let nextToken = '';
      do {
        const page = await api.listServices({ cluster, nextToken, schedulingStrategy: strategy });
        arns.push(...page.serviceArns);
        nextToken = page.nextToken;
      } while (nextToken);
      const services: ServiceView[] = [];
      for (let i = 0; i < arns.length; i += DESCRIBE_BATCH) {
        services.push(...(await api.describeServices({ cluster, services: arns.slice(i, i + DESCRIBE_BATCH) })).servicesJson.map(parseService));
      }
      if (json) return printJson(io, { services });
      io.out(
        table(
          ['NAME', 'STATUS', 'STRATEGY', 'TASKDEF', 'DESIRED', 'RUNNING', 'PENDING', 'DEPLOYMENTS'],
          services.map((s) => [s.serviceName, s.status, s.schedulingStrategy, definitionName(s.taskDefinition), s.desiredCount, s.runningCount, s.pendingCount, s.deployments.length]),
        ),
      );
    },
  },
  'service rm': {
    usage: 'berth service rm NAME [--force]',
    summary: 'delete a service (ECS DeleteService): scale it to 0 first, or --force to stop its tasks; it drains, then becomes INACTIVE',
    options: { force: { type: 'boolean' } },
    async run({ api, io, json, args, flags, cluster }) {
      const name = oneName('rm', args, true)!;
      const res = await api.deleteService({ cluster, service: name, force: flags.force === true });
      const s = parseService(res.serviceJson);
      if (json) return printJson(io, s);
      io.out(`service ${s.serviceName} deleted (${s.status})${s.status === 'DRAINING' ? `: its tasks are stopping (${s.runningCount} running)` : ''}\n`);
    },
  },
  'service deployments': {
    usage: 'berth service deployments NAME',
    summary: "a service's deployments: PRIMARY (the one wanted) and ACTIVE (older ones still with tasks), rollout state, counts",
    async run({ api, io, json, args, cluster }) {
      const s = await describeService(api, cluster, oneName('deployments', args, true)!);
      if (json) return printJson(io, s.deployments);
      io.out(deploymentsTable(s.deployments));
    },
  },
};
