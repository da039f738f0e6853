/**
 * bench:scheduler, end-to-end part: the pure bench's cluster (5,000 nodes of
 * mixed attributes) in a durable Postgres 15, and tasks run through runTaskOp
 * (RunTask: validation, scheduling on a snapshot, the plan applier re-checking
 * the nodes in one transaction, the tasks, their events and the nodes'
 * generations written), 10 tasks per call (ECS's limit), several calls in
 * flight; then the batch path (plans of 1,000 tasks through the same applier,
 * as the PROVISIONING controller places). Counted when committed.
 * Flags: --nodes N, --tasks N (batch path), --runtask-tasks N, --in-flight N.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock, type Random } from '@berth/domain';
import { seededRandom } from '@berth/scheduler';
import { newTaskId } from '@berth/domain';
import { appendEvents, bumpGenerations, insertTasks, migrate, openDatabase, upsertNode, type NewTask } from '@berth/store';
import { machine, round, startTestPostgres, stats } from '@berth/testing';
import { pino } from 'pino';
import type { AppContext } from '../src/services/context.js';
import { registerTaskDefinitionOp } from '../src/services/task-definitions.js';
import { placeTasks } from '../src/services/placement.js';
import { placedEvent, runTaskOp } from '../src/services/tasks.js';

const { values: flags } = parseArgs({ options: { nodes: { type: 'string' }, tasks: { type: 'string' }, 'runtask-tasks': { type: 'string' }, 'in-flight': { type: 'string' } } });
const NODES = Number(flags.nodes ?? 5000);
/** Tasks through the batch path (plans of 1,000). */
const TASKS = Number(flags.tasks ?? 100_000);
/** Tasks through RunTask, 10 per call (slower: each call schedules on the whole snapshot). */
const RUNTASK_TASKS = Number(flags['runtask-tasks'] ?? 20_000);
const IN_FLIGHT = Number(flags['in-flight'] ?? 8);
const PER_CALL = 10;
const say = (s: string) => console.log(`bench scheduler: ${s}`);
const ZONES = ['kitchen', 'attic', 'garage', 'basement', 'office'];

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`end to end: ${JSON.stringify({ nodes: NODES, runTaskTasks: RUNTASK_TASKS, perCall: PER_CALL, inFlight: IN_FLIGHT, batchPathTasks: TASKS, plan: 1000 })}`);
  const pg = await startTestPostgres({ durable: true });
  if (!pg) throw new Error('bench:scheduler needs Postgres 15 binaries or TEST_DATABASE_URL');
  const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  try {
    const db = await openDatabase({ url: pg.url, dataDir: scratch });
    await migrate(db.sql);
    const random: Random = { next: Math.random, bytes: (n) => randomBytes(n) };
    const ctx: AppContext = { db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random, log: pino({ level: 'silent' }), nodesChanged: () => {} };
    const rnd = seededRandom(42);
    for (let i = 0; i < NODES; i++) {
      const id = `n-bench${String(i).padStart(9, '0')}`;
      const mem = [4096, 8192, 16384][Math.floor(rnd() * 3)]!;
      const arch = rnd() < 0.66 ? 'amd64' : 'arm64';
      await upsertNode(db.sql, {
        id, cluster: 'default', agentVersion: 'bench', protocolVersion: 1, sessionId: 's',
        facts: { hostname: id, os: 'linux', osVersion: 'Debian 12', kernel: '6.1', arch, cpuCores: 4, cpuModel: 'bench', memoryMib: mem, diskTotalMib: 1, dockerVersion: '28' } as never,
        labels: { zone: ZONES[Math.floor(rnd() * ZONES.length)]!, disk: rnd() < 0.6 ? 'ssd' : 'hdd' }, registeredCpu: 4096, registeredMemory: mem,
      });
    }
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'web', image: 'busybox', memory: 128, cpu: 64 }] }));
    const input = {
      taskDefinition: 'web',
      count: PER_CALL,
      group: 'service:web',
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:ecs.cpu-architecture != arm64 or attribute:disk == ssd' }],
      placementStrategy: [{ type: 'spread', field: 'attribute:zone' }, { type: 'binpack', field: 'memory' }],
    };
    await runTaskOp(ctx, input); // warm up
    const callMs: number[] = [];
    let committed = PER_CALL;
    let provisioning = 0;
    const t0 = performance.now();
    let next = PER_CALL;
    const worker = async () => {
      while (next < RUNTASK_TASKS) {
        next += PER_CALL;
        const s = performance.now();
        const r = await runTaskOp(ctx, input);
        callMs.push(performance.now() - s);
        for (const t of r.tasks) {
          if (t.nodeId) committed++;
          else provisioning++;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const secs = (performance.now() - t0) / 1000;
    const c = stats(callMs);
    const perS = Math.round((committed - PER_CALL) / secs);
    say(`${committed} tasks committed on nodes, ${provisioning} PROVISIONING, in ${round(secs)} s: ${perS} tasks/s; RunTask p50 ${round(c.p50)} ms, p99 ${round(c.p99)} ms over ${c.n} calls`);

    // The batch path (what the PROVISIONING controller, and services, use): 1,000 tasks per plan.
    const BATCH = 1000;
    const batchTasks = TASKS;
    const demand = { cpu: 64, memoryMib: 128, hostPorts: [] };
    const def = (await import('../src/services/task-definitions.js')).resolveTaskDefinition;
    const web = await def(ctx, 'web');
    let batchCommitted = 0;
    const b0 = performance.now();
    const batchMs: number[] = [];
    for (let done = 0; done < batchTasks; done += BATCH) {
      const s = performance.now();
      const r = await placeTasks(ctx, 'default', { count: BATCH, demand, group: 'service:batch', constraints: input.placementConstraints as never, strategy: input.placementStrategy as never }, async (tx, nodeIds) => {
        const rows: NewTask[] = nodeIds.map((nodeId) => ({
          id: newTaskId(random), cluster: 'default', family: 'web', revision: web.revision, nodeId, desiredStatus: 'RUNNING', lastStatus: 'PENDING',
          spec: web.spec, overrides: {}, cpu: 64, memory: 128, hostPorts: [], containers: [{ name: 'web', image: 'busybox', lastStatus: 'PENDING' }], startedBy: '', group: 'service:batch',
        }));
        const tasks = await insertTasks(tx, rows);
        await bumpGenerations(tx, [...new Set(nodeIds)]);
        await appendEvents(tx, tasks.map((t) => placedEvent(t)));
        return tasks;
      });
      batchMs.push(performance.now() - s);
      batchCommitted += r.placed;
    }
    const batchPerS = Math.round(batchCommitted / ((performance.now() - b0) / 1000));
    const bs = stats(batchMs);
    say(`batch path: ${batchCommitted} tasks committed in plans of ${BATCH}: ${batchPerS} tasks/s; per plan p50 ${round(bs.p50)} ms, p99 ${round(bs.p99)} ms`);
    console.log(`bench scheduler committed_tasks_per_s ${perS} 1/s`);
    console.log(`bench scheduler committed_tasks_per_s_batch_path ${batchPerS} 1/s`);
    console.log(`bench scheduler runtask_ms_p50 ${round(c.p50)} ms`);
    console.log(`bench scheduler runtask_ms_p99 ${round(c.p99)} ms`);
    await db.close();
  } finally {
    await pg.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
