/**
 * bench:store — the control plane's state path against real Postgres and the
 * embedded PGlite: registering task definitions, recording task state
 * transitions from simulated agents in batches (the same function agent
 * sessions call), and ListTasks over 100,000 tasks with filters.
 *
 * Prints `bench store <metric> <value> <unit>` lines (PGlite figures carry a
 * `_pglite` suffix). `--full` runs the large configuration.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { newTaskId, systemClock, type Random } from '@berth/domain';
import { insertTasks, migrate, openDatabase, upsertNode, type ContainerRecord, type Database, type NewTask } from '@berth/store';
import { machine, round, startTestPostgres, stats } from '@berth/testing';
import { pino } from 'pino';
import type { AppContext } from '../src/services/context.js';
import { registerTaskDefinitionOp } from '../src/services/task-definitions.js';
import { applyTaskStatusReports, listTasksOp, type ReportedTaskStatus } from '../src/services/tasks.js';

const FULL = process.argv.includes('--full');
const SIZE = {
  taskDefinitions: 1_000,
  families: 100,
  nodes: FULL ? 1_000 : 100,
  tasks: FULL ? 500_000 : 100_000,
  /** Reports per agent message: a node reporting a burst of changes. */
  batch: Number(process.env.BENCH_BATCH ?? 200),
  /** Agents whose batches are being applied at once. */
  agentsInFlight: Number(process.env.BENCH_IN_FLIGHT ?? 8),
  listQueries: 600,
  pageSize: 100,
};

interface Figures {
  [metric: string]: { value: number; unit: string };
}

const random: Random = { next: Math.random, bytes: (n) => randomBytes(n) };
const log = pino({ level: 'silent' });


async function timed<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  samples.push(performance.now() - t0);
  return r;
}

/** Runs `jobs` with at most `limit` in flight. */
async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

function taskDefinitionJson(family: string, i: number): string {
  return JSON.stringify({
    family,
    networkMode: 'bridge',
    executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    containerDefinitions: [
      {
        name: 'app',
        image: `registry.lan/${family}:${i}`,
        cpu: 128,
        memory: 64,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }],
        environment: [{ name: 'REVISION', value: String(i) }, { name: 'LOG_LEVEL', value: 'info' }],
        healthCheck: { command: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1:8080/health || exit 1'], interval: 10, timeout: 3, retries: 3 },
      },
      { name: 'sidecar', image: 'registry.lan/log-shipper:2', memory: 32, essential: false },
    ],
  });
}

async function benchBackend(db: Database): Promise<Figures> {
  const f: Figures = {};
  await migrate(db.sql);
  const ctx: AppContext = { db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random, log, nodesChanged: () => {} };

  // 1. Register task definitions: 100 families x 10 revisions, one request at a time (as users and CI do).
  const regMs: number[] = [];
  const t0 = performance.now();
  const specs = new Map<string, Awaited<ReturnType<typeof registerTaskDefinitionOp>>['record']>();
  for (let i = 0; i < SIZE.taskDefinitions; i++) {
    const family = `fam-${i % SIZE.families}`;
    const r = await timed(regMs, () => registerTaskDefinitionOp(ctx, taskDefinitionJson(family, i)));
    specs.set(family, r.record);
  }
  const reg = stats(regMs);
  f.taskdef_register_per_s = { value: Math.round(SIZE.taskDefinitions / ((performance.now() - t0) / 1000)), unit: '1/s' };
  f.taskdef_register_ms_p50 = { value: round(reg.p50), unit: 'ms' };
  f.taskdef_register_ms_p99 = { value: round(reg.p99), unit: 'ms' };

  // 2. Nodes and tasks (set-up: tasks PENDING on nodes, as RunTask leaves them).
  const nodeIds = Array.from({ length: SIZE.nodes }, (_, i) => `n-bench${String(i).padStart(9, '0')}`);
  for (const id of nodeIds) {
    await upsertNode(db.sql, {
      id, cluster: 'default', agentVersion: 'bench', protocolVersion: 1, sessionId: 's',
      facts: { hostname: id, os: 'linux', osVersion: 'Debian 12', kernel: '6.1', arch: 'arm64', cpuCores: 4, cpuModel: 'bench', memoryMib: 8192, diskTotalMib: 1, dockerVersion: '28' } as never,
      labels: {}, registeredCpu: 1_000_000, registeredMemory: 10_000_000,
    });
  }
  const tasksOfNode = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  const insertStart = performance.now();
  for (let i = 0; i < SIZE.tasks; i += 1000) {
    const rows: NewTask[] = [];
    for (let j = i; j < Math.min(SIZE.tasks, i + 1000); j++) {
      const family = `fam-${j % SIZE.families}`;
      const def = specs.get(family)!;
      const nodeId = nodeIds[j % nodeIds.length]!;
      const id = newTaskId(random);
      tasksOfNode.get(nodeId)!.push(id);
      const containers: ContainerRecord[] = def.spec.containerDefinitions.map((c) => ({ name: c.name, image: c.image, lastStatus: 'PENDING' }));
      rows.push({
        id, cluster: 'default', family, revision: def.revision, nodeId, desiredStatus: 'RUNNING', lastStatus: 'PENDING',
        spec: def.spec, overrides: {}, cpu: 128, memory: 96, hostPorts: [], containers,
        startedBy: j % 10 === 0 ? 'ci-nightly' : '', group: j % 3 === 0 ? `service:svc-${j % 30}` : `family:${family}`,
      });
    }
    await insertTasks(db.sql, rows);
  }
  f.task_insert_per_s = { value: Math.round(SIZE.tasks / ((performance.now() - insertStart) / 1000)), unit: '1/s' };
  // A live system's autovacuum analyzes a table that grew this much within a minute; do it now.
  await db.sql`ANALYZE tasks`;

  // 3. Transitions: every task PENDING -> RUNNING, reported by its node's agent in batches.
  const report = (taskId: string, lastStatus: string): ReportedTaskStatus => ({
    taskId, lastStatus, stopCode: '', stoppedReason: '', at: new Date(),
    containers: [
      { name: 'app', lastStatus, runtimeId: taskId.slice(0, 12), networkBindings: [{ bindIP: '0.0.0.0', containerPort: 8080, hostPort: 32768, protocol: 'tcp' }] } as ContainerRecord,
      { name: 'sidecar', lastStatus, runtimeId: taskId.slice(12, 24) } as ContainerRecord,
    ],
  });
  const batches: Array<{ nodeId: string; ids: string[]; offset: number }> = [];
  for (const [nodeId, ids] of tasksOfNode) for (let i = 0; i < ids.length; i += SIZE.batch) batches.push({ nodeId, ids: ids.slice(i, i + SIZE.batch), offset: i });
  // Interleave nodes, as agents report concurrently: every node's first message, then every node's second, ...
  batches.sort((a, b) => a.offset - b.offset);
  // The agents' messages exist before they arrive: build them outside the clock.
  const messages = batches.map((b) => ({ nodeId: b.nodeId, reports: b.ids.map((id) => report(id, 'RUNNING')) }));
  const batchMs: number[] = [];
  const cpuStart = process.cpuUsage();
  const trStart = performance.now();
  await pool(messages.map((m) => () => timed(batchMs, () => applyTaskStatusReports(ctx, m.nodeId, m.reports))), SIZE.agentsInFlight);
  const trSeconds = (performance.now() - trStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  f.transition_cp_cpu_us_per_transition = { value: round((cpu.user + cpu.system) / SIZE.tasks, 1), unit: 'us' };
  const [{ running }] = await db.sql`SELECT count(*)::int AS running FROM tasks WHERE last_status = 'RUNNING'`;
  if (running !== SIZE.tasks) throw new Error(`expected ${SIZE.tasks} RUNNING tasks, found ${running}`);
  const tr = stats(batchMs);
  f.transitions_per_s = { value: Math.round(SIZE.tasks / trSeconds), unit: '1/s' };
  f.transition_batch_ms_p50 = { value: round(tr.p50), unit: 'ms' };
  f.transition_batch_ms_p99 = { value: round(tr.p99), unit: 'ms' };

  // Baseline: the same batches as bare UPDATE ... FROM unnest, no locks, checks or events.
  const rawStart = performance.now();
  await pool(
    batches.map((b) => () =>
      db.sql.begin((tx) => tx`UPDATE tasks t SET last_status = u.s, version = t.version + 1 FROM unnest(${b.ids}::text[], ${b.ids.map(() => 'RUNNING')}::text[]) AS u(id, s) WHERE t.id = u.id`),
    ),
    SIZE.agentsInFlight,
  );
  const rawPerS = SIZE.tasks / ((performance.now() - rawStart) / 1000);
  f.raw_updates_per_s = { value: Math.round(rawPerS), unit: '1/s' };
  f.transitions_vs_raw_ratio = { value: round(f.transitions_per_s.value / rawPerS, 2), unit: 'x' };

  // 4. ListTasks over all tasks with each filter, at random depths (keyset pages).
  const tokens: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 50; i++) {
    token = (await listTasksOp(ctx, { maxResults: SIZE.pageSize, nextToken: token })).nextToken;
    if (i % 5 === 4 && token) tokens.push(token);
  }
  const filters: Array<[string, () => Parameters<typeof listTasksOp>[1]]> = [
    ['none', () => ({})],
    ['family', () => ({ family: `fam-${Math.floor(Math.random() * SIZE.families)}` })],
    ['containerInstance', () => ({ containerInstance: nodeIds[Math.floor(Math.random() * nodeIds.length)] })],
    ['desiredStatus', () => ({ desiredStatus: 'RUNNING' })],
    ['startedBy', () => ({ startedBy: 'ci-nightly' })],
    ['serviceName', () => ({ serviceName: `svc-${Math.floor(Math.random() * 10) * 3}` })],
    ['nextToken', () => ({ nextToken: tokens[Math.floor(Math.random() * tokens.length)] })],
    ['family+desiredStatus', () => ({ family: `fam-${Math.floor(Math.random() * SIZE.families)}`, desiredStatus: 'RUNNING' })],
  ];
  const listMs: number[] = [];
  const byFilter = new Map<string, number[]>(filters.map(([name]) => [name, []]));
  for (let i = 0; i < SIZE.listQueries; i++) {
    const [name, make] = filters[i % filters.length]!;
    const input = { ...make(), maxResults: SIZE.pageSize };
    const filterMs = byFilter.get(name)!;
    const page = await timed(filterMs, () => listTasksOp(ctx, input));
    listMs.push(filterMs[filterMs.length - 1]!);
    if (page.items.length === 0) throw new Error(`ListTasks ${JSON.stringify(input)} returned nothing`);
  }
  for (const [name, ms] of byFilter) {
    const st = stats(ms);
    console.log(`bench store: ListTasks by ${name}: p50 ${round(st.p50)} ms, p99 ${round(st.p99)} ms over ${st.n} queries`);
  }
  const ls = stats(listMs);
  f.list_tasks_ms_p50 = { value: round(ls.p50), unit: 'ms' };
  f.list_tasks_ms_p99 = { value: round(ls.p99), unit: 'ms' };
  f.list_tasks_queries = { value: ls.n, unit: 'count' };
  f.transition_batches = { value: tr.n, unit: 'count' };
  return f;
}


async function main(): Promise<void> {
  console.log(`bench store: machine ${machine()}`);
  console.log(`bench store: sizes ${JSON.stringify(SIZE)}`);
  const results: Array<[string, Figures]> = [];

  const pg = await startTestPostgres({ durable: true });
  if (!pg) throw new Error('bench:store needs Postgres 15 binaries or TEST_DATABASE_URL');
  const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  try {
    const db = await openDatabase({ url: pg.url, dataDir: scratch });
    const [{ server_version: version }] = await db.sql`SHOW server_version`;
    console.log(`bench store: postgres ${version} (fsync and synchronous_commit on), pool of 10 connections`);
    const started = performance.now();
    results.push(['', await benchBackend(db)]);
    console.log(`bench store: postgres run took ${Math.round((performance.now() - started) / 1000)} s`);
    await db.close();
  } finally {
    await pg.stop();
  }

  if (process.env.BENCH_ONLY === 'postgres') {
    rmSync(scratch, { recursive: true, force: true });
    for (const [metric, { value, unit }] of Object.entries(results[0]![1])) console.log(`bench store ${metric} ${value} ${unit}`);
    return;
  }
  const liteDir = mkdtempSync(join(tmpdir(), 'berth-bench-pglite-'));
  try {
    const db = await openDatabase({ dataDir: liteDir });
    console.log('bench store: pglite (embedded, one connection through pglite-socket)');
    const started = performance.now();
    results.push(['_pglite', await benchBackend(db)]);
    console.log(`bench store: pglite run took ${Math.round((performance.now() - started) / 1000)} s`);
    await db.close();
  } finally {
    rmSync(liteDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }

  for (const [suffix, figures] of results) {
    for (const [metric, { value, unit }] of Object.entries(figures)) console.log(`bench store ${metric}${suffix} ${value} ${unit}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
