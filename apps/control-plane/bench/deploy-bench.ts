/**
 * bench:deploy. Two parts:
 *
 * 1. Rolling update at scale: a control plane on a durable Postgres 15, 50
 *    simulated agents (the real protocol over real gRPC; tasks RUNNING and
 *    HEALTHY as soon as they are sent), a 100-replica service with a health
 *    check, updated to a new revision at minimumHealthyPercent 100 /
 *    maximumPercent 125. Measured: from the UpdateService call to the service
 *    steady on the new revision (one COMPLETED deployment, 100 running), and
 *    the fewest healthy / most not-STOPPED tasks seen by a 50 ms sampler.
 * 2. Replacement on the real engine: the same control plane, a real agent
 *    process on the Docker engine, one 1-task service per kill (isolated
 *    incidents: a service failing again within a minute backs off); its
 *    container is killed with `docker kill` and the time until the control
 *    plane has a replacement RUNNING is measured. Baseline: `docker run -d` of the same
 *    image by the Docker CLI.
 *
 * Flags: --runs N (rolling updates, default 3), --kills N (default 10),
 * --replicas N (default 100), --nodes N (default 50).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '@berth/domain';
import { AgentServiceClient } from '@berth/proto';
import { dockerAvailable, machine, round, startTestPostgres, stats, TEST_IMAGE, testImageAvailable, waitFor } from '@berth/testing';
import { credentials } from '@grpc/grpc-js';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../src/server.js';
import type { AppContext } from '../src/services/context.js';
import { createServiceOp, describeServicesOp, updateServiceOp } from '../src/services/services.js';
import { registerTaskDefinitionOp } from '../src/services/task-definitions.js';
import { SimulatedAgent } from '../src/test-support/simulated-agent.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string' }, kills: { type: 'string' }, replicas: { type: 'string' }, nodes: { type: 'string' } } });
const RUNS = Number(flags.runs ?? 3);
const KILLS = Number(flags.kills ?? 10);
const REPLICAS = Number(flags.replicas ?? 100);
const NODES = Number(flags.nodes ?? 50);
const say = (s: string) => console.log(`bench deploy: ${s}`);
const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');

type Svc = { deployments: { rolloutState: string }[]; runningCount: number; desiredCount: number; taskDefinition: string };

function contextOf(cp: ControlPlane): AppContext {
  return {
    db: cp.db,
    arn: { region: 'local', account: '000000000000' },
    clock: systemClock,
    random: { next: Math.random, bytes: (n) => randomBytes(n) },
    log: pino({ level: 'silent' }),
    nodesChanged: (ids) => cp.sessions.nodesChanged(ids),
    servicesChanged: (c, names) => (names ? names.forEach((n) => cp.services.enqueue(c, n)) : cp.services.enqueueCluster(c)),
  };
}

async function steadyOn(ctx: AppContext, cluster: string, name: string, revisionSuffix: string, timeoutMs: number): Promise<void> {
  await waitFor(`${name} steady on ${revisionSuffix}`, async () => {
    const s = (await describeServicesOp(ctx, { cluster, services: [name] })).found[0] as Svc;
    return s.deployments.length === 1 && s.deployments[0]!.rolloutState === 'COMPLETED' && s.runningCount === s.desiredCount && s.taskDefinition.endsWith(revisionSuffix) ? true : undefined;
  }, timeoutMs, 20);
}

async function rolling(pgUrl: string): Promise<{ seconds: number[]; minHealthy: number; maxTotal: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const cp = await startControlPlane({
    listen: '127.0.0.1', grpcPort: 0, httpPort: 0, databaseUrl: pgUrl, dataDir, heartbeatIntervalMs: 5000, resyncIntervalMs: 60_000,
    random: { next: Math.random, bytes: (n) => randomBytes(n) }, log: pino({ level: 'silent' }),
  });
  const agents = new AgentServiceClient(`127.0.0.1:${cp.grpcPort}`, credentials.createInsecure());
  const sims: SimulatedAgent[] = [];
  try {
    const ctx = contextOf(cp);
    for (let i = 0; i < NODES; i++) sims.push(new SimulatedAgent(agents, { heartbeatMs: 5000, hello: { facts: { ...simFacts(), hostname: `sim-${i}` } } }));
    await Promise.all(sims.map((s) => s.ready()));
    const td = (rev: number) => JSON.stringify({
      family: 'bench-web',
      containerDefinitions: [{ name: 'app', image: 'nginx', memory: 32, environment: [{ name: 'REV', value: String(rev) }], healthCheck: { command: ['CMD-SHELL', 'true'] } }],
    });
    await registerTaskDefinitionOp(ctx, td(1));
    await createServiceOp(ctx, JSON.stringify({ serviceName: 'web', taskDefinition: 'bench-web:1', desiredCount: REPLICAS, deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 125 } }));
    await steadyOn(ctx, 'default', 'web', 'bench-web:1', 120_000);
    say(`${REPLICAS} replicas steady on ${NODES} simulated nodes`);
    const seconds: number[] = [];
    let minHealthy = Infinity;
    let maxTotal = 0;
    for (let run = 0; run < RUNS; run++) {
      const rev = run + 2;
      await registerTaskDefinitionOp(ctx, td(rev));
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const [r] = await cp.db.sql`
            SELECT count(*) FILTER (WHERE last_status <> 'STOPPED')::int AS total,
                   count(*) FILTER (WHERE last_status = 'RUNNING' AND desired_status = 'RUNNING')::int AS healthy
            FROM tasks WHERE cluster = 'default' AND task_group = 'service:web'`;
          minHealthy = Math.min(minHealthy, r!.healthy as number);
          maxTotal = Math.max(maxTotal, r!.total as number);
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const t0 = performance.now();
      await updateServiceOp(ctx, JSON.stringify({ service: 'web', taskDefinition: `bench-web:${rev}` }));
      await steadyOn(ctx, 'default', 'web', `bench-web:${rev}`, 300_000);
      const s = (performance.now() - t0) / 1000;
      sampling = false;
      await sampler;
      seconds.push(s);
      say(`run ${run + 1}: ${REPLICAS} tasks replaced in ${round(s, 2)} s (fewest healthy ${minHealthy}, most not STOPPED ${maxTotal})`);
    }
    return { seconds, minHealthy, maxTotal };
  } finally {
    for (const s of sims) s.end();
    agents.close();
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function simFacts() {
  return {
    hostname: 'sim', os: 'linux', osVersion: 'Debian 12', kernel: '6.1', arch: 'amd64', cpuCores: 4, cpuModel: 'sim', memoryMib: 16384, diskTotalMib: 100_000,
    dockerVersion: '20.10', registeredCpu: 8192, registeredMemoryMib: 16384, deviceModel: '',
  };
}

async function replacement(pgUrl: string): Promise<{ ms: number[]; baselineMs: number[] }> {
  if (!dockerAvailable() || !testImageAvailable()) throw new Error(`the replacement part needs a Docker engine and ${TEST_IMAGE} (scripts/build-test-image.sh)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const cp = await startControlPlane({
    listen: '127.0.0.1', grpcPort: 0, httpPort: 0, databaseUrl: pgUrl, dataDir, heartbeatIntervalMs: 1000, resyncIntervalMs: 60_000,
    random: { next: Math.random, bytes: (n) => randomBytes(n) }, log: pino({ level: 'silent' }),
  });
  await cp.db.sql`INSERT INTO clusters (name) VALUES ('engine') ON CONFLICT DO NOTHING`;
  const agentDir = join(dataDir, 'agent');
  const agent = spawn(process.execPath, [join(repoRoot, 'apps/agent/dist/main.js'), '--server', `127.0.0.1:${cp.grpcPort}`, '--cluster', 'engine', '--data-dir', agentDir, '--bind-ip', '127.0.0.1', '--log-level', 'warn', '--insecure'], { stdio: 'ignore' });
  try {
    const ctx = contextOf(cp);
    await registerTaskDefinitionOp(ctx, JSON.stringify({ family: 'bench-kill', containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, stopTimeout: 1, command: ['sleep', '3600'], linuxParameters: { initProcessEnabled: true } }] }));
    await waitFor('the agent connected', async () => ((await cp.db.sql`SELECT 1 FROM nodes WHERE cluster = 'engine' AND agent_connected`).length > 0 ? true : undefined), 60_000);
    // One service per kill: each is an isolated incident (a service that fails again within a minute backs off).
    const names = Array.from({ length: KILLS }, (_, i) => `kill-${i}`);
    for (const name of names) await createServiceOp(ctx, JSON.stringify({ cluster: 'engine', serviceName: name, taskDefinition: 'bench-kill', desiredCount: 1 }));
    for (const name of names) await steadyOn(ctx, 'engine', name, 'bench-kill:1', 120_000);
    const ms: number[] = [];
    for (const name of names) {
      const [victim] = await cp.db.sql`SELECT id, containers FROM tasks WHERE cluster = 'engine' AND task_group = ${'service:' + name} AND last_status = 'RUNNING' AND desired_status = 'RUNNING'`;
      const runtimeId = (victim!.containers as { runtimeId?: string }[])[0]!.runtimeId!;
      const t0 = performance.now();
      execFileSync('docker', ['kill', runtimeId], { stdio: 'ignore' });
      await waitFor('a replacement RUNNING', async () => {
        const rows = await cp.db.sql`SELECT id FROM tasks WHERE cluster = 'engine' AND task_group = ${'service:' + name} AND last_status = 'RUNNING' AND desired_status = 'RUNNING' AND id <> ${victim!.id}`;
        return rows.length > 0 ? true : undefined;
      }, 60_000, 10);
      ms.push(performance.now() - t0);
      await steadyOn(ctx, 'engine', name, 'bench-kill:1', 60_000);
    }
    const baselineMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const id = execFileSync('docker', ['run', '-d', '--init', TEST_IMAGE, 'sleep', '3600'], { encoding: 'utf8' }).trim();
      baselineMs.push(performance.now() - t0);
      execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
    for (const name of names) await updateServiceOp(ctx, JSON.stringify({ cluster: 'engine', service: name, desiredCount: 0 }));
    await waitFor('the service scaled to 0', async () => ((await cp.db.sql`SELECT 1 FROM tasks WHERE cluster = 'engine' AND last_status <> 'STOPPED'`).length === 0 ? true : undefined), 60_000);
    return { ms, baselineMs };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    await cp.close();
    for (const id of execFileSync('docker', ['ps', '-aq', '--filter', 'label=berth.family=bench-kill'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`config ${JSON.stringify({ replicas: REPLICAS, nodes: NODES, runs: RUNS, kills: KILLS, minimumHealthyPercent: 100, maximumPercent: 125 })}`);
  const pg = await startTestPostgres({ durable: true });
  if (!pg) throw new Error('bench:deploy needs Postgres 15 binaries or TEST_DATABASE_URL');
  try {
    const r = await rolling(pg.url);
    const k = await replacement(pg.url);
    const roll = stats(r.seconds);
    const rep = stats(k.ms);
    const base = stats(k.baselineMs);
    say(`rolling update of ${REPLICAS}: ${r.seconds.map((s) => round(s, 2)).join(', ')} s over ${r.seconds.length} runs`);
    say(`replacement after docker kill: ${k.ms.map((m) => Math.round(m)).join(', ')} ms over ${k.ms.length} kills; docker run -d baseline p50 ${Math.round(base.p50)} ms`);
    console.log(`bench deploy rolling_100_s ${round(roll.p50, 2)} s`);
    console.log(`bench deploy rolling_100_s_max ${round(Math.max(...r.seconds), 2)} s`);
    console.log(`bench deploy min_healthy_seen ${r.minHealthy} tasks`);
    console.log(`bench deploy max_not_stopped_seen ${r.maxTotal} tasks`);
    console.log(`bench deploy replace_ms_p50 ${Math.round(rep.p50)} ms`);
    console.log(`bench deploy replace_ms_p99 ${Math.round(rep.p99)} ms`);
    console.log(`bench deploy docker_run_ms_p50 ${Math.round(base.p50)} ms`);
    console.log(`bench deploy replace_vs_docker_run ${round(rep.p50 / base.p50, 2)} x`);
  } finally {
    await pg.stop();
  }
}

await main();
process.exit(0);
