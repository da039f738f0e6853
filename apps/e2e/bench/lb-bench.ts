/**
 * bench:lb. A real control plane and agent process (LocalCluster, TLS + mTLS, the agent's real HAProxy),
 * driven through the AWS endpoint (ELBv2 + ECS), with a second agent on 127.0.0.2 for the node drain.
 *
 * 1. endpoint_change_ms: `RegisterTargets` / `DeregisterTargets` (signed here, one HTTPS request each)
 *    of local HTTP servers on 127.0.0.1, timed from the request being sent to HAProxy's stats socket
 *    (polled every ~5 ms with `show servers state`) showing the server added and enabled (register) or
 *    in DRAIN/MAINT/gone (deregister). This is the control plane -> agent -> HAProxy path; it leaves out
 *    the health checks a new server then needs (2 x 5 s here) before it takes traffic.
 * 2. failed_requests_rolling / failed_requests_drain: a keep-alive client on loopback through the load
 *    balancer while a 10-replica service is force-new-deployed, then while the node holding part of it
 *    is drained (`berth node drain`). Counts errors and non-2xx answers.
 * 3. proxy_direct_ratio: wrk through the proxy (a target group holding one container) vs straight to
 *    that container's published port, same wrk options, same run.
 * 4. weight_error_pct: a 90/10 weighted forward between two target groups, 10,000 requests, share by body.
 * 5. dns_change_ms_p99: service discovery DNS is not built: printed as not measured.
 *
 * Flags: --cycles N (register+deregister cycles, default 100), --requests N (weighted, default 10000),
 * --wrk-seconds N (default 10), --no-drain (skip the second agent).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, Agent as HttpAgent, type Server } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { freePort, machine, round, stats, TEST_IMAGE, waitFor } from '@berth/testing';
import { docker, LocalCluster } from '../src/cluster.js';
import { berth, BerthProcess, berthJson } from '../src/processes.js';

const { values: flags } = parseArgs({ options: { cycles: { type: 'string' }, requests: { type: 'string' }, 'wrk-seconds': { type: 'string' }, 'no-drain': { type: 'boolean' } } });
const CYCLES = Number(flags.cycles ?? 100);
const REQUESTS = Number(flags.requests ?? 10_000);
const WRK_SECONDS = Number(flags['wrk-seconds'] ?? 10);
const DRAIN = !flags['no-drain'];
const AWS_CLI = process.env.AWS_CLI ?? '/usr/bin/aws';
const say = (s: string) => console.log(`bench lb: ${s}`);
const figures: string[] = [];
const figure = (metric: string, value: number | string, unit: string) => figures.push(`bench lb ${metric} ${value} ${unit}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = new LocalCluster();
let agent2: BerthProcess | undefined;
const agent2Dir = join(cluster.work, 'agent2');
let key = { id: '', secret: '' };
let awsDir = '';
const servers: Server[] = [];

// ---------- AWS: the CLI for setup, a signed request of our own for the timed calls ----------

const awsEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
  AWS_CA_BUNDLE: cluster.caFile,
  AWS_ACCESS_KEY_ID: key.id,
  AWS_SECRET_ACCESS_KEY: key.secret,
  AWS_DEFAULT_REGION: 'local',
  AWS_CONFIG_FILE: join(awsDir, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'credentials'),
  AWS_PAGER: '',
});

function aws<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(AWS_CLI, ['--endpoint-url', `https://127.0.0.1:${cluster.ecsPort}`, '--output', 'json', ...args], { env: awsEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve((out.trim() ? JSON.parse(out) : {}) as T) : reject(new Error(`aws ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

let httpsAgent: HttpsAgent | undefined;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

/** One ELBv2 Query call, SigV4-signed: resolves when the control plane has answered 200. */
function elbv2(params: Record<string, string>): Promise<void> {
  const body = new URLSearchParams({ ...params, Version: '2015-12-01' }).toString();
  const host = `127.0.0.1:${cluster.ecsPort}`;
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/local/elasticloadbalancing/aws4_request`;
  const canonical = ['POST', '/', '', `content-type:application/x-www-form-urlencoded; charset=utf-8`, `host:${host}`, `x-amz-date:${amzDate}`, '', 'content-type;host;x-amz-date', sha256(body)].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${key.secret}`, day), 'local'), 'elasticloadbalancing'), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  httpsAgent ??= new HttpsAgent({ keepAlive: true, ca: readFileSync(cluster.caFile) });
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: cluster.ecsPort, method: 'POST', path: '/', agent: httpsAgent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8', host, 'x-amz-date': amzDate, 'content-length': Buffer.byteLength(body),
        authorization: `AWS4-HMAC-SHA256 Credential=${key.id}/${scope}, SignedHeaders=content-type;host;x-amz-date, Signature=${signature}`,
      },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${params.Action}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---------- HAProxy's stats socket ----------

function haproxy(socket: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    let out = '';
    c.on('connect', () => c.write(`${command}\n`));
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => resolve(out));
    c.on('error', () => resolve(''));
  });
}

interface ServerState { backend: string; name: string; addr: string; port: number; op: number; admin: number }

/** `show servers state`, by column name. */
async function serversState(socket: string): Promise<ServerState[]> {
  const text = await haproxy(socket, 'show servers state');
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).trim().split(/\s+/);
  const at = (cells: string[], name: string) => cells[cols.indexOf(name)] ?? '';
  return lines.filter((l) => l.trim() && !l.startsWith('#') && l.trim().includes(' ')).map((l) => {
    const c = l.trim().split(/\s+/);
    return { backend: at(c, 'be_name'), name: at(c, 'srv_name'), addr: at(c, 'srv_addr'), port: Number(at(c, 'srv_port')), op: Number(at(c, 'srv_op_state')), admin: Number(at(c, 'srv_admin_state')) };
  });
}

const MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAINING = 0x08 | 0x10;

// ---------- clients ----------

function localServer(body: (req: unknown) => string): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      const b = body(req);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(b) });
      res.end(b);
    });
    s.keepAliveTimeout = 65_000;
    servers.push(s);
    s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
  });
}

function get(agent: HttpAgent, port: number, host = '127.0.0.1'): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

/** Keep-alive load on the listener until stopped: counts answers, errors and non-2xx. */
function load(port: number, concurrency = 8) {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const c = { ok: 0, non2xx: 0, errors: 0, samples: [] as string[] };
  let on = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (on) {
      const r = await get(agent, port);
      if ('status' in r && r.status >= 200 && r.status < 300) c.ok++;
      else {
        if ('status' in r) c.non2xx++;
        else c.errors++;
        if (c.samples.length < 5) c.samples.push(JSON.stringify(r).slice(0, 200));
      }
    }
  });
  return { counts: c, stop: async () => { on = false; await Promise.all(loops); agent.destroy(); return c; } };
}

function wrk(url: string): Promise<{ rps: number; non2xx: number; errors: number; raw: string }> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t2', '-c32', `-d${WRK_SECONDS}s`, url], { encoding: 'utf8' }, (err, out) => {
      if (err) return reject(err);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({ rps, non2xx, errors: se ? se.slice(1).reduce((s, x) => s + Number(x), 0) : 0, raw: out });
    });
  });
}

// ---------- the cluster's objects ----------

async function targetGroup(name: string, deregDelay: number): Promise<string> {
  const tg = await aws<{ TargetGroups: { TargetGroupArn: string }[] }>([
    'elbv2', 'create-target-group', '--name', name, '--protocol', 'HTTP', '--port', '80', '--vpc-id', 'vpc-1', '--target-type', 'instance',
    '--health-check-path', '/', '--health-check-interval-seconds', '5', '--health-check-timeout-seconds', '2', '--healthy-threshold-count', '2', '--unhealthy-threshold-count', '2',
  ]);
  const arn = tg.TargetGroups[0]!.TargetGroupArn;
  await aws(['elbv2', 'modify-target-group-attributes', '--target-group-arn', arn, '--attributes', `Key=deregistration_delay.timeout_seconds,Value=${deregDelay}`]);
  return arn;
}

async function listener(lbArn: string, actions: string): Promise<number> {
  const port = await freePort();
  await aws(['elbv2', 'create-listener', '--load-balancer-arn', lbArn, '--protocol', 'HTTP', '--port', String(port), '--default-actions', actions]);
  return port;
}

async function healthyCount(tgArn: string): Promise<number> {
  const h = await aws<{ TargetHealthDescriptions: { TargetHealth: { State: string } }[] }>(['elbv2', 'describe-target-health', '--target-group-arn', tgArn]);
  return h.TargetHealthDescriptions.filter((d) => d.TargetHealth.State === 'healthy').length;
}

interface TaskJ { taskArn: string; lastStatus: string; containerInstanceArn?: string; containers: { networkBindings?: { hostPort: number; bindIP?: string }[] }[] }

async function serviceTasks(): Promise<TaskJ[]> {
  const l = await aws<{ taskArns: string[] }>(['ecs', 'list-tasks', '--cluster', 'default', '--service-name', 'web']);
  if (l.taskArns.length === 0) return [];
  return (await aws<{ tasks: TaskJ[] }>(['ecs', 'describe-tasks', '--cluster', 'default', '--tasks', ...l.taskArns])).tasks;
}

async function deploymentDone(): Promise<boolean> {
  const d = await aws<{ services: { deployments: { rolloutState: string }[]; runningCount: number }[] }>(['ecs', 'describe-services', '--cluster', 'default', '--services', 'web']);
  const s = d.services[0]!;
  return s.deployments.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED';
}

// ---------- main ----------

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`config ${JSON.stringify({ cycles: CYCLES, requests: REQUESTS, wrkSeconds: WRK_SECONDS, drain: DRAIN, replicas: 10 })}`);
  await cluster.start();
  const r = await berth(cluster.server, ['apitoken', 'create', 'bench-lb', '--role', 'admin', '--aws']);
  key = { id: /^aws_access_key_id = (\S+)$/m.exec(r.stdout)![1]!, secret: /^aws_secret_access_key = (\S+)$/m.exec(r.stdout)![1]! };
  awsDir = join(cluster.work, 'aws');
  mkdirSync(awsDir, { recursive: true });
  writeFileSync(join(awsDir, 'config'), '');
  writeFileSync(join(awsDir, 'credentials'), '');
  const nodeOf = async () => (await berthJson<{ containerInstances: { nodeId: string; containerInstanceArn: string }[] }>(cluster.server, ['node', 'ls'])).containerInstances;
  const node1 = (await nodeOf())[0]!;
  const socket = join(cluster.agentDataDir, 'proxy', 'haproxy.sock');

  let node2: { nodeId: string; containerInstanceArn: string } | undefined;
  if (DRAIN) {
    const token = await cluster.createToken();
    agent2 = new BerthProcess('agent2', 'apps/agent/dist/main.js', ['--server', cluster.server, '--data-dir', agent2Dir, '--bind-ip', '127.0.0.2', '--log-level', 'info', '--stats-interval', '2', '--token', token]);
    node2 = await waitFor('the second agent connected', async () => {
      const ns = await nodeOf().catch(() => []);
      return ns.length === 2 ? ns.find((n) => n.nodeId !== node1.nodeId) : undefined;
    }, 90_000).catch((e: Error) => {
      say(`second agent did not join: ${e.message}\n${agent2?.tail(30)}`);
      return undefined;
    });
    if (node2) say(`second agent ${node2.nodeId} on 127.0.0.2`);
  }

  const lb = await aws<{ LoadBalancers: { LoadBalancerArn: string }[] }>(['elbv2', 'create-load-balancer', '--name', 'bench', '--subnets', node1.nodeId, '--type', 'application']);
  const lbArn = lb.LoadBalancers[0]!.LoadBalancerArn;
  const [tgEp, tgWeb, tgA, tgB, tgOne] = [await targetGroup('ep', 0), await targetGroup('web', 5), await targetGroup('wa', 0), await targetGroup('wb', 0), await targetGroup('one', 0)];
  const epPorts = await Promise.all([1, 2, 3, 4].map(() => localServer(() => 'ep\n')));
  const portA = await localServer(() => 'A');
  const portB = await localServer(() => 'B');
  await listener(lbArn, `Type=forward,TargetGroupArn=${tgEp}`);
  const lWeb = await listener(lbArn, `Type=forward,TargetGroupArn=${tgWeb}`);
  const lWeighted = await listener(lbArn, JSON.stringify([{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tgA, Weight: 90 }, { TargetGroupArn: tgB, Weight: 10 }] } }]));
  const lOne = await listener(lbArn, `Type=forward,TargetGroupArn=${tgOne}`);
  await aws(['elbv2', 'register-targets', '--target-group-arn', tgA, '--targets', `Id=${node1.nodeId},Port=${portA}`]);
  await aws(['elbv2', 'register-targets', '--target-group-arn', tgB, '--targets', `Id=${node1.nodeId},Port=${portB}`]);
  await waitFor('HAProxy up', async () => (await serversState(socket)).length > 0 || undefined, 30_000);

  // 1. Endpoint changes: register / deregister by hand, timed at HAProxy's socket.
  const add: number[] = [];
  const remove: number[] = [];
  const api: number[] = [];
  const find = async (port: number) => (await serversState(socket)).find((s) => s.port === port && (s.addr === '127.0.0.1' || s.addr.startsWith('127.')) && epPorts.includes(s.port));
  for (let i = 0; i < CYCLES; i++) {
    const port = epPorts[i % epPorts.length]!;
    // The previous registration of this port is gone from HAProxy (deleted once drained).
    await waitFor(`server ${port} deleted`, async () => ((await find(port)) === undefined ? true : undefined), 30_000, 10);
    const target = { TargetGroupArn: tgEp, 'Targets.member.1.Id': node1.nodeId, 'Targets.member.1.Port': String(port) };
    let t0 = performance.now();
    await elbv2({ Action: 'RegisterTargets', ...target });
    api.push(performance.now() - t0);
    for (;;) {
      const s = await find(port);
      if (s && !(s.admin & MAINT)) break;
      if (performance.now() - t0 > 30_000) throw new Error(`server ${port} never added`);
      await sleep(5);
    }
    add.push(performance.now() - t0);
    t0 = performance.now();
    await elbv2({ Action: 'DeregisterTargets', ...target });
    api.push(performance.now() - t0);
    for (;;) {
      const s = await find(port);
      if (!s || s.admin & (MAINT | DRAINING)) break;
      if (performance.now() - t0 > 30_000) throw new Error(`server ${port} never drained`);
      await sleep(5);
    }
    remove.push(performance.now() - t0);
  }
  const all = stats([...add, ...remove]);
  const a = stats(add);
  const d = stats(remove);
  const ap = stats(api);
  say(`endpoint changes: ${all.n} (${a.n} register -> server added and enabled, p50 ${round(a.p50)} p99 ${round(a.p99)} ms; ${d.n} deregister -> DRAIN/MAINT/gone, p50 ${round(d.p50)} p99 ${round(d.p99)} ms); the API call alone p50 ${round(ap.p50)} p99 ${round(ap.p99)} ms`);
  figure('endpoint_change_ms_p50', round(all.p50), 'ms');
  figure('endpoint_change_ms_p99', round(all.p99), 'ms');
  figure('endpoint_register_ms_p99', round(a.p99), 'ms');
  figure('endpoint_deregister_ms_p99', round(d.p99), 'ms');
  figure('endpoint_changes', all.n, 'changes');

  // A 10-replica service behind the web listener.
  const td = join(cluster.work, 'web-td.json');
  writeFileSync(td, JSON.stringify({
    family: 'bench-web',
    containerDefinitions: [{
      name: 'app', image: TEST_IMAGE, memory: 32, essential: true, portMappings: [{ containerPort: 8080, hostPort: 0 }],
      command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'], stopTimeout: 5,
    }],
  }));
  await aws(['ecs', 'register-task-definition', '--cli-input-json', `file://${td}`]);
  await aws(['ecs', 'create-service', '--cluster', 'default', '--service-name', 'web', '--task-definition', 'bench-web', '--desired-count', '10', '--load-balancers', `targetGroupArn=${tgWeb},containerName=app,containerPort=8080`]);
  const t10 = performance.now();
  await waitFor('10 healthy web targets', async () => ((await healthyCount(tgWeb)) === 10 ? true : undefined), 180_000, 1000);
  say(`10 replicas healthy behind the load balancer after ${round((performance.now() - t10) / 1000)} s`);
  const perNode = (ts: TaskJ[]) => {
    const m: Record<string, number> = {};
    for (const t of ts) if (t.lastStatus === 'RUNNING') m[t.containerInstanceArn?.split('/').pop() ?? '?'] = (m[t.containerInstanceArn?.split('/').pop() ?? '?'] ?? 0) + 1;
    return m;
  };
  let tasks = await serviceTasks();
  say(`running tasks per node: ${JSON.stringify(perNode(tasks))}`);

  // 4. Weighted forward 90/10.
  await waitFor('both weighted targets healthy', async () => ((await healthyCount(tgA)) === 1 && (await healthyCount(tgB)) === 1 ? true : undefined), 60_000, 500);
  {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
    const by: Record<string, number> = {};
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next++ < REQUESTS) {
        const r = await get(agent, lWeighted);
        const k = 'status' in r ? (r.status === 200 ? r.body : `status ${r.status}`) : 'error';
        by[k] = (by[k] ?? 0) + 1;
      }
    }));
    agent.destroy();
    const total = Object.values(by).reduce((s, x) => s + x, 0);
    const pctA = (100 * (by.A ?? 0)) / total;
    say(`weighted 90/10: ${JSON.stringify(by)} of ${total}: A ${round(pctA, 2)}%`);
    figure('weight_error_pct', round(Math.abs(pctA - 90), 2), 'pp');
    figure('weight_a_pct', round(pctA, 2), '%');
  }

  // 3. Proxy vs direct: one container, through a target group holding only it, and straight to its port.
  {
    const one = tasks.find((t) => t.lastStatus === 'RUNNING' && t.containers[0]?.networkBindings?.[0] && (t.containers[0].networkBindings[0].bindIP ?? '127.0.0.1') === '127.0.0.1' && (!node2 || t.containerInstanceArn?.endsWith(node1.nodeId)))
      ?? tasks.find((t) => t.lastStatus === 'RUNNING' && t.containers[0]?.networkBindings?.[0])!;
    const binding = one.containers[0]!.networkBindings![0]!;
    const ip = binding.bindIP && binding.bindIP !== '0.0.0.0' ? binding.bindIP : '127.0.0.1';
    const nodeOfOne = one.containerInstanceArn?.split('/').pop() ?? node1.nodeId;
    await aws(['elbv2', 'register-targets', '--target-group-arn', tgOne, '--targets', `Id=${nodeOfOne},Port=${binding.hostPort}`]);
    await waitFor('the one-container target healthy', async () => ((await healthyCount(tgOne)) === 1 ? true : undefined), 60_000, 500);
    const direct = await wrk(`http://${ip}:${binding.hostPort}/`);
    const proxied = await wrk(`http://127.0.0.1:${lOne}/`);
    const proxied10 = await wrk(`http://127.0.0.1:${lWeb}/`);
    say(`wrk -t2 -c32 -d${WRK_SECONDS}s: direct ${ip}:${binding.hostPort} ${direct.rps} req/s (${direct.non2xx} non-2xx, ${direct.errors} socket errors); proxy -> that container ${proxied.rps} req/s (${proxied.non2xx} non-2xx, ${proxied.errors} socket errors); proxy -> 10 replicas ${proxied10.rps} req/s (${proxied10.non2xx} non-2xx, ${proxied10.errors} socket errors)`);
    figure('direct_rps', round(direct.rps), 'req/s');
    figure('proxy_rps', round(proxied.rps), 'req/s');
    figure('proxy_direct_ratio', round(proxied.rps / direct.rps, 2), 'x');
    figure('proxy_10_replicas_rps', round(proxied10.rps), 'req/s');
    await aws(['elbv2', 'deregister-targets', '--target-group-arn', tgOne, '--targets', `Id=${nodeOfOne},Port=${binding.hostPort}`]);
  }

  // The web backend's servers in HAProxy, sampled every 100 ms while a change runs: the fewest UP (op state 2, not draining) seen.
  const webBackend = await (async () => {
    const byBe = new Map<string, number>();
    for (const s of await serversState(socket)) byBe.set(s.backend, (byBe.get(s.backend) ?? 0) + (s.op === 2 ? 1 : 0));
    return [...byBe].find(([, n]) => n === 10)?.[0] ?? '';
  })();
  const sampler = () => {
    let on = true;
    let fewest = Infinity;
    const timeline: string[] = [];
    const t0 = performance.now();
    const run = (async () => {
      let last = '';
      while (on) {
        const ss = (await serversState(socket)).filter((s) => s.backend === webBackend);
        const up = ss.filter((s) => s.op === 2 && !(s.admin & (MAINT | DRAINING))).length;
        fewest = Math.min(fewest, up);
        const now = `${up} up/${ss.filter((s) => s.admin & DRAINING).length} drain/${ss.length} total`;
        if (now !== last) timeline.push(`${round((performance.now() - t0) / 1000)}s ${now}`);
        last = now;
        await sleep(100);
      }
    })();
    return async () => { on = false; await run; return { fewest, timeline }; };
  };

  // 2. Rolling update under load.
  {
    const l = load(lWeb);
    const stopSampler = sampler();
    const t0 = performance.now();
    say(`rolling update starts at ${new Date().toISOString()}`);
    await aws(['ecs', 'update-service', '--cluster', 'default', '--service', 'web', '--force-new-deployment']);
    await sleep(2000);
    await waitFor('the deployment completed', async () => ((await deploymentDone()) ? true : undefined), 300_000, 1000);
    await waitFor('only 10 tasks left', async () => ((await serviceTasks()).length === 10 ? true : undefined), 120_000, 1000);
    const c = await l.stop();
    const sm = await stopSampler();
    say(`rolling update: fewest servers UP in HAProxy ${sm.fewest}; HAProxy timeline ${sm.timeline.join(', ')}`);
    figure('min_up_servers_rolling', sm.fewest, 'servers');
    if (c.non2xx + c.errors > 0) {
      const ev = await aws<{ services: { events: { createdAt: string | number; message: string }[] }[] }>(['ecs', 'describe-services', '--cluster', 'default', '--services', 'web']);
      say(`rolling update: service events (newest first):\n  ${ev.services[0]!.events.slice(0, 25).map((e) => `${e.createdAt} ${e.message}`).join('\n  ')}`);
    }
    say(`rolling update of 10 (force-new-deployment) in ${round((performance.now() - t0) / 1000)} s under load: ${c.ok} answered 2xx, ${c.non2xx} non-2xx, ${c.errors} errors ${c.samples.join(' ')}`);
    figure('failed_requests_rolling', c.non2xx + c.errors, 'requests');
    figure('requests_rolling', c.ok + c.non2xx + c.errors, 'requests');
  }

  // 2b. Drain of the node holding part of them.
  if (node2) {
    tasks = await serviceTasks();
    const on2 = perNode(tasks)[node2.nodeId] ?? 0;
    say(`before drain: running tasks per node ${JSON.stringify(perNode(tasks))}`);
    const l = load(lWeb);
    const stopSampler = sampler();
    const t0 = performance.now();
    const dr = await berth(cluster.server, ['node', 'drain', node2.nodeId]);
    if (dr.code !== 0) throw new Error(`node drain: ${dr.stderr}`);
    await waitFor('no task left on the drained node, 10 running elsewhere', async () => {
      const ts = await serviceTasks();
      const m = perNode(ts);
      return !m[node2!.nodeId] && ts.length === 10 && (m[node1.nodeId] ?? 0) === 10 ? true : undefined;
    }, 300_000, 1000);
    const c = await l.stop();
    const sm = await stopSampler();
    say(`drain: fewest servers UP in HAProxy ${sm.fewest}; HAProxy timeline ${sm.timeline.join(', ')}`);
    figure('min_up_servers_drain', sm.fewest, 'servers');
    say(`drain of ${node2.nodeId} holding ${on2} of 10 in ${round((performance.now() - t0) / 1000)} s under load: ${c.ok} answered 2xx, ${c.non2xx} non-2xx, ${c.errors} errors ${c.samples.join(' ')}`);
    figure('failed_requests_drain', c.non2xx + c.errors, 'requests');
    figure('requests_drain', c.ok + c.non2xx + c.errors, 'requests');
    figure('drain_tasks_moved', on2, 'tasks');
  } else {
    figure('failed_requests_drain', 'not-measured', '(no second agent)');
  }

  figure('dns_change_ms_p99', 'not-measured', '(service discovery DNS is not built)');
}

async function cleanup(): Promise<void> {
  const pidFiles = [join(cluster.agentDataDir, 'proxy', 'haproxy.pid'), join(agent2Dir, 'proxy', 'haproxy.pid')];
  const nodeIds = [cluster.agentDataDir, agent2Dir].map((d) => (existsSync(join(d, 'node-id')) ? readFileSync(join(d, 'node-id'), 'utf8').trim() : '')).filter(Boolean);
  await agent2?.stop();
  const pids = pidFiles.filter(existsSync).map((f) => Number(readFileSync(f, 'utf8').trim()));
  httpsAgent?.destroy();
  for (const s of servers) s.closeAllConnections(), s.close();
  await cluster.stop();
  for (const pid of pids) {
    try {
      if (pid > 0) process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  for (const id of nodeIds) for (const c of docker(['ps', '-aq', '--filter', `label=berth.node-id=${id}`]).split('\n').filter(Boolean)) docker(['rm', '-f', '-v', c]);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`bench lb: failed: ${(err as Error).stack}\n${cluster.diagnostics()}`);
} finally {
  await cleanup().catch((e: Error) => console.error(`cleanup: ${e.message}`));
}
for (const f of figures) console.log(f);
process.exit(failed ? 1 : 0);
