import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AgentServiceClient, ControlServiceClient } from '@berth/proto';
import { faultScale, FAULTS_FULL, startTestPostgres, waitFor, type TestPostgres } from '@berth/testing';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from './server.js';
import { controlCall } from './test-support/backends.js';
import { SimulatedAgent } from './test-support/simulated-agent.js';

/**
 * Issue 9's fault suite: Postgres stopped for 30 s (2 min under
 * test:faults:full) under load. The control plane says it is not ready,
 * keeps every agent stream, holds what agents report in bounded memory,
 * answers API writes UNAVAILABLE, recovers by itself when Postgres is back,
 * and loses no write it acknowledged.
 */
const OUTAGE_MS = faultScale(30_000, 120_000);
const AGENTS = 4;
/** Generous on a 2-core machine shared with other tests: the agents heartbeat every 500 ms, a session needs one every 4 s. */
const HEARTBEAT_INTERVAL_MS = 2_000;
const AGENT_HEARTBEAT_MS = 500;
const WRITERS = 3;
const WARM_UP_MS = 8_000;
const AFTER_MS = 10_000;
/** From Postgres answering again to /readyz saying so. */
const READY_AGAIN_WITHIN_MS = 15_000;
/** Messages an agent session may have waiting at once (hello and heartbeats handled in memory: a handful at most). */
const QUEUED_MESSAGES_BOUND = 10 * AGENTS;

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });

type Phase = 'before' | 'during' | 'after';
interface Write {
  op: 'registerTaskDefinition' | 'runTask' | 'createService';
  key: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** Task id, family:revision or service name the reply acknowledged. */
  acked?: string;
  code?: number;
  details?: string;
}

/** A full GC when the process allows one (it makes heap figures comparable). */
function gc(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // figures without a GC then
  }
}
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

describe('Postgres stopped under load', () => {
  let pg: TestPostgres | undefined;
  let cp: ControlPlane;
  let control: ControlServiceClient;
  let agentClient: AgentServiceClient;
  const agents: SimulatedAgent[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-pg-faults-'));
  const call = controlCall(() => control);

  beforeAll(async () => {
    // Its own server even with TEST_DATABASE_URL (it is stopped and started); under CI=true a missing Postgres fails here.
    pg = await startTestPostgres({ own: true });
    if (!pg) return;
    cp = await startControlPlane({
      listen: '127.0.0.1',
      grpcPort: 0,
      httpPort: 0,
      databaseUrl: pg.url,
      dataDir,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      resyncIntervalMs: 60_000,
      services: { resyncMs: 2_000 },
      random: { next: Math.random, bytes: (n) => randomBytes(n) },
      log,
    });
    const target = `127.0.0.1:${cp.grpcPort}`;
    control = new ControlServiceClient(target, credentials.createInsecure());
    agentClient = new AgentServiceClient(target, credentials.createInsecure());
  });
  let stopBackground = async () => {};
  afterAll(async () => {
    await stopBackground();
    for (const a of agents) a.end();
    control?.close();
    agentClient?.close();
    await cp?.close();
    await pg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps agents, refuses writes as UNAVAILABLE, recovers by itself and loses nothing acknowledged (outage ${OUTAGE_MS / 1000} s)`, { timeout: OUTAGE_MS + 180_000 }, async (t) => {
    if (!pg) return t.skip();
    const server = pg;
    const http = (path: string) => fetch(`http://127.0.0.1:${cp.httpPort}${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await http('/metrics')).body)?.[1] ?? NaN);

    // ---- a cluster of simulated agents, a task definition, some tasks running ----
    for (let i = 0; i < AGENTS; i++) {
      const a = new SimulatedAgent(agentClient, { heartbeatMs: AGENT_HEARTBEAT_MS, startDelayMs: 200 });
      agents.push(a);
      await a.ready();
    }
    // One more node whose agent really goes away during the outage (its disconnect must still be recorded).
    const leaver = new SimulatedAgent(agentClient, { heartbeatMs: AGENT_HEARTBEAT_MS, startDelayMs: 200 });
    agents.push(leaver);
    await leaver.ready();
    const steady = agents.slice(0, AGENTS);
    const steadyNodes = new Set(steady.map((a) => a.nodeId));
    await call('registerTaskDefinition', { taskDefinitionJson: JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 16 }] }) });

    // ---- load: API writes throughout, each recorded with its outcome ----
    const writes: Write[] = [];
    let loading = true;
    let seq = 0;
    const writer = async (w: number) => {
      while (loading) {
        const n = seq++;
        const op = (['runTask', 'registerTaskDefinition', 'runTask', 'createService'] as const)[n % 4]!;
        const rec: Write = { op, key: `${op}-${n}`, startedAt: Date.now(), endedAt: 0, ok: false };
        try {
          if (op === 'runTask') {
            const r = await call<{ tasks: { taskArn: string }[] }>('runTask', {
              cluster: '',
              taskDefinition: 'web',
              count: 1,
              startedBy: `load-${w}`,
              placementStrategy: [{ type: 'spread', field: 'instanceId' }],
            });
            rec.acked = r.tasks[0]!.taskArn.split('/').pop();
          } else if (op === 'registerTaskDefinition') {
            const r = await call<{ taskDefinition: { family: string; revision: number } }>('registerTaskDefinition', {
              taskDefinitionJson: JSON.stringify({ family: `load-${n % 5}`, containerDefinitions: [{ name: 'app', image: 'busybox', memory: 16, environment: [{ name: 'N', value: String(n) }] }] }),
            });
            rec.acked = `${r.taskDefinition.family}:${r.taskDefinition.revision}`;
          } else {
            const name = `svc-${n}`;
            await call('createService', { serviceJson: JSON.stringify({ serviceName: name, taskDefinition: 'web', desiredCount: 1 }) });
            rec.acked = name;
          }
          rec.ok = true;
        } catch (err) {
          const e = err as ServiceError;
          rec.code = e.code;
          rec.details = e.details;
        }
        rec.endedAt = Date.now();
        writes.push(rec);
        await sleep(100);
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    // ---- readiness and liveness, sampled every 250 ms throughout ----
    const probes: { at: number; end: number; ready: number; healthy: number; body: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = Date.now();
        const [ready, healthy] = await Promise.all([http('/readyz'), http('/healthz')]).catch((err: Error) => [
          { status: 0, body: err.message },
          { status: 0, body: err.message },
        ]);
        probes.push({ at, end: Date.now(), ready: ready.status, healthy: healthy.status, body: ready.body });
        await sleep(250);
      }
    })();
    // However the test ends, the background loops stop before the control plane does.
    stopBackground = async () => {
      loading = false;
      probing = false;
      await Promise.all([...writers, prober]);
    };

    await sleep(WARM_UP_MS);
    expect(writes.filter((w) => w.ok).length, 'writes succeed before the outage').toBeGreaterThan(10);
    // Tasks RUNNING now on each node (in the database and on the agent): some of them crash during the outage.
    const running = await cp.db.sql<{ id: string; node_id: string }[]>`SELECT id, node_id FROM tasks WHERE last_status = 'RUNNING' AND task_group = 'family:web'`;
    const toCrash = steady.flatMap((a) => running.filter((r) => r.node_id === a.nodeId && a.running().includes(r.id)).slice(0, 2).map((r) => ({ agent: a, taskId: r.id })));
    expect(toCrash.length, 'every node runs tasks before the outage').toBe(2 * AGENTS);
    const steadySessions = () => cp.sessions.all().filter((s) => steadyNodes.has(s.nodeId!)).map((s) => s.sessionId).sort();
    const sessionsBefore = steadySessions();
    expect(sessionsBefore).toHaveLength(AGENTS);
    gc();
    const memBefore = process.memoryUsage();
    const heartbeatsBefore = await metric('berth_heartbeats_total');
    const eventsBefore = (await cp.db.sql<{ id: number }[]>`SELECT coalesce(max(id), 0)::int AS id FROM events`)[0]!.id;

    // ---- the outage ----
    const stopAt = Date.now();
    await server.stopServer('fast');
    const stoppedAt = Date.now();
    const notReadyAt = await waitFor('/readyz to say not ready', () => probes.find((p) => p.at > stoppedAt && p.ready === 503)?.at, 10_000);
    const outage: { queued: number; held: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        outage.push({ queued: await metric('berth_agent_messages_queued'), held: await metric('berth_task_status_reports_held') });
        await sleep(500);
      }
    })();
    const stopWriters = stopBackground;
    stopBackground = async () => {
      sampling = false;
      await Promise.all([stopWriters(), sampler]);
    };
    await sleep(OUTAGE_MS / 2 - (Date.now() - stopAt));
    // Agents report while the database is away: these must reach it once it is back.
    for (const c of toCrash) c.agent.crash(c.taskId);
    leaver.end();
    const leftAt = Date.now();
    const heldAfterCrash = await waitFor('the crashed tasks held', async () => {
      const held = await metric('berth_task_status_reports_held');
      return held >= toCrash.length ? held : undefined;
      // Until shortly before the database returns: on a loaded CI machine 10 s was once not enough.
    }, OUTAGE_MS / 2 - 2_000);
    await sleep(OUTAGE_MS - (Date.now() - stopAt));
    gc();
    const memDuring = process.memoryUsage();
    const heartbeatsDuring = (await metric('berth_heartbeats_total')) - heartbeatsBefore;
    sampling = false;
    await sampler;
    const sessionsDuring = steadySessions();
    const startAt = Date.now();
    await server.startServer();
    const startedAt = Date.now();
    const readyAgainAt = await waitFor('/readyz to say ready again', () => probes.find((p) => p.at > startedAt && p.ready === 200)?.end, READY_AGAIN_WITHIN_MS + 5_000);

    await sleep(AFTER_MS);
    await stopBackground();

    // ---- figures ----
    const phase = (w: Write): Phase => (w.endedAt < stopAt ? 'before' : w.startedAt > readyAgainAt + 2_000 ? 'after' : 'during');
    const by = (p: Phase, ok: boolean) => writes.filter((w) => phase(w) === p && w.ok === ok);
    const failedDuring = by('during', false);
    const slowest = Math.max(...writes.filter((w) => phase(w) === 'during').map((w) => w.endedAt - w.startedAt));
    const maxQueued = Math.max(...outage.map((s) => s.queued));
    const maxHeld = Math.max(...outage.map((s) => s.held));
    const nonStopped = (await cp.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM tasks WHERE last_status <> 'STOPPED'`)[0]!.n;
    console.log(
      JSON.stringify(
        {
          outageSeconds: OUTAGE_MS / 1000,
          full: FAULTS_FULL,
          postgresStopMs: stoppedAt - stopAt,
          notReadyAfterStopMs: notReadyAt - stopAt,
          postgresStartMs: startedAt - startAt,
          readyAgainAfterStartMs: readyAgainAt - startedAt,
          writes: {
            before: { ok: by('before', true).length, failed: by('before', false).length },
            during: { ok: by('during', true).length, unavailable: failedDuring.length, slowestMs: slowest },
            after: { ok: by('after', true).length, failed: by('after', false).length },
          },
          heartbeatsDuringOutage: heartbeatsDuring,
          maxAgentMessagesQueued: maxQueued,
          maxStatusReportsHeld: maxHeld,
          heldAfterCrash,
          heapMiB: { before: mib(memBefore.heapUsed), endOfOutage: mib(memDuring.heapUsed) },
          rssMiB: { before: mib(memBefore.rss), endOfOutage: mib(memDuring.rss) },
          tasksNotStopped: nonStopped,
        },
        null,
        1,
      ),
    );

    // ---- readiness: not ready while Postgres is away, ready again by itself; the process stays up ----
    expect(notReadyAt - stoppedAt).toBeLessThan(10_000);
    // Probes asked and answered while Postgres was stopped.
    for (const p of probes.filter((p) => p.at > notReadyAt && p.end < startAt)) {
      expect(p.ready, 'not ready all through the outage').toBe(503);
      expect(JSON.parse(p.body)).toMatchObject({ status: 'not ready', database: expect.stringMatching(/^unavailable: /) });
    }
    expect(readyAgainAt - startedAt).toBeLessThan(READY_AGAIN_WITHIN_MS);
    expect(probes.every((p) => p.healthy === 200), '/healthz answers all along').toBe(true);
    expect(probes.filter((p) => p.at > readyAgainAt + 1_000).every((p) => p.ready === 200), 'ready from then on').toBe(true);

    // ---- agent streams stay open, heartbeats keep coming, no node is taken for disconnected ----
    expect(sessionsDuring).toEqual(sessionsBefore);
    expect(steadySessions()).toEqual(sessionsBefore);
    expect(steady.every((a) => !a.ended), 'no agent stream ended').toBe(true);
    // Each agent heartbeats every 500 ms: at least half of those must have been handled.
    expect(heartbeatsDuring).toBeGreaterThan(((AGENTS * OUTAGE_MS) / AGENT_HEARTBEAT_MS) * 0.5);
    const nodes = await cp.db.sql<{ id: string; agent_connected: boolean }[]>`SELECT id, agent_connected FROM nodes`;
    expect(nodes.filter((n) => steadyNodes.has(n.id)).every((n) => n.agent_connected)).toBe(true);
    const nodeEvents = await cp.db.sql<{ kind: string; subject: string }[]>`
      SELECT kind, subject FROM events WHERE id > ${eventsBefore} AND subject <> ${leaver.nodeId} AND kind IN ('node.disconnected', 'node.lost', 'node.connected', 'cluster.node-loss-held')`;
    expect(nodeEvents).toEqual([]);
    // The agent that left during the outage: recorded once the database is back, its grace counting from then
    // (it could not have reconnected before: a hello needs the database).
    const left = await waitFor('the disconnect during the outage recorded', async () => {
      const [n] = await cp.db.sql<{ agent_connected: boolean; disconnected_at: Date }[]>`SELECT agent_connected, disconnected_at FROM nodes WHERE id = ${leaver.nodeId}`;
      return n && !n.agent_connected ? n : undefined;
    }, 15_000);
    // (A retry waits up to the pool's reconnect delay, 2 s, for a connection: "then" is within a few seconds of the start.)
    expect(left.disconnected_at.getTime()).toBeGreaterThan(leftAt);
    expect(left.disconnected_at.getTime()).toBeGreaterThanOrEqual(startAt - 5_000);
    const leaverEvents = await cp.db.sql<{ kind: string; message: string }[]>`SELECT kind, message FROM events WHERE id > ${eventsBefore} AND subject = ${leaver.nodeId} ORDER BY id`;
    expect(leaverEvents[0]).toEqual({ kind: 'node.disconnected', message: `node ${leaver.nodeId} disconnected: agent ended the stream` });
    // After the outage every node gets the reconnect allowance (30 s) before its grace counts, as after a start.
    expect(leaverEvents.filter((e) => e.kind === 'node.lost')).toEqual([]);

    // ---- nothing queued without bound ----
    expect(outage.length).toBeGreaterThan(5);
    expect(maxQueued, 'agent messages waiting at once').toBeLessThanOrEqual(QUEUED_MESSAGES_BOUND);
    // Held reports: at most one per task and status the nodes know of (the crashed tasks' among them).
    expect(maxHeld).toBeGreaterThanOrEqual(toCrash.length);
    expect(maxHeld).toBeLessThanOrEqual(nonStopped + toCrash.length);
    // Heartbeats, acks and usage during the outage did not pile up in memory (figures above; generous bound for a shared machine).
    expect(memDuring.heapUsed - memBefore.heapUsed).toBeLessThan(64 * 2 ** 20);
    expect(await metric('berth_task_status_reports_held')).toBe(0);

    // ---- API writes: UNAVAILABLE naming the database while it is away, never anything else ----
    expect(failedDuring.length, 'writes were refused during the outage').toBeGreaterThan(10);
    for (const w of writes.filter((w) => !w.ok)) {
      expect({ op: w.op, code: w.code, details: w.details }).toEqual({ op: w.op, code: status.UNAVAILABLE, details: expect.stringMatching(/^the database is unavailable \(.+\); try again shortly$/) });
    }
    expect(by('before', false)).toEqual([]);
    expect(by('after', false)).toEqual([]);
    expect(by('after', true).length, 'writes succeed again after the outage').toBeGreaterThan(10);
    // No write hangs: while Postgres is away a refusal comes within the connect timeout.
    expect(slowest).toBeLessThan(15_000);

    // ---- every acknowledged write is there, and nothing is half-written ----
    const acked = (op: Write['op']) => writes.filter((w) => w.ok && w.op === op).map((w) => w.acked!);
    const taskIds = new Set((await cp.db.sql<{ id: string }[]>`SELECT id FROM tasks`).map((r) => r.id));
    expect(acked('runTask').filter((id) => !taskIds.has(id))).toEqual([]);
    const defs = new Set((await cp.db.sql<{ ref: string }[]>`SELECT family || ':' || revision AS ref FROM task_definitions`).map((r) => r.ref));
    expect(acked('registerTaskDefinition').filter((ref) => !defs.has(ref))).toEqual([]);
    // Revisions have no gaps: a refused registration left nothing behind.
    const gaps = await cp.db.sql`SELECT family FROM task_definitions GROUP BY family HAVING max(revision) <> count(*)`;
    expect(gaps).toEqual([]);
    const services = new Set((await cp.db.sql<{ name: string }[]>`SELECT name FROM services`).map((r) => r.name));
    expect(acked('createService').filter((n) => !services.has(n))).toEqual([]);
    // A service always has its deployment; a RunTask task always its placement event (one transaction each).
    expect(await cp.db.sql`SELECT s.name FROM services s WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.cluster = s.cluster AND d.service = s.name AND d.status = 'PRIMARY')`).toEqual([]);
    expect(
      await cp.db.sql`SELECT t.id FROM tasks t WHERE t.task_group = 'family:web' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.subject = t.id AND e.kind IN ('task.placed', 'task.provisioning'))`,
    ).toEqual([]);
    // No node took more than it has (placement's plan applier under connection loss).
    expect(
      await cp.db.sql`SELECT n.id FROM nodes n JOIN tasks t ON t.node_id = n.id AND t.last_status <> 'STOPPED' GROUP BY n.id, n.registered_memory HAVING sum(t.memory) > n.registered_memory`,
    ).toEqual([]);
    // Writes refused that committed anyway (the connection died after COMMIT reached the server) are allowed, and counted.
    const refusedButThere = writes.filter((w) => !w.ok && w.op === 'createService' && services.has(w.key.replace('createService-', 'svc-')));
    console.log(`refused writes found committed anyway: ${refusedButThere.length} service(s)`);

    // ---- what agents reported during the outage reaches the database after it ----
    await waitFor('the crashes reported during the outage saved', async () => {
      const rows = await cp.db.sql<{ id: string; last_status: string; stop_code: string }[]>`SELECT id, last_status, stop_code FROM tasks WHERE id = ANY(${toCrash.map((c) => c.taskId)})`;
      return rows.length === toCrash.length && rows.every((r) => r.last_status === 'STOPPED' && r.stop_code === 'EssentialContainerExited');
    }, 15_000);
    // Acks too: every node acknowledged its current generation, and the crashed tasks left its set.
    await waitFor('every node acked its current desired state', async () => {
      const rows = await cp.db.sql<{ desired: number; acked: number }[]>`SELECT desired_generation AS desired, acked_generation AS acked FROM nodes WHERE agent_connected`;
      return rows.length === AGENTS && rows.every((r) => r.acked === r.desired);
    }, 15_000);
    for (const c of toCrash) expect(c.agent.running()).not.toContain(c.taskId);

    // ---- the controllers recovered by themselves: every service converges ----
    await waitFor('every service running its desired count', async () => {
      const behind = await cp.db.sql`
        SELECT s.name FROM services s
        WHERE s.status = 'ACTIVE' AND s.desired_count <> (
          SELECT count(*) FROM tasks t WHERE t.cluster = s.cluster AND t.task_group = 'service:' || s.name AND t.last_status = 'RUNNING' AND t.desired_status = 'RUNNING')`;
      return behind.length === 0;
    }, 60_000);
    gc();
    console.log(`heap after recovery: ${mib(process.memoryUsage().heapUsed)} MiB`);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

