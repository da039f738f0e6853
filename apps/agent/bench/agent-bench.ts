/**
 * bench:agent — the node agent's footprint and speed against the real engine.
 *
 * A stand-in control plane (this process: the real gRPC contract, no
 * database) drives the built agent, a separate process, so its RSS and CPU are
 * the agent's own. Figures (conventions: ../shared/notes/BENCHMARKS.md):
 *  - RSS and CPU idle (0 tasks) and with 20 busybox tasks, at the default
 *    heartbeat interval (5 s) and stats interval (15 s);
 *  - task start: desired state sent -> RUNNING reported, against raw
 *    `docker create` + `docker start` of the same container in the same run
 *    (interleaved, one of each at a time);
 *  - crash to restart: an essential container with a restartPolicy killed ->
 *    running again (the first restart, which is immediate).
 * Flags: --idle-seconds N (default 60), --busy-seconds N (default 300), --starts N (default 20),
 * --agent FILE (the agent to run; default the one-file bundle dist/bundles/berth-agent.cjs;
 * apps/agent/dist/main.js runs it from node_modules instead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AgentServiceService, type ConnectRequest, type ConnectResponse, type DesiredTask } from '@berth/proto';
import { machine, round, stats, TEST_IMAGE } from '@berth/testing';
import { serverChannelOptions } from '@berth/transport';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import Docker from 'dockerode';

const { values: flags } = parseArgs({
  options: { 'idle-seconds': { type: 'string' }, 'busy-seconds': { type: 'string' }, starts: { type: 'string' }, agent: { type: 'string' } },
});
const IDLE_S = Number(flags['idle-seconds'] ?? 60);
const BUSY_S = Number(flags['busy-seconds'] ?? 300);
const STARTS = Number(flags.starts ?? 20);
const HEARTBEAT_MS = 5_000;
const RESTARTS = 5;
const BENCH_LABEL = 'berth-bench';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const repoRoot = join(import.meta.dirname, '..', '..', '..', '..');
const say = (s: string) => console.log(`bench agent: ${s}`);
/** What users install: the one-file bundle (npm run bundle -w @berth/agent; bench:agent builds it first). */
const AGENT = flags.agent ?? join(repoRoot, 'dist/bundles/berth-agent.cjs');

/** The stand-in control plane: welcomes one agent, sends desired sets, records when each task is reported RUNNING. */
class StandInControlPlane {
  private call: ServerDuplexStream<ConnectRequest, ConnectResponse> | undefined;
  private generation = 0;
  private readonly waiting = new Map<string, (at: number) => void>();
  readonly server = new Server(serverChannelOptions);
  heartbeats = 0;
  welcomed!: Promise<void>;

  async listen(): Promise<number> {
    let welcomed!: () => void;
    this.welcomed = new Promise((r) => (welcomed = r));
    this.server.addService(AgentServiceService, {
      connect: (call: ServerDuplexStream<ConnectRequest, ConnectResponse>) => {
        this.call = call;
        call.on('data', (m: ConnectRequest) => {
          const msg = m.message;
          if (!msg) return;
          if (msg.$case === 'hello') {
            call.write({ message: { $case: 'welcome', value: { nodeId: 'n-bench', sessionId: 's', heartbeatIntervalMs: HEARTBEAT_MS, protocolVersion: 1, controlPlaneVersion: 'bench' } } });
            welcomed();
          } else if (msg.$case === 'heartbeat') {
            this.heartbeats++;
          } else if (msg.$case === 'taskStatus') {
            const at = performance.now();
            for (const t of msg.value.tasks) {
              if (t.lastStatus === 'RUNNING') this.waiting.get(t.taskId)?.(at);
            }
          }
        });
        call.on('error', () => undefined);
      },
    });
    return new Promise((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  /** Sends the full set; resolves with the time the given task was reported RUNNING. */
  send(tasks: DesiredTask[], waitFor?: string): { sentAt: number; running: Promise<number> } {
    const running = waitFor ? new Promise<number>((r) => this.waiting.set(waitFor, r)) : Promise.resolve(0);
    const sentAt = performance.now();
    this.call!.write({ message: { $case: 'desiredState', value: { generation: ++this.generation, tasks } } });
    return { sentAt, running };
  }

  close(): Promise<void> {
    this.call?.end();
    return new Promise((r) => this.server.tryShutdown(() => r()));
  }
}

/** Task ids unique to this run, so containers left by an interrupted run are never taken for this one's. */
const RUN = randomBytes(4).toString('hex');

function task(i: number, restart = false): DesiredTask {
  const taskId = `${RUN}${restart ? 'r' : 'b'}${String(i).padStart(23, '0')}`;
  const def = {
    family: 'bench',
    containerDefinitions: [
      {
        name: 'app',
        image: TEST_IMAGE,
        memory: 16,
        command: ['sleep', '36000'],
        stopTimeout: 1,
        dockerLabels: { [BENCH_LABEL]: '1' },
        ...(restart ? { restartPolicy: { enabled: true } } : {}),
      },
    ],
  };
  return { taskId, taskArn: `arn:aws:ecs:local:0:task/default/${taskId}`, cluster: 'default', family: 'bench', revision: 1, desiredStatus: 'RUNNING', taskDefinitionJson: JSON.stringify(def), secrets: [], secretsError: '' };
}

/** One raw create + start of the same container, as the baseline. */
async function rawStart(i: number): Promise<number> {
  const t0 = performance.now();
  const c = await docker.createContainer({
    name: `berth-bench-raw-${process.pid}-${i}`,
    Image: TEST_IMAGE,
    Cmd: ['sleep', '36000'],
    Labels: { [BENCH_LABEL]: '1' },
    StopTimeout: 1,
    HostConfig: { NetworkMode: 'bridge', Memory: 16 * 2 ** 20, MemorySwap: 16 * 2 ** 20 },
  });
  await c.start();
  const ms = performance.now() - t0;
  await c.remove({ force: true });
  return ms;
}

/** RSS and private (anonymous, dirty) memory in MB, and cumulative CPU seconds of a process, from /proc. */
function usage(pid: number): { rssMb: number; privateMb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const privateKb = Number(/Private_Dirty:\s+(\d+)/.exec(rollup)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssMb: rssKb / 1024, privateMb: privateKb / 1024, cpuS: ticks / 100 };
}

/** Samples the agent every second for `seconds`: mean and max RSS, CPU % of one core over the window. */
async function measure(pid: number, seconds: number): Promise<{ rssMean: number; rssMax: number; privateMean: number; cpuPct: number }> {
  const start = usage(pid);
  const t0 = performance.now();
  const rss: number[] = [];
  const priv: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    const u = usage(pid);
    rss.push(u.rssMb);
    priv.push(u.privateMb);
  }
  const end = usage(pid);
  const elapsed = (performance.now() - t0) / 1000;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { rssMean: mean(rss), rssMax: Math.max(...rss), privateMean: mean(priv), cpuPct: ((end.cpuS - start.cpuS) / elapsed) * 100 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cleanup(): Promise<void> {
  const all = await docker.listContainers({ all: true, filters: { label: [`${BENCH_LABEL}=1`] } });
  await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

async function main(): Promise<void> {
  say(`machine ${machine()}`);
  say(`agent ${AGENT}`);
  say(`sizes ${JSON.stringify({ idleSeconds: IDLE_S, busySeconds: BUSY_S, starts: STARTS, restarts: RESTARTS, heartbeatMs: HEARTBEAT_MS })}`);
  await docker.getImage(TEST_IMAGE).inspect();
  await cleanup();
  const cp = new StandInControlPlane();
  const port = await cp.listen();
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-agent-'));
  const agent: ChildProcess = spawn(process.execPath, [AGENT, '--server', `127.0.0.1:${port}`, '--data-dir', dataDir, '--bind-ip', '127.0.0.1', '--log-level', 'warn', '--insecure'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Interrupted: take the agent down too (it would otherwise keep managing the bench's containers).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      agent.kill('SIGTERM');
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await cp.welcomed;
    await sleep(10_000); // start-up work done (facts, first samples)
    const idle = await measure(agent.pid!, IDLE_S);
    say(`idle (0 tasks) over ${IDLE_S} s: RSS mean ${round(idle.rssMean)} MB, max ${round(idle.rssMax)} MB (private ${round(idle.privateMean)} MB), CPU ${round(idle.cpuPct, 2)} % of one core`);

    // Task starts, interleaved with raw engine starts of the same container.
    const tasks: DesiredTask[] = [];
    const agentMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      rawMs.push(await rawStart(i));
      tasks.push(task(i));
      const { sentAt, running } = cp.send([...tasks], tasks[tasks.length - 1]!.taskId);
      agentMs.push((await running) - sentAt);
    }
    const a = stats(agentMs);
    const r = stats(rawMs);
    say(`task start (desired state sent -> RUNNING reported): p50 ${round(a.p50)} ms, p99 ${round(a.p99)} ms over ${a.n}`);
    say(`raw docker create + start: p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms over ${r.n}`);

    await sleep(5_000);
    const busy = await measure(agent.pid!, BUSY_S);
    say(`${tasks.length} tasks over ${BUSY_S} s: RSS mean ${round(busy.rssMean)} MB, max ${round(busy.rssMax)} MB (private ${round(busy.privateMean)} MB), CPU ${round(busy.cpuPct, 2)} % of one core, ${cp.heartbeats} heartbeats so far`);

    // Crash to restart: containers with a restartPolicy, killed one at a time.
    const restartTasks = Array.from({ length: RESTARTS }, (_, i) => task(i, true));
    const { running: lastUp } = cp.send([...tasks, ...restartTasks], restartTasks[restartTasks.length - 1]!.taskId);
    await lastUp;
    await sleep(2_000);
    const restartMs: number[] = [];
    for (const t of restartTasks) {
      const [c] = await docker.listContainers({ filters: { label: [`berth.task-id=${t.taskId}`] } });
      const before = (await docker.getContainer(c!.Id).inspect()).State.StartedAt;
      const t0 = performance.now();
      await docker.getContainer(c!.Id).kill();
      for (;;) {
        const s = (await docker.getContainer(c!.Id).inspect()).State;
        if (s.Running && s.StartedAt !== before) break;
        if (performance.now() - t0 > 30_000) throw new Error(`container of ${t.taskId} not restarted within 30 s`);
        await sleep(5);
      }
      restartMs.push(performance.now() - t0);
    }
    const rs = stats(restartMs);
    say(`crash -> running again (first restart): p50 ${round(rs.p50)} ms, p99 ${round(rs.p99)} ms over ${rs.n}`);

    const figures: Array<[string, number, string]> = [
      ['rss_mb_idle', round(idle.rssMean), 'MB'],
      ['rss_mb_idle_max', round(idle.rssMax), 'MB'],
      ['private_mb_idle', round(idle.privateMean), 'MB'],
      ['cpu_pct_idle', round(idle.cpuPct, 2), '%'],
      ['rss_mb_20_tasks', round(busy.rssMean), 'MB'],
      ['rss_mb_20_tasks_max', round(busy.rssMax), 'MB'],
      ['private_mb_20_tasks', round(busy.privateMean), 'MB'],
      ['cpu_pct_20_tasks', round(busy.cpuPct, 2), '%'],
      ['start_ms_p50', round(a.p50), 'ms'],
      ['docker_start_ms_p50', round(r.p50), 'ms'],
      ['start_overhead_ms_p50', round(a.p50 - r.p50), 'ms'],
      ['start_ratio_p50', round(a.p50 / r.p50, 2), 'x'],
      ['restart_ms_p50', round(rs.p50), 'ms'],
      ['restart_ms_p99', round(rs.p99), 'ms'],
    ];
    for (const [metric, value, unit] of figures) console.log(`bench agent ${metric} ${value} ${unit}`);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await cp.close();
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
