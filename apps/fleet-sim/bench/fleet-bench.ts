/**
 * bench:fleet — how many agents one control plane holds on this machine.
 *
 * For each fleet size (default 1,000; --full: 1,000, 5,000, 10,000; --sizes 1000,2000): a durable Postgres 15 and a
 * control plane (a process, `--heartbeat-interval 5`, plaintext on 127.0.0.1) are started fresh; that
 * many simulated agents (this process, @berth/fleet-sim: the real protocol over real gRPC) connect,
 * spread over the start; a service workload of --tasks-per-node tasks per node (default 20) is placed
 * through the scheduler (REPLICA services of at most 1,000 tasks each); once it runs, the control
 * plane is measured over --window seconds (default 60) from its GET /metrics and Postgres's
 * pg_stat_database:
 *   cpu_cores (CPU seconds per second), rss_mb, loop_lag_ms_p99 (how late a 100 ms timer fired),
 *   heartbeat_ms_p99 (a heartbeat's arrival to the end of its handling), pg_writes_per_s (row inserts,
 *   updates and deletes), pg_commits_per_s.
 * Targets (issue 9): the control plane under one core and event-loop lag p99 under 50 ms;
 * `bench fleet agents` is the largest size that met both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlServiceClient, CreateServiceRequest, RegisterTaskDefinitionRequest } from '@berth/proto';
import { freePort, machine, round, startTestPostgres, waitFor } from '@berth/testing';
import { credentials } from '@grpc/grpc-js';
import postgres from 'postgres';
import { controlCall, Fleet } from '../src/index.js';
import { gauge, histogramP } from './prometheus-text.js';

const { values: flags } = parseArgs({ options: { sizes: { type: 'string' }, full: { type: 'boolean' }, 'tasks-per-node': { type: 'string' }, window: { type: 'string' }, 'start-rate': { type: 'string' } } });
/** Default 1,000 agents (about 3 minutes); --full runs 1,000, 5,000 and 10,000 (the sizes, about 20 minutes). */
const SIZES = (flags.sizes ?? (flags.full ? '1000,5000,10000' : '1000')).split(',').map(Number);
const TASKS_PER_NODE = Number(flags['tasks-per-node'] ?? 20);
const WINDOW_S = Number(flags.window ?? 60);
/** Agents started per second (a fleet boots over time; a restart storm is the fault suite's business). */
const START_RATE = Number(flags['start-rate'] ?? 500);
const SERVICE_MAX = 1000;
const HEARTBEAT_S = 5;
const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');
const say = (s: string) => console.log(`bench fleet: ${s}`);


interface Result {
  agents: number;
  tasksRunning: number;
  cpuCores: number;
  rssMb: number;
  loopLagMsP99: number;
  heartbeatMsP99: number;
  pgWritesPerS: number;
  pgCommitsPerS: number;
  startS: number;
  placeS: number;
}

async function runSize(n: number): Promise<Result> {
  const pg = (await startTestPostgres({ durable: true }))!;
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-fleet-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  let output = '';
  const cp: ChildProcess = spawn(process.execPath, [join(repoRoot, 'apps/control-plane/dist/main.js'), '--insecure', '--listen', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--data-dir', join(work, 'cp'), '--heartbeat-interval', String(HEARTBEAT_S), '--log-level', 'warn'], {
    env: { ...process.env, DATABASE_URL: pg.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cp.stdout!.on('data', (d) => (output = (output + d).slice(-20_000)));
  cp.stderr!.on('data', (d) => (output = (output + d).slice(-20_000)));
  const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const control = new ControlServiceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
  const call = controlCall(control);
  const fleet = new Fleet({ server: `127.0.0.1:${grpcPort}`, agents: n });
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    await waitFor('the control plane', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok ?? false, 60_000).catch((err) => {
      throw new Error(`${err.message}\n${output}`);
    });
    let t0 = Date.now();
    await fleet.start((n / START_RATE) * 1000);
    await waitFor(`${n} agents connected`, async () => gauge(await metrics(), 'berth_agent_sessions') === n, 300_000);
    const startS = (Date.now() - t0) / 1000;
    say(`${n} agents connected in ${round(startS)} s`);

    await call('registerTaskDefinition', RegisterTaskDefinitionRequest.fromPartial({ taskDefinitionJson: JSON.stringify({ family: 'fleet', containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16, cpu: 8 }] }) }));
    const total = n * TASKS_PER_NODE;
    t0 = Date.now();
    for (let i = 0, left = total; left > 0; i++, left -= SERVICE_MAX) {
      const serviceJson = JSON.stringify({ serviceName: `fleet-${i}`, taskDefinition: 'fleet', desiredCount: Math.min(SERVICE_MAX, left), placementStrategy: [{ type: 'spread', field: 'instanceId' }] });
      await call('createService', CreateServiceRequest.fromPartial({ serviceJson }));
    }
    const running = () => fleet.agents.reduce((s, a) => s + a.running().length, 0);
    await waitFor(`${total} tasks running`, () => running() >= total, 900_000).catch(() => say(`not all tasks ran within 15 min: ${running()} of ${total}`));
    const placeS = (Date.now() - t0) / 1000;
    say(`${running()} of ${total} tasks running after ${round(placeS)} s`);
    // Settle: the deployments finish, the service controller goes quiet.
    await new Promise((r) => setTimeout(r, 15_000));

    const stat = async () => (await sql<{ w: string; c: string }[]>`SELECT sum(tup_inserted + tup_updated + tup_deleted)::text AS w, sum(xact_commit)::text AS c FROM pg_stat_database`)[0]!;
    const m0 = await metrics();
    const s0 = await stat();
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const m1 = await metrics();
    const s1 = await stat();
    const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${cp.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    return {
      agents: n,
      tasksRunning: running(),
      cpuCores: round((gauge(m1, 'process_cpu_seconds_total') - gauge(m0, 'process_cpu_seconds_total')) / WINDOW_S, 2),
      rssMb: round(rssMb),
      loopLagMsP99: round(histogramP(m0, m1, 'berth_event_loop_lag_seconds', 99) * 1000),
      heartbeatMsP99: round(histogramP(m0, m1, 'berth_heartbeat_handling_seconds', 99) * 1000),
      pgWritesPerS: round((Number(s1.w) - Number(s0.w)) / WINDOW_S),
      pgCommitsPerS: round((Number(s1.c) - Number(s0.c)) / WINDOW_S),
      startS: round(startS),
      placeS: round(placeS),
    };
  } finally {
    fleet.close();
    control.close();
    await sql.end();
    cp.kill('SIGTERM');
    await new Promise((r) => cp.once('exit', r));
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`config ${JSON.stringify({ sizes: SIZES, tasksPerNode: TASKS_PER_NODE, windowS: WINDOW_S, heartbeatS: HEARTBEAT_S, startRate: START_RATE })}`);
  const results: Result[] = [];
  for (const n of SIZES) {
    const r = await runSize(n);
    say(`${JSON.stringify(r)}`);
    results.push(r);
  }
  const met = results.filter((r) => r.cpuCores < 1 && r.loopLagMsP99 < 50 && r.tasksRunning >= r.agents * TASKS_PER_NODE);
  for (const r of results) {
    for (const [k, v, unit] of [
      ['cpu_cores', r.cpuCores, 'cores'],
      ['rss_mb', r.rssMb, 'MB'],
      ['loop_lag_ms_p99', r.loopLagMsP99, 'ms'],
      ['heartbeat_ms_p99', r.heartbeatMsP99, 'ms'],
      ['pg_writes_per_s', r.pgWritesPerS, '1/s'],
      ['pg_commits_per_s', r.pgCommitsPerS, '1/s'],
      ['connect_s', r.startS, 's'],
      ['place_s', r.placeS, 's'],
    ] as const) {
      console.log(`bench fleet ${k}_${r.agents} ${v} ${unit}`);
    }
  }
  const best = met.sort((a, b) => b.agents - a.agents)[0];
  console.log(`bench fleet agents ${best?.agents ?? 0} agents`);
  if (best) {
    console.log(`bench fleet cpu_cores ${best.cpuCores} cores`);
    console.log(`bench fleet rss_mb ${best.rssMb} MB`);
    console.log(`bench fleet loop_lag_ms_p99 ${best.loopLagMsP99} ms`);
    console.log(`bench fleet heartbeat_ms_p99 ${best.heartbeatMsP99} ms`);
  }
}

main().catch((err) => {
  console.error(`bench fleet: ${(err as Error).stack}`);
  process.exit(1);
});
