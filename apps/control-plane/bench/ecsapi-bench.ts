/**
 * bench:ecsapi. The ECS endpoint (AWS JSON 1.1 + SigV4) under a load generator on loopback.
 *
 * The control plane runs as the product does: a child process
 * (`node apps/control-plane/dist/main.js`) with TLS on (the default: the cluster PKI made at
 * first start), so auth is on and every request's SigV4 signature is verified; on a durable
 * Postgres 15 started by the bench (fsync on), then on the embedded PGlite store. The ECS rate
 * limit per access key is raised to 1,000,000/s (`--ecs-rate-limit`): the default 100/s is a
 * protection, not what is measured.
 *
 * Set-up, all through the real interfaces: the bootstrap admin token (from
 * `--bootstrap-token-file`) makes two AWS access keys over the gRPC control API (what `berth
 * apitoken create --aws` does): an admin key for the set-up and a viewer key for the load.
 * CreateCluster; `--nodes` simulated agents (the real agent protocol over gRPC with mTLS, after a
 * real join with a join token) so tasks are placed and RUNNING; RegisterTaskDefinition (two
 * containers); 10 services of 1 task (CreateService); `--tasks` tasks by RunTask (count 10).
 *
 * Then (Postgres) VACUUM ANALYZE and CHECKPOINT, so autovacuum does not land in the window, and
 * 5 s idle (the loaded control plane's background CPU).
 *
 * Load: `--connections` keep-alive HTTPS connections from this process, a closed loop each,
 * cycling DescribeTasks (100 random task ARNs of the cluster), ListTasks (maxResults 100, each
 * connection walking the pages with nextToken, starting over at the end) and DescribeServices
 * (the 10 services), 1:1:1. Every request carries a fresh signature (client-side signing is not
 * timed: the latency is from the request being written to its response read); every 20th answer
 * is parsed and checked. Warm-up, then a `--duration` window (the headline figures). Then each
 * operation alone for 5 s (what one request costs the control plane and Postgres in CPU), and the
 * mix over one connection for 5 s (latency without queueing). Also measured: what signing costs
 * the client (node:crypto HMAC, the signer the bench uses by default; @smithy/signature-v4 as the
 * AWS SDK for JavaScript v3 uses it, with node:crypto and with @aws-crypto/sha256-js), the
 * control plane's CPU (user and kernel) and RSS (from /proc), Postgres's, this process's and the
 * whole machine's CPU in the window.
 *
 * Baseline in the same run: a bare node:https server in a child process (same certificate)
 * answering every request with a response of the same operation captured from the endpoint,
 * driven by the same client, mix and connections: what HTTPS + the client cost on this machine.
 *
 * Flags: --duration S (20), --warmup S (5), --connections N (8), --tasks N (10000), --nodes N
 * (20; 0: tasks stay PROVISIONING), --store postgres|pglite|both (both), --signer hmac|smithy
 * (hmac), --skip-baseline, --profile (the control plane runs under --cpu-prof; its hotspots are
 * printed; figures are then disturbed by the profiler).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import { AgentServiceClient, ControlServiceClient, CreateApiTokenRequest, CreateJoinTokenRequest, JoinRequest, type CreateApiTokenResponse, type CreateJoinTokenResponse, type JoinResponse } from '@berth/proto';
import { openDatabase } from '@berth/store';
import { machine, round, startTestPostgres, stats, waitFor } from '@berth/testing';
import { clientCredentials } from '@berth/transport';
import { createCsr } from '@berth/transport/pki';
import { Metadata } from '@grpc/grpc-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { SimulatedAgent } from '../src/test-support/simulated-agent.js';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    tasks: { type: 'string' },
    nodes: { type: 'string' },
    store: { type: 'string' },
    signer: { type: 'string' },
    'skip-baseline': { type: 'boolean' },
    profile: { type: 'boolean' },
  },
});
const DURATION_S = Number(flags.duration ?? 20);
const WARMUP_S = Number(flags.warmup ?? 5);
const CONNECTIONS = Number(flags.connections ?? 8);
const TASKS = Number(flags.tasks ?? 10_000);
const NODES = Number(flags.nodes ?? 20);
const STORES = flags.store === 'postgres' || flags.store === 'pglite' ? [flags.store] : ['postgres', 'pglite'];
const SIGNER = flags.signer === 'smithy' ? 'smithy' : 'hmac';
const PROFILE = flags.profile === true;
const SERVICES = 10;
const CLUSTER = 'bench';
const REGION = 'us-east-1';
const JSON_11 = 'application/x-amz-json-1.1';
const TARGET = 'AmazonEC2ContainerServiceV20141113';
const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');
const MAIN = join(repoRoot, 'apps/control-plane/dist/main.js');
const say = (s: string) => console.log(`bench ecsapi: ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Op = 'DescribeTasks' | 'ListTasks' | 'DescribeServices';
const OPS: Op[] = ['DescribeTasks', 'ListTasks', 'DescribeServices'];

// ---------------------------------------------------------------------------------------------
// Signing

interface Signer {
  sign(op: string, body: string): Promise<Record<string, string>> | Record<string, string>;
}

const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const SIGNED_HEADERS = 'content-type;host;x-amz-date;x-amz-target';

/** SigV4 in a few lines of node:crypto, signing what the AWS CLI signs (content-type, host, x-amz-date, x-amz-target). */
class HmacSigner implements Signer {
  private day = '';
  private key = Buffer.alloc(0);
  constructor(
    private readonly keyId: string,
    private readonly secret: string,
    private readonly host: string,
  ) {}

  sign(op: string, body: string): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
    const day = amzDate.slice(0, 8);
    if (day !== this.day) {
      // Derived once a day, as the SDKs cache it.
      let k = createHmac('sha256', `AWS4${this.secret}`).update(day).digest();
      for (const part of [REGION, 'ecs', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
      this.key = k;
      this.day = day;
    }
    const target = `${TARGET}.${op}`;
    const canonical = `POST\n/\n\ncontent-type:${JSON_11}\nhost:${this.host}\nx-amz-date:${amzDate}\nx-amz-target:${target}\n\n${SIGNED_HEADERS}\n${sha256hex(body)}`;
    const scope = `${day}/${REGION}/ecs/aws4_request`;
    const signature = createHmac('sha256', this.key).update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256hex(canonical)}`).digest('hex');
    return {
      'content-type': JSON_11,
      host: this.host,
      'x-amz-date': amzDate,
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=${this.keyId}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
    };
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): Buffer => (typeof d === 'string' ? Buffer.from(d, 'utf8') : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d));

/** SHA-256 / HMAC on node:crypto in the shape the smithy signer takes (what @smithy/hash-node does for the SDK in Node). */
class NodeSha256 {
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.h = this.make();
  }
  private make() {
    return this.secret ? createHmac('sha256', bytes(this.secret)) : createHash('sha256');
  }
  update(d: SourceData): void {
    this.h.update(bytes(d));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.make();
  }
}

/** @smithy/signature-v4, as the AWS SDK for JavaScript v3 signs an ECS request. */
class SmithySigner implements Signer {
  private readonly signer: SignatureV4;
  constructor(
    keyId: string,
    secret: string,
    private readonly host: string,
    hash: 'node' | 'js',
  ) {
    this.signer = new SignatureV4({ service: 'ecs', region: REGION, credentials: { accessKeyId: keyId, secretAccessKey: secret }, sha256: hash === 'node' ? NodeSha256 : Sha256 });
  }

  async sign(op: string, body: string): Promise<Record<string, string>> {
    const [hostname, port] = this.host.split(':') as [string, string];
    const signed = await this.signer.sign({
      method: 'POST', protocol: 'https:', hostname, port: Number(port), path: '/', query: {},
      headers: { host: this.host, 'content-type': JSON_11, 'x-amz-target': `${TARGET}.${op}` },
      body,
    });
    return signed.headers;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTPS client

interface Reply {
  status: number;
  body: Buffer;
  ms: number;
  start: number;
}

class EcsClient {
  readonly agent: Agent;
  constructor(
    private readonly port: number,
    caPem: string,
    private readonly signer: Signer,
    connections: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, ca: caPem });
  }

  async post(op: string, input: unknown): Promise<Reply> {
    const body = JSON.stringify(input);
    const headers = await this.signer.sign(op, body);
    return new Promise<Reply>((resolve, reject) => {
      const start = performance.now();
      const req = request({ agent: this.agent, host: '127.0.0.1', port: this.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - start, start }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A call that must succeed (set-up). */
  async call<T = Record<string, unknown>>(op: string, input: unknown): Promise<T> {
    const r = await this.post(op, input);
    if (r.status !== 200) throw new Error(`${op}: HTTP ${r.status}: ${r.body.toString().slice(0, 500)}`);
    return JSON.parse(r.body.toString()) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: CPU and memory from /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in ms (undefined when it is gone). */
function cpuMsOf(pid: number): number | undefined {
  const t = cpuTimesOf(pid);
  return t && t.user + t.sys;
}

/** utime and stime of a process, in ms. */
function cpuTimesOf(pid: number): { user: number; sys: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(f[11]) * 1000) / CLK_TCK, sys: (Number(f[12]) * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The postmaster serving this port and its children (backends, writer, WAL writer...). */
function postgresPids(port: number): number[] {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map<number, number>();
  let postmaster: number | undefined;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (postmaster === undefined && stat.includes('(postgres)') && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(` -p ${port} `)) postmaster = pid;
    } catch {
      // gone
    }
  }
  if (postmaster === undefined) return [];
  return [postmaster, ...pids.filter((p) => parent.get(p) === postmaster)];
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

interface CpuSample {
  at: number;
  /** CLOCK_MONOTONIC in us: the clock of V8's CPU profiles (to cut a profile to the window). */
  monoUs: number;
  cp: number;
  cpSys: number;
  pg: Map<number, number>;
  self: number;
  machine: { busy: number; total: number };
}

function sampleCpu(cpPid: number, pgPort: number | undefined): CpuSample {
  const pg = new Map<number, number>();
  if (pgPort !== undefined) for (const pid of postgresPids(pgPort)) pg.set(pid, cpuMsOf(pid) ?? 0);
  const u = process.cpuUsage();
  const cp = cpuTimesOf(cpPid) ?? { user: 0, sys: 0 };
  return { at: performance.now(), monoUs: Number(process.hrtime.bigint() / 1000n), cp: cp.user + cp.sys, cpSys: cp.sys, pg, self: (u.user + u.system) / 1000, machine: machineTicks() };
}

function cpuBetween(a: CpuSample, b: CpuSample) {
  const wall = b.at - a.at;
  let pg = 0;
  for (const [pid, ms] of b.pg) pg += ms - (a.pg.get(pid) ?? 0);
  return {
    windowUs: [a.monoUs, b.monoUs] as [number, number],
    wallMs: wall,
    cpCores: (b.cp - a.cp) / wall,
    cpMs: b.cp - a.cp,
    /** The kernel's share of the control plane's CPU (socket writes and reads, TCP on loopback). */
    cpSysShare: (b.cpSys - a.cpSys) / Math.max(1e-9, b.cp - a.cp),
    pgCores: pg / wall,
    selfCores: (b.self - a.self) / wall,
    machineBusyCores: ((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * cpus().length,
  };
}

// ---------------------------------------------------------------------------------------------
// The control plane, as a child process

interface Child {
  proc: ChildProcess;
  dataDir: string;
  grpcPort: number;
  ecsPort: number;
  caPem: string;
  bootstrapToken: string;
  tail: string[];
  exited: Promise<number | null>;
}

async function startChild(pgUrl: string | undefined, profileDir: string | undefined): Promise<Child> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-ecsapi-bench-'));
  const tokenFile = join(dataDir, 'bootstrap-token');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === 'DATABASE_URL' || k.startsWith('BERTH_')) delete env[k];
  const args = [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    MAIN, '--listen', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--ecs-port', '0', '--ecs-rate-limit', '1000000', '--region', REGION,
    '--data-dir', dataDir, '--bootstrap-token-file', tokenFile, '--log-level', 'info', ...(pgUrl ? ['--database-url', pgUrl] : []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ready = new Promise<{ grpc: number; ecs: number }>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      if (!line.includes('control plane ready')) return;
      const m = JSON.parse(line) as { grpc: string; ecs: string };
      resolve({ grpc: Number(m.grpc.split(':').pop()), ecs: Number(m.ecs.split(':').pop()) });
    });
    createInterface({ input: proc.stderr! }).on('line', keep);
    void exited.then((code) => reject(new Error(`the control plane exited (${code}) before it was ready:\n${tail.join('\n')}`)));
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  const ports = await ready;
  clearTimeout(timer);
  return {
    proc, dataDir, grpcPort: ports.grpc, ecsPort: ports.ecs, tail, exited,
    caPem: readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'),
    bootstrapToken: readFileSync(tokenFile, 'utf8').trim(),
  };
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode === null) {
    c.proc.kill('SIGTERM');
    const killer = setTimeout(() => c.proc.kill('SIGKILL'), 30_000);
    await c.exited;
    clearTimeout(killer);
  }
}

function unary<Res>(call: (cb: (err: Error | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => call((err, res) => (err ? reject(err) : resolve(res))));
}

// ---------------------------------------------------------------------------------------------
// Set-up

interface Loaded {
  taskArns: string[];
  serviceNames: string[];
  nodes: SimulatedAgent[];
  clients: AgentServiceClient[];
  keys: { admin: { id: string; secret: string }; viewer: { id: string; secret: string } };
}

async function setUp(c: Child): Promise<Loaded> {
  const control = new ControlServiceClient(`localhost:${c.grpcPort}`, clientCredentials({ caPem: c.caPem, token: c.bootstrapToken }));
  const key = async (name: string, role: string) => {
    const r = await unary<CreateApiTokenResponse>((cb) => control.createApiToken(CreateApiTokenRequest.fromPartial({ name, role, aws: true }), cb));
    return { id: r.accessKeyId, secret: r.secretAccessKey };
  };
  const keys = { admin: await key('ecsapi-bench-setup', 'admin'), viewer: await key('ecsapi-bench-load', 'viewer') };
  const host = `127.0.0.1:${c.ecsPort}`;
  const admin = new EcsClient(c.ecsPort, c.caPem, new HmacSigner(keys.admin.id, keys.admin.secret, host), 8);
  const t0 = performance.now();
  try {
    await admin.call('CreateCluster', { clusterName: CLUSTER });

    // Nodes: a join token, a real join (CSR -> node certificate), then the agent protocol over mTLS.
    const nodes: SimulatedAgent[] = [];
    const clients: AgentServiceClient[] = [];
    if (NODES > 0) {
      const tok = await unary<CreateJoinTokenResponse>((cb) => control.createJoinToken(CreateJoinTokenRequest.fromPartial({ cluster: CLUSTER, ttlSeconds: 3600, uses: 0 }), cb));
      const joiner = new AgentServiceClient(`localhost:${c.grpcPort}`, clientCredentials({ caPem: c.caPem }));
      for (let i = 0; i < NODES; i++) {
        const { keyPem, csrPem } = createCsr(`sim-${i}`);
        const joined = await unary<JoinResponse>((cb) => joiner.join(JoinRequest.fromPartial({ token: tok.token, csrPem, hostname: `sim-${i}` }), new Metadata(), cb));
        const client = new AgentServiceClient(`localhost:${c.grpcPort}`, clientCredentials({ caPem: c.caPem, keyPem, certPem: joined.certPem }));
        clients.push(client);
        nodes.push(new SimulatedAgent(client, {
          heartbeatMs: 5000,
          hello: {
            labels: {},
            facts: { hostname: `sim-${i}`, os: 'linux', osVersion: 'Debian 12', kernel: '6.1', arch: 'amd64', cpuCores: 16, cpuModel: 'sim', memoryMib: 65536, diskTotalMib: 500_000, dockerVersion: '27.0', registeredCpu: 16384, registeredMemoryMib: 65536, deviceModel: '' },
          },
        }));
      }
      joiner.close();
      await Promise.all(nodes.map((n) => n.ready()));
      say(`${NODES} simulated nodes joined (mTLS) in ${round((performance.now() - t0) / 1000, 1)} s`);
    }

    await admin.call('RegisterTaskDefinition', {
      family: 'bench-web',
      containerDefinitions: [
        { name: 'web', image: 'public.ecr.aws/nginx/nginx:1.27', cpu: 16, memory: 64, essential: true, portMappings: [{ containerPort: 80, protocol: 'tcp' }], environment: [{ name: 'MODE', value: 'bench' }, { name: 'LOG_LEVEL', value: 'info' }] },
        { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', cpu: 8, memory: 32, essential: false },
      ],
    });
    const serviceNames = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
    for (const s of serviceNames) await admin.call('CreateService', { cluster: CLUSTER, serviceName: s, taskDefinition: 'bench-web', desiredCount: 1 });

    // RunTask, count 10, four calls in flight.
    const t1 = performance.now();
    const runMs: number[] = [];
    let next = 0;
    const calls = Math.ceil(TASKS / 10);
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < calls) {
        const i = next++;
        const count = Math.min(10, TASKS - i * 10);
        const s = performance.now();
        const r = await admin.call<{ tasks: unknown[]; failures: unknown[] }>('RunTask', { cluster: CLUSTER, taskDefinition: 'bench-web', count, startedBy: 'ecsapi-bench' });
        runMs.push(performance.now() - s);
        if (r.tasks.length !== count) throw new Error(`RunTask: ${r.tasks.length} tasks of ${count}: ${JSON.stringify(r.failures).slice(0, 300)}`);
      }
    }));
    const rs = stats(runMs);
    say(`${TASKS} tasks by ${calls} RunTask calls (count 10, 4 in flight) in ${round((performance.now() - t1) / 1000, 1)} s: RunTask p50 ${round(rs.p50)} ms, p99 ${round(rs.p99)} ms`);

    const total = TASKS + SERVICES;
    if (NODES > 0) {
      await waitFor('the simulated nodes run every task', async () => (nodes.reduce((n, a) => n + a.running().length, 0) >= total ? true : undefined), 300_000, 200);
    }
    // Every task ARN of the cluster, and (with nodes) every task RUNNING as the control plane sees it.
    const t2 = performance.now();
    let taskArns: string[] = [];
    await waitFor('the control plane sees every task as expected', async () => {
      taskArns = [];
      let token: string | undefined;
      do {
        const p: { taskArns: string[]; nextToken?: string } = await admin.call('ListTasks', { cluster: CLUSTER, maxResults: 100, nextToken: token });
        taskArns.push(...p.taskArns);
        token = p.nextToken;
      } while (token);
      if (taskArns.length !== total) return undefined;
      if (NODES === 0) return true;
      let running = 0;
      for (let i = 0; i < taskArns.length; i += 100) {
        const d: { tasks: { lastStatus: string }[] } = await admin.call('DescribeTasks', { cluster: CLUSTER, tasks: taskArns.slice(i, i + 100) });
        running += d.tasks.filter((t) => t.lastStatus === 'RUNNING').length;
      }
      return running === total ? true : undefined;
    }, 300_000, 500);
    say(`${taskArns.length} tasks ${NODES > 0 ? `RUNNING on ${NODES} nodes` : 'PROVISIONING (no nodes)'} (checked in ${round((performance.now() - t2) / 1000, 1)} s); set-up took ${round((performance.now() - t0) / 1000, 1)} s`);
    return { taskArns, serviceNames, nodes, clients, keys };
  } finally {
    admin.close();
    control.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadResult {
  perOp: Record<Op, number[]>;
  bytes: Record<Op, number>;
  requests: number;
  errors: number;
  errorSamples: string[];
  windowS: number;
  cpu?: ReturnType<typeof cpuBetween>;
  canned?: Record<Op, Buffer>;
}

function pick<T>(from: readonly T[], n: number): T[] {
  const out = new Set<T>();
  while (out.size < Math.min(n, from.length)) out.add(from[Math.floor(Math.random() * from.length)]!);
  return [...out];
}

async function load(client: EcsClient, l: Pick<Loaded, 'taskArns' | 'serviceNames'>, o: { warmupS: number; durationS: number; connections: number; cpu?: { pid: number; pgPort?: number }; check: boolean; ops?: Op[] }): Promise<LoadResult> {
  const ops = o.ops ?? OPS;
  const perOp: Record<Op, number[]> = { DescribeTasks: [], ListTasks: [], DescribeServices: [] };
  const bytes: Record<Op, number> = { DescribeTasks: 0, ListTasks: 0, DescribeServices: 0 };
  const canned: Partial<Record<Op, Buffer>> = {};
  let errors = 0;
  const errorSamples: string[] = [];
  const t0 = performance.now();
  const from = t0 + o.warmupS * 1000;
  const to = from + o.durationS * 1000;
  let before: CpuSample | undefined;
  let after: CpuSample | undefined;
  const timers = o.cpu
    ? [setTimeout(() => (before = sampleCpu(o.cpu!.pid, o.cpu!.pgPort)), from - t0), setTimeout(() => (after = sampleCpu(o.cpu!.pid, o.cpu!.pgPort)), to - t0)]
    : [];
  let n = 0;
  const fail = (what: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(what.slice(0, 300));
  };
  await Promise.all(Array.from({ length: o.connections }, async (_, w) => {
    let i = w;
    let token: string | undefined;
    while (performance.now() < to) {
      const op = ops[i++ % ops.length]!;
      const input =
        op === 'DescribeTasks' ? { cluster: CLUSTER, tasks: pick(l.taskArns, 100) }
        : op === 'ListTasks' ? { cluster: CLUSTER, maxResults: 100, ...(token ? { nextToken: token } : {}) }
        : { cluster: CLUSTER, services: l.serviceNames };
      let r: Reply;
      try {
        r = await client.post(op, input);
      } catch (err) {
        if (performance.now() >= from) fail(`${op}: ${(err as Error).message}`);
        continue;
      }
      const inWindow = r.start >= from && r.start + r.ms <= to;
      if (r.status !== 200) {
        if (inWindow) fail(`${op}: HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
        continue;
      }
      if (op === 'ListTasks') {
        // The walk's cursor, without parsing every page.
        const m = /"nextToken":("(?:[^"\\]|\\.)*")/.exec(r.body.toString('latin1'));
        token = m ? (JSON.parse(m[1]!) as string) : undefined;
      }
      canned[op] ??= r.body;
      if (o.check && n++ % 20 === 0) {
        const j = JSON.parse(r.body.toString()) as { tasks?: unknown[]; failures?: unknown[]; taskArns?: unknown[]; services?: unknown[] };
        const ok = op === 'DescribeTasks' ? j.tasks?.length === 100 && j.failures?.length === 0
          : op === 'ListTasks' ? (j.taskArns?.length ?? 0) > 0
          : j.services?.length === SERVICES && j.failures?.length === 0;
        if (!ok && inWindow) fail(`${op}: unexpected answer ${r.body.toString().slice(0, 200)}`);
      }
      if (!inWindow) continue;
      perOp[op].push(r.ms);
      bytes[op] += r.body.length;
    }
  }));
  for (const t of timers) clearTimeout(t);
  const requests = ops.reduce((s, op) => s + perOp[op].length, 0);
  return { perOp, bytes, requests, errors, errorSamples, windowS: o.durationS, cpu: before && after ? cpuBetween(before, after) : undefined, canned: canned as Record<Op, Buffer> };
}

// ---------------------------------------------------------------------------------------------
// Baseline: a bare HTTPS server answering canned responses

const BASELINE_SERVER = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
const { canned, cert, key } = JSON.parse(readFileSync(process.env.BASELINE_FILE, 'utf8'));
const bodies = Object.fromEntries(Object.entries(canned).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
const s = createServer({ cert, key }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    Buffer.concat(chunks);
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop();
    const body = bodies[op] ?? Buffer.from('{}');
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': body.length, 'x-amzn-RequestId': 'x', date: new Date().toUTCString() });
    res.end(body);
  });
});
s.keepAliveTimeout = 65000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

async function baseline(c: Pick<Child, 'caPem'>, cert: { certPem: string; keyPem: string }, canned: Record<Op, Buffer>, l: Pick<Loaded, 'taskArns' | 'serviceNames'>, keyId: string, secret: string): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ecsapi-baseline-'));
  const file = join(dir, 'baseline.json');
  writeFileSync(file, JSON.stringify({ cert: cert.certPem, key: cert.keyPem, canned: Object.fromEntries(Object.entries(canned).map(([k, v]) => [k, v.toString('base64')])) }), { mode: 0o600 });
  const proc = spawn(process.execPath, ['--input-type=module', '-e', BASELINE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BASELINE_FILE: file } });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).once('line', (line) => resolve(Number(line)));
      void exited.then(() => reject(new Error('the baseline server exited')));
    });
    const client = new EcsClient(port, c.caPem, SIGNER === 'smithy' ? new SmithySigner(keyId, secret, `127.0.0.1:${port}`, 'node') : new HmacSigner(keyId, secret, `127.0.0.1:${port}`), CONNECTIONS);
    try {
      return await load(client, l, { warmupS: Math.min(WARMUP_S, 3), durationS: Math.min(DURATION_S, 10), connections: CONNECTIONS, cpu: { pid: proc.pid! }, check: false });
    } finally {
      client.close();
    }
  } finally {
    proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Signing cost on the client

async function signingCost(l: Pick<Loaded, 'taskArns' | 'serviceNames'>): Promise<Record<'hmac' | 'smithy_node' | 'smithy_js', number>> {
  const host = '127.0.0.1:7402';
  const id = 'BKIA0123456789ABCDEF';
  const secret = 'q0Xr8yG+3b/ZkXc1mTn4W2e5Yh6Uj7Ik8Ol9Pa0Sd1Fg';
  const bodies = [
    ['DescribeTasks', JSON.stringify({ cluster: CLUSTER, tasks: l.taskArns.slice(0, 100) })],
    ['ListTasks', JSON.stringify({ cluster: CLUSTER, maxResults: 100, nextToken: 'eyJhIjpbIjAxSjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiXX0' })],
    ['DescribeServices', JSON.stringify({ cluster: CLUSTER, services: l.serviceNames })],
  ] as const;
  const signers = { hmac: new HmacSigner(id, secret, host), smithy_node: new SmithySigner(id, secret, host, 'node'), smithy_js: new SmithySigner(id, secret, host, 'js') };
  const out = { hmac: 0, smithy_node: 0, smithy_js: 0 };
  for (const [name, s] of Object.entries(signers) as [keyof typeof out, Signer][]) {
    for (let i = 0; i < 300; i++) await s.sign(bodies[i % 3]![0], bodies[i % 3]![1]); // warm
    const N = 3000;
    const t = performance.now();
    for (let i = 0; i < N; i++) await s.sign(bodies[i % 3]![0], bodies[i % 3]![1]);
    out[name] = ((performance.now() - t) * 1000) / N;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Profile summary

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The hottest functions and modules of a V8 CPU profile, counting only samples inside `window` (CLOCK_MONOTONIC us). */
function hotspots(file: string, window: [number, number] | undefined, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  let kept = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    kept++;
    // A sample stands for the time until the next one.
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  say(`profile: ${kept} of ${p.samples.length} samples${window ? ` in the measured window (profile ${round((p.endTime - p.startTime) / 1e6, 1)} s, window ${round((window[1] - window[0]) / 1e6, 1)} s)` : ''}`);
  const keyOf = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(`file://${repoRoot}/`, '').replace(/^.*node_modules\//, 'node_modules/');
    return url ? `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}` : f.functionName;
  };
  const selfBy = new Map<string, number>();
  const inclBy = new Map<string, number>();
  const pkgBy = new Map<string, number>();
  let total = 0;
  let idle = 0;
  // Inclusive time: a node's self time counts once for every distinct function on its stack.
  const walk = (id: number, stack: Map<string, number>) => {
    const k = keyOf(id);
    stack.set(k, (stack.get(k) ?? 0) + 1);
    const s = self.get(id) ?? 0;
    if (k === '(idle)') idle += s;
    else {
      total += s;
      selfBy.set(k, (selfBy.get(k) ?? 0) + s);
      for (const key of stack.keys()) inclBy.set(key, (inclBy.get(key) ?? 0) + s);
      const url = byId.get(id)!.callFrame.url;
      const pkg = !url ? k : url.startsWith('node:') ? 'node: (core)' : /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url.replace(`file://${repoRoot}/`, '').split('/').slice(0, 3).join('/');
      pkgBy.set(pkg, (pkgBy.get(pkg) ?? 0) + s);
    }
    for (const c of byId.get(id)!.children ?? []) walk(c, stack);
    const left = stack.get(k)! - 1;
    if (left === 0) stack.delete(k);
    else stack.set(k, left);
  };
  walk(p.nodes[0]!.id, new Map());
  // Where the time goes: each sample goes to the first kind of work, in this order, found anywhere on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const KINDS: [string, (f: { functionName: string; url: string }) => boolean][] = [
    ['garbage collector', (f) => f.functionName === '(garbage collector)'],
    ['(program)', (f) => f.functionName === '(program)'],
    ['postgres client: queries written to the socket, rows read and parsed', (f) => f.url.includes('node_modules/postgres/')],
    ['response write: string -> TLS socket (send)', (f) => f.url.includes('ecs-api/ecs-server.js') && f.functionName === 'send'],
    ['toWire (ecs-model)', (f) => f.url.includes('ecs-model/dist/wire.js')],
    ['validateInput (ecs-model)', (f) => f.url.includes('ecs-model/dist/validate.js')],
    ['SigV4 verification', (f) => f.url.includes('ecs-api/sigv4.js')],
    ['access keys (lookup, rate, role)', (f) => f.url.includes('ecs-api/access-keys.js')],
    ['request body read', (f) => f.url.includes('ecs-api/ecs-server.js') && f.functionName === 'readBody'],
    ['ECS views, ops and services', (f) => f.url.includes('ecs-api/ecs-views.js') || f.url.includes('ecs-api/ops/') || f.url.includes('control-plane/dist/services/')],
    ['store: row mapping', (f) => f.url.includes('libs/store/dist')],
    ['agent sessions (gRPC)', (f) => f.url.includes('@grpc/') || f.url.includes('libs/proto/') || f.url.includes('dist/sessions/')],
    ['node HTTP/TLS: requests read and parsed, sockets', (f) => /^node:(_http|_tls|tls|net|_stream|internal\/(http|tls|stream|streams|js_stream))/.test(f.url)],
    ['serve itself (JSON.parse/stringify inlined, other)', (f) => f.url.includes('ecs-api/ecs-server.js')],
  ];
  const byKind = new Map<string, number>();
  for (const [id, v] of self) {
    if (keyOf(id) === '(idle)') continue;
    let best = KINDS.length;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const k = KINDS.findIndex(([, test]) => test(f));
      if (k >= 0 && k < best) best = k;
    }
    const name = KINDS[best]?.[0] ?? 'other';
    byKind.set(name, (byKind.get(name) ?? 0) + v);
  }
  const pct = (v: number) => `${round((100 * v) / total, 1)}%`;
  say(`profile: ${round(total / 1000, 0)} ms on CPU, ${round(idle / 1000, 0)} ms idle`);
  say('profile: by kind of work (the first kind, in a fixed order, on the stack):');
  for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1])) say(`  ${pct(v).padStart(6)}  ${k}`);
  say('profile: self time by package/module:');
  for (const [k, v] of [...pkgBy].sort((a, b) => b[1] - a[1]).slice(0, 12)) say(`  ${pct(v).padStart(6)}  ${k}`);
  say('profile: top self time:');
  for (const [k, v] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, top)) say(`  ${pct(v).padStart(6)}  ${k}`);
  say('profile: top inclusive time (Berth code and libraries):');
  const ours = [...inclBy].filter(([k]) => / (apps|libs|node_modules)\//.test(k));
  for (const [k, v] of ours.sort((a, b) => b[1] - a[1]).slice(0, top + 10)) say(`  ${pct(v).padStart(6)}  ${k}`);
}

// ---------------------------------------------------------------------------------------------

interface StoreRun {
  store: string;
  result: LoadResult;
  idleCpCores: number;
  rssMb: number;
  rssPeakMb: number;
  rssLoadedMb: number;
  cert: { certPem: string; keyPem: string };
  caPem: string;
  loaded: Pick<Loaded, 'taskArns' | 'serviceNames'>;
  viewer: { id: string; secret: string };
  /** Each operation alone: what one request costs the control plane and Postgres. */
  alone: Record<Op, LoadResult>;
  /** The mix over one connection. */
  oneConnection: LoadResult;
}

const PER_OP_S = 5;

async function runStore(store: string, pgUrl: string | undefined, pgPort: number | undefined): Promise<StoreRun> {
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'berth-ecsapi-prof-')) : undefined;
  const t0 = performance.now();
  const child = await startChild(pgUrl, profileDir);
  say(`${store}: control plane pid ${child.proc.pid} ready in ${round((performance.now() - t0) / 1000, 1)} s (TLS, auth on, ECS port ${child.ecsPort})`);
  let loaded: Loaded | undefined;
  const windows: [string, [number, number]][] = [];
  try {
    loaded = await setUp(child);
    const cert = { certPem: readFileSync(join(child.dataDir, 'pki', 'server.crt'), 'utf8'), keyPem: readFileSync(join(child.dataDir, 'pki', 'server.key'), 'utf8') };
    if (pgUrl) {
      // What autovacuum would have done long before anyone reads a cluster loaded this fast: not inside the window.
      const t = performance.now();
      const db = await openDatabase({ url: pgUrl, maxConnections: 1 });
      await db.sql.unsafe('VACUUM ANALYZE');
      await db.sql.unsafe('CHECKPOINT');
      await db.close();
      say(`${store}: VACUUM ANALYZE and CHECKPOINT after the load (${round((performance.now() - t) / 1000, 1)} s)`);
    }
    // Settle, then what the loaded control plane spends with no API calls (controllers, heartbeats).
    await sleep(3000);
    const idle0 = sampleCpu(child.proc.pid!, pgPort);
    await sleep(5000);
    const idle = cpuBetween(idle0, sampleCpu(child.proc.pid!, pgPort));
    const rssLoadedMb = statusMb(child.proc.pid!, 'VmRSS');
    say(`${store}: idle with ${loaded.taskArns.length} tasks: control plane ${round(idle.cpCores * 100, 1)}% of a core${pgPort ? `, postgres ${round(idle.pgCores * 100, 1)}%` : ''}, RSS ${round(rssLoadedMb, 0)} MB`);

    const host = `127.0.0.1:${child.ecsPort}`;
    const signer = SIGNER === 'smithy' ? new SmithySigner(loaded.keys.viewer.id, loaded.keys.viewer.secret, host, 'node') : new HmacSigner(loaded.keys.viewer.id, loaded.keys.viewer.secret, host);
    // The signers agree with the endpoint's verifier (the load uses one of them).
    for (const s of [new SmithySigner(loaded.keys.viewer.id, loaded.keys.viewer.secret, host, 'node'), new HmacSigner(loaded.keys.viewer.id, loaded.keys.viewer.secret, host)]) {
      const probe = new EcsClient(child.ecsPort, child.caPem, s, 1);
      await probe.call('DescribeServices', { cluster: CLUSTER, services: loaded.serviceNames });
      probe.close();
    }
    const client = new EcsClient(child.ecsPort, child.caPem, signer, CONNECTIONS);
    say(`${store}: load: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up, ${DURATION_S} s measured, load average ${loadavg().map((x) => round(x, 2)).join(' ')}`);
    const result = await load(client, loaded, { warmupS: WARMUP_S, durationS: DURATION_S, connections: CONNECTIONS, cpu: { pid: child.proc.pid!, pgPort }, check: true });
    if (result.cpu) windows.push(['mixed', result.cpu.windowUs]);
    const alone = {} as Record<Op, LoadResult>;
    for (const op of OPS) {
      alone[op] = await load(client, loaded, { warmupS: 1, durationS: PER_OP_S, connections: CONNECTIONS, cpu: { pid: child.proc.pid!, pgPort }, check: true, ops: [op] });
      if (alone[op].cpu) windows.push([op, alone[op].cpu!.windowUs]);
    }
    client.close();
    // One connection: latency without queueing behind other requests.
    const single = new EcsClient(child.ecsPort, child.caPem, signer, 1);
    const oneConnection = await load(single, loaded, { warmupS: 1, durationS: PER_OP_S, connections: 1, cpu: { pid: child.proc.pid!, pgPort }, check: true });
    single.close();
    const rssMb = statusMb(child.proc.pid!, 'VmRSS');
    const rssPeakMb = statusMb(child.proc.pid!, 'VmHWM');
    say(`${store}: load average after ${loadavg().map((x) => round(x, 2)).join(' ')}`);
    return { store, result, alone, oneConnection, idleCpCores: idle.cpCores, rssMb, rssPeakMb, rssLoadedMb, cert, caPem: child.caPem, loaded: { taskArns: loaded.taskArns, serviceNames: loaded.serviceNames }, viewer: loaded.keys.viewer };
  } finally {
    for (const n of loaded?.nodes ?? []) n.end();
    for (const c of loaded?.clients ?? []) c.close();
    await stopChild(child);
    rmSync(child.dataDir, { recursive: true, force: true });
    if (profileDir) {
      const files = existsSync(profileDir) ? readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')) : [];
      if (files.length === 0) say(`${store}: no CPU profile was written`);
      for (const f of files) {
        say(`${store}: CPU profile ${join(profileDir, f)}`);
        for (const [label, w] of windows) {
          say(`${store}: profile of the ${label} window:`);
          hotspots(join(profileDir, f), w, label === 'mixed' ? 30 : 15);
        }
      }
    }
  }
}

function opStats(x: LoadResult) {
  return Object.fromEntries(OPS.map((op) => [op, stats(x.perOp[op])])) as Record<Op, ReturnType<typeof stats>>;
}

function describeRun(r: StoreRun): void {
  const x = r.result;
  const s = opStats(x);
  const one = opStats(r.oneConnection);
  say(`${r.store}: the mix over 1 connection (${PER_OP_S} s): ${Math.round(r.oneConnection.requests / r.oneConnection.windowS)}/s; ${OPS.map((op) => `${op} p50 ${round(one[op].p50)} ms, p99 ${round(one[op].p99)} ms`).join('; ')}; ${r.oneConnection.errors} errors`);
  for (const op of OPS) {
    const n = x.perOp[op].length;
    say(`${r.store}: ${op}: p50 ${round(s[op].p50)} ms, p99 ${round(s[op].p99)} ms, max ${round(Math.max(0, ...x.perOp[op]))} ms over ${n} requests, ${round(x.bytes[op] / Math.max(1, n) / 1024, 1)} KiB per response`);
  }
  if (x.cpu) {
    say(`${r.store}: CPU in the window: control plane ${round(x.cpu.cpCores, 2)} cores (${round((x.cpu.cpMs * 1000) / Math.max(1, x.requests), 0)} us per request, ${Math.round(x.cpu.cpSysShare * 100)}% in the kernel), ${r.store === 'postgres' ? `postgres ${round(x.cpu.pgCores, 2)} cores, ` : ''}load generator ${round(x.cpu.selfCores, 2)} cores, whole machine ${round(x.cpu.machineBusyCores, 2)} cores busy`);
  }
  say(`${r.store}: ${x.requests} requests in ${x.windowS} s (${Math.round(x.requests / x.windowS)}/s), ${x.errors} errors${x.errorSamples.length ? `: ${x.errorSamples.join(' | ')}` : ''}`);
  for (const op of OPS) {
    const a = r.alone[op];
    const st = stats(a.perOp[op]);
    const per = (ms: number) => Math.round((ms * 1000) / Math.max(1, a.requests));
    say(`${r.store}: ${op} alone (${PER_OP_S} s, ${CONNECTIONS} connections): ${Math.round(a.requests / a.windowS)}/s, p50 ${round(st.p50)} ms, p99 ${round(st.p99)} ms; per request: control plane ${a.cpu ? `${per(a.cpu.cpMs)} us CPU (${Math.round(a.cpu.cpSysShare * 100)}% kernel)` : '?'}${r.store === 'postgres' && a.cpu ? `, postgres ${per(a.cpu.pgCores * a.cpu.wallMs)} us` : ''}; ${a.errors} errors${a.errorSamples.length ? `: ${a.errorSamples.join(' | ')}` : ''}`);
  }
}

function report(r: StoreRun, suffix: string, base?: LoadResult): void {
  const x = r.result;
  const rps = x.requests / x.windowS;
  const s = opStats(x);
  const line = (metric: string, value: number, unit: string) => console.log(`bench ecsapi ${metric}${suffix} ${value} ${unit}`);
  line('requests_per_s', Math.round(rps), '1/s');
  line('describe_tasks_ms_p50', round(s.DescribeTasks.p50), 'ms');
  line('describe_tasks_ms_p99', round(s.DescribeTasks.p99), 'ms');
  line('list_tasks_ms_p50', round(s.ListTasks.p50), 'ms');
  line('list_tasks_ms_p99', round(s.ListTasks.p99), 'ms');
  line('describe_services_ms_p50', round(s.DescribeServices.p50), 'ms');
  line('describe_services_ms_p99', round(s.DescribeServices.p99), 'ms');
  line('errors', x.errors + r.oneConnection.errors + OPS.reduce((n, op) => n + r.alone[op].errors, 0), 'count');
  line('requests', x.requests, 'count');
  if (x.cpu) {
    line('cp_cpu_cores', round(x.cpu.cpCores, 2), 'cores');
    line('cp_cpu_us_per_request', Math.round((x.cpu.cpMs * 1000) / Math.max(1, x.requests)), 'us');
    if (r.store === 'postgres') line('postgres_cpu_cores', round(x.cpu.pgCores, 2), 'cores');
    line('client_cpu_cores', round(x.cpu.selfCores, 2), 'cores');
  }
  line('cp_idle_cpu_pct', round(r.idleCpCores * 100, 1), '%');
  line('cp_rss_mb', round(r.rssMb, 0), 'MB');
  line('cp_rss_peak_mb', round(r.rssPeakMb, 0), 'MB');
  for (const op of OPS) {
    const a = r.alone[op];
    const name = op.replace(/[A-Z]/g, (c, i: number) => `${i ? '_' : ''}${c.toLowerCase()}`);
    line(`${name}_alone_per_s`, Math.round(a.requests / a.windowS), '1/s');
    if (a.cpu) line(`${name}_cp_cpu_us`, Math.round((a.cpu.cpMs * 1000) / Math.max(1, a.requests)), 'us');
    if (a.cpu && r.store === 'postgres') line(`${name}_postgres_cpu_us`, Math.round((a.cpu.pgCores * a.cpu.wallMs * 1000) / Math.max(1, a.requests)), 'us');
  }
  const one = opStats(r.oneConnection);
  line('requests_per_s_1conn', Math.round(r.oneConnection.requests / r.oneConnection.windowS), '1/s');
  line('describe_tasks_ms_p50_1conn', round(one.DescribeTasks.p50), 'ms');
  line('describe_tasks_ms_p99_1conn', round(one.DescribeTasks.p99), 'ms');
  line('list_tasks_ms_p99_1conn', round(one.ListTasks.p99), 'ms');
  line('describe_services_ms_p99_1conn', round(one.DescribeServices.p99), 'ms');
  if (base) line('requests_vs_bare_https', round(rps / (base.requests / base.windowS), 2), 'x');
}

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`config ${JSON.stringify({ tasks: TASKS, services: SERVICES, nodes: NODES, connections: CONNECTIONS, warmupS: WARMUP_S, durationS: DURATION_S, mix: '1:1:1 DescribeTasks(100):ListTasks(100/page):DescribeServices(10)', signer: SIGNER, stores: STORES, tls: true, ecsRateLimit: 1_000_000, profile: PROFILE })}`);
  say(`load average at start ${loadavg().map((x) => round(x, 2)).join(' ')}`);
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the control plane first (npm run bench:ecsapi builds it)`);
  const runs: StoreRun[] = [];
  let base: LoadResult | undefined;
  for (const store of STORES) {
    const t = performance.now();
    if (store === 'postgres') {
      const pg = await startTestPostgres({ durable: true });
      if (!pg) throw new Error('bench:ecsapi needs Postgres 15 binaries or TEST_DATABASE_URL');
      try {
        const port = Number(new URL(pg.url).port);
        runs.push(await runStore('postgres', pg.url, port));
      } finally {
        await pg.stop();
      }
    } else {
      runs.push(await runStore('pglite', undefined, undefined));
    }
    say(`${store} run took ${Math.round((performance.now() - t) / 1000)} s`);
    if (!base && !flags['skip-baseline'] && !PROFILE) {
      const r = runs[runs.length - 1]!;
      base = await baseline(r, r.cert, r.result.canned!, r.loaded, r.viewer.id, r.viewer.secret);
      const bs = stats([...base.perOp.DescribeTasks]);
      say(`baseline (bare node:https server, canned responses, same client and mix): ${Math.round(base.requests / base.windowS)} requests/s, DescribeTasks p50 ${round(bs.p50)} ms, p99 ${round(bs.p99)} ms, server ${round(base.cpu?.cpCores ?? 0, 2)} cores, client ${round(base.cpu?.selfCores ?? 0, 2)} cores, ${base.errors} errors`);
    }
  }
  const sign = await signingCost(runs[0]!.loaded);
  say(`client signing cost per request (mix): node:crypto HMAC ${round(sign.hmac, 1)} us, @smithy/signature-v4 with node:crypto ${round(sign.smithy_node, 1)} us, with @aws-crypto/sha256-js ${round(sign.smithy_js, 1)} us`);
  say(`load average at end ${loadavg().map((x) => round(x, 2)).join(' ')}`);
  for (const r of runs) describeRun(r);
  for (const r of runs) report(r, r.store === 'postgres' ? '' : `_${r.store}`, r === runs[0] ? base : undefined);
  if (base) {
    console.log(`bench ecsapi bare_https_requests_per_s ${Math.round(base.requests / base.windowS)} 1/s`);
  }
  console.log(`bench ecsapi sign_us_hmac ${round(sign.hmac, 1)} us`);
  console.log(`bench ecsapi sign_us_smithy_node ${round(sign.smithy_node, 1)} us`);
  console.log(`bench ecsapi sign_us_smithy_js ${round(sign.smithy_js, 1)} us`);
}

await main();
process.exit(0);
