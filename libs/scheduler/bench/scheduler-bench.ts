/**
 * bench:scheduler, pure part: 5,000 nodes with mixed attributes, 100,000
 * placements in batches of 1,000 (one schedule() call each, the snapshot
 * carrying the earlier batches' placements), spread(attribute:zone) +
 * binpack(memory) with a memberOf constraint. Baseline in the same run: the
 * same batches by scanning every node for every task (`scan`).
 * Flags: --nodes N, --tasks N, --batch N.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { machine, round, stats } from '@berth/testing';
import { seededRandom, schedule, type NodeSnapshot, type ScheduleRequest } from '../src/index.js';

const { values: flags } = parseArgs({ options: { nodes: { type: 'string' }, tasks: { type: 'string' }, batch: { type: 'string' }, 'scan-tasks': { type: 'string' } } });
const NODES = Number(flags.nodes ?? 5000);
const TASKS = Number(flags.tasks ?? 100_000);
const BATCH = Number(flags.batch ?? 1000);
const SCAN_TASKS = Number(flags['scan-tasks'] ?? 10_000);
const say = (s: string) => console.log(`bench scheduler: ${s}`);

const ZONES = ['kitchen', 'attic', 'garage', 'basement', 'office'];
const ARCHES = ['x86_64', 'x86_64', 'arm64'];

interface MutableNode extends NodeSnapshot {
  usedMemory: number;
  usedCpu: number;
  taskGroups: Map<string, number>;
}

function cluster(n: number, rnd: () => number): MutableNode[] {
  return Array.from({ length: n }, (_, i) => {
    const mem = [4096, 8192, 16384][Math.floor(rnd() * 3)]!;
    return {
      id: `n-${String(i).padStart(6, '0')}`,
      status: rnd() < 0.02 ? 'DRAINING' : 'ACTIVE',
      connected: rnd() > 0.01,
      attributes: new Map([
        ['ecs.cpu-architecture', ARCHES[Math.floor(rnd() * ARCHES.length)]!],
        ['zone', ZONES[Math.floor(rnd() * ZONES.length)]!],
        ['disk', rnd() < 0.6 ? 'ssd' : 'hdd'],
      ]),
      registeredCpu: 4096,
      registeredMemory: mem,
      usedCpu: 0,
      usedMemory: Math.floor(rnd() * mem * 0.2),
      usedPorts: new Set<string>(),
      taskGroups: new Map(),
      agentVersion: '0.1.0',
    };
  });
}

function run(scan: boolean, tasks: number): { perS: number; batchMs: number[]; placed: number; failed: number } {
  const rnd = seededRandom(42);
  const nodes = cluster(NODES, rnd);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const req: ScheduleRequest = {
    count: BATCH,
    group: 'service:web',
    demand: { cpu: 64, memoryMib: 128, hostPorts: [] },
    constraints: [{ type: 'memberOf', expression: 'attribute:ecs.cpu-architecture != arm64 or attribute:disk == ssd' }],
    strategy: [{ type: 'spread', field: 'attribute:zone' }, { type: 'binpack', field: 'memory' }],
  };
  const batchMs: number[] = [];
  let placed = 0;
  let failed = 0;
  let total = 0;
  for (let done = 0; done < tasks; done += BATCH) {
    const t0 = performance.now();
    const plan = schedule(nodes, { ...req, count: Math.min(BATCH, tasks - done) }, rnd, { scan });
    const ms = performance.now() - t0;
    total += ms;
    batchMs.push(ms);
    // Apply the batch to the snapshot (the control plane's part; not timed).
    for (const p of plan.placements) {
      const n = byId.get(p.nodeId)!;
      n.usedMemory += req.demand.memoryMib;
      n.usedCpu += req.demand.cpu;
      n.taskGroups.set(req.group, (n.taskGroups.get(req.group) ?? 0) + 1);
    }
    placed += plan.placements.length;
    failed += plan.failures.length;
  }
  return { perS: (placed + failed) / (total / 1000), batchMs, placed, failed };
}

say(`machine ${machine()}`);
say(`sizes ${JSON.stringify({ nodes: NODES, tasks: TASKS, batch: BATCH, scanTasks: SCAN_TASKS, strategy: 'spread(attribute:zone), binpack(memory)', constraint: 'memberOf' })}`);
run(false, 5 * BATCH); // warm up
const fast = run(false, TASKS);
const f = stats(fast.batchMs);
say(`indexed: ${fast.placed} placed, ${fast.failed} failed, ${Math.round(fast.perS)} placements/s, per batch p50 ${round(f.p50)} ms p99 ${round(f.p99)} ms over ${f.n} batches`);
const scan = run(true, SCAN_TASKS);
const s = stats(scan.batchMs);
say(`scan (every node per task), first ${SCAN_TASKS} tasks: ${Math.round(scan.perS)} placements/s, per batch p50 ${round(s.p50)} ms p99 ${round(s.p99)} ms over ${s.n} batches`);
console.log(`bench scheduler placements_per_s ${Math.round(fast.perS)} 1/s`);
console.log(`bench scheduler decision_ms_p50 ${round(f.p50)} ms`);
console.log(`bench scheduler decision_ms_p99 ${round(f.p99)} ms`);
console.log(`bench scheduler scan_placements_per_s ${Math.round(scan.perS)} 1/s`);
console.log(`bench scheduler indexed_vs_scan ${round(fast.perS / scan.perS, 1)} x`);
