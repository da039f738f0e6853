#!/usr/bin/env node
// First: a small agent (no optimizing compiler; dockerode without ssh2 and BuildKit). See the modules.
import './lean-v8.js';
import './runtime/lean-dockerode.js';
import { BERTH_VERSION, MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION, type Hello, type InventoryContainer, type TargetHealth, type TaskStatus } from '@berth/proto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certInfo, quietTlsServerNameWarning, renewAt, type ClientTls } from '@berth/transport';
import { pino } from 'pino';
import { ConfigError, HELP, parseConfig } from './config.js';
import { TaskEngine } from './engine/task-engine.js';
import { ContainerStatsSampler } from './facts/container-stats.js';
import { diskUsage, HeartbeatSampler } from './facts/heartbeat-sampler.js';
import { readStaticFacts, registeredCapacity } from './facts/node-facts.js';
import { LogStreamer } from './logs/log-streamer.js';
import { ProxyManager } from './proxy/proxy-manager.js';
import { dockerLogs, findTaskContainer } from './runtime/docker-logs.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { FAULT_ENV, injectFaults } from './faults.js';
import { SecretFiles } from './runtime/secret-files.js';
import { ControlPlaneSession } from './session/control-plane-session.js';
import { StateFile } from './state/state-file.js';
import { loadIdentityTls, saveIdentity } from './session/identity.js';
import { hostname } from 'node:os';


// `berth-agent join --server HOST:7400 --token TOKEN`: join (keep the identity in the data directory) and exit.
const joinOnly = process.argv[2] === 'join';
let config;
try {
  config = parseConfig(process.argv.slice(joinOnly ? 3 : 2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`berth-agent: ${err.message}\n`);
  process.exit(2);
}
if (config === 'help') {
  process.stdout.write(HELP);
  process.exit(0);
}
if (config === 'version') {
  process.stdout.write(`berth-agent ${BERTH_VERSION} (protocol ${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION}, Node ${process.version}, ${process.platform}/${process.arch})\n`);
  process.exit(0);
}
const cfg = config;
// Secret values are never logged on purpose; the redaction is a second line in case an object carrying them is.
const log = pino({ level: cfg.logLevel, base: { component: 'agent' }, redact: { paths: ['secrets', '*.secrets', '*.*.secrets'], censor: '[redacted]' } });

const stateFile = new StateFile(cfg.dataDir);
const state = stateFile.load((w) => log.warn(w));
const save = () => {
  try {
    stateFile.save(state);
  } catch (err) {
    log.error({ err, path: stateFile.path }, 'could not save the agent state');
    throw err;
  }
};

// One async start (no top-level await): the single executable runs this file as CommonJS.
async function main(): Promise<void> {
  quietTlsServerNameWarning();
  // Who this node is and how the control plane is verified: the identity from joining (mTLS), else a
  // token to join with now, else the CA alone (a control plane with --insecure takes --insecure).
  const caFile = cfg.caFile || join(cfg.dataDir, 'ca.crt');
  let tls: ClientTls;
  if (cfg.insecure) {
    tls = { insecure: true };
    log.warn('talking to the control plane without TLS (--insecure)');
  } else {
    let identity = loadIdentityTls(cfg.dataDir, cfg.caFile || undefined);
    if ((!identity || joinOnly) && cfg.token) {
      const { joinCluster } = await import('./session/join.js');
      try {
        const joined = await joinCluster(cfg.server, cfg.token, hostname());
        saveIdentity(cfg.dataDir, joined);
        state.nodeId = joined.nodeId;
        save();
        log.info({ nodeId: joined.nodeId, cluster: joined.cluster, server: cfg.server }, 'joined the cluster; the node certificate is in the data directory');
      } catch (err) {
        console.error(`berth-agent: ${(err as Error).message}`);
        process.exit(1);
      }
      identity = loadIdentityTls(cfg.dataDir, cfg.caFile || undefined);
    }
    if (joinOnly) {
      if (!cfg.token) {
        console.error('berth-agent join: give --token TOKEN (berth token create prints one) and --server HOST:7400');
        process.exit(2);
      }
      process.exit(0);
    }
    if (identity) tls = identity;
    else if (existsSync(caFile)) tls = { caPem: readFileSync(caFile, 'utf8') };
    else {
      console.error(`berth-agent: this node has not joined: run berth-agent join --server HOST:7400 --token TOKEN (berth token create makes one), give --token, or --insecure for a control plane started with --insecure`);
      process.exit(2);
    }
  }

  const runtime = new DockerRuntime(cfg.dockerHost);
  // The fault suite's injection points (faults.ts); off unless BERTH_AGENT_FAULT names one.
  const fault = injectFaults(runtime, process.env[FAULT_ENV]);
  if (fault) log.warn({ fault }, `fault injection armed (${FAULT_ENV}=${fault}): for tests only`);
  // File secrets live on a tmpfs, per task; what a previous run left for tasks no longer here goes.
  const secretFiles = new SecretFiles(cfg.secretsDir || SecretFiles.defaultDir());
  try {
    if (!secretFiles.onTmpfs()) log.warn({ secretsDir: secretFiles.dir }, 'the secrets directory is not on a tmpfs: file secrets would touch the disk; use --secrets-dir on a tmpfs');
    secretFiles.prune(new Set(state.tasks.map((t) => t.taskId)));
  } catch (err) {
    log.warn({ secretsDir: secretFiles.dir, reason: (err as Error).message }, 'the secrets directory cannot be used; tasks with file secrets will fail to start');
  }
  if (state.nodeId) runtime.scopeTo(state.nodeId);
  let dockerVersion = '';
  let dockerRoot = '/var/lib/docker';
  let dockerOk: boolean | undefined;
  try {
    const info = await runtime.info();
    dockerVersion = info.version;
    dockerRoot = info.rootDir;
    dockerOk = true;
  } catch (err) {
    dockerOk = false;
    log.warn({ docker: cfg.dockerHost, reason: (err as Error).message }, `no Docker engine at ${cfg.dockerHost}: tasks cannot run until it answers; retrying`);
  }
  const facts = await readStaticFacts(dockerRoot);
  const capacity = registeredCapacity(facts, { cpu: cfg.reservedCpu, memoryMib: cfg.reservedMemoryMib });
  log.info(
    {
      nodeId: state.nodeId || '(new)',
      server: cfg.server,
      docker: dockerVersion || 'unreachable',
      dockerRoot,
      arch: facts.arch,
      device: facts.deviceModel || undefined,
      cpu: capacity.cpu,
      memoryMib: capacity.memoryMib,
      labels: cfg.labels,
      config: cfg.configFile,
      tasks: state.tasks.length,
    },
    `berth-agent ${BERTH_VERSION} starting: ${facts.hostname} (${facts.arch}${facts.deviceModel ? `, ${facts.deviceModel}` : ''}), ` +
      `Docker ${dockerVersion || 'unreachable'}, offering ${capacity.cpu} CPU units and ${capacity.memoryMib} MiB; connecting to ${cfg.server}`,
  );

  // Status reports are coalesced per task (latest wins): bounded memory however long the control plane is away.
  const pending = new Map<string, TaskStatus>();
  const flush = () => {
    if (pending.size === 0) return;
    if (session.send({ $case: 'taskStatus', value: { tasks: [...pending.values()] } })) pending.clear();
  };

  const engine = new TaskEngine(
    runtime,
    {
      report: (s) => {
        pending.set(s.taskId, s);
        flush();
        // Not sent (the control plane is away): held, the latest per task only. The fault suite reads this
        // line to see that what the agent holds stays bounded by its tasks however long it is cut off.
        if (pending.size > 0 && log.isLevelEnabled('debug')) log.debug({ taskId: s.taskId, lastStatus: s.lastStatus, held: pending.size, tracked: engine.tracked(), heapUsedKib: Math.round(process.memoryUsage().heapUsed / 1024) }, 'task status held until the control plane is back');
      },
      finished: (s) => {
        state.finished[s.taskId] = s;
        save();
      },
      dockerReachable: (ok, reason) => {
        if (ok === dockerOk) return;
        dockerOk = ok;
        if (ok) {
          log.info({ docker: cfg.dockerHost }, 'Docker engine reachable');
          void engineBack();
        } else {
          log.warn({ docker: cfg.dockerHost, reason }, `no Docker engine at ${cfg.dockerHost}; retrying`);
        }
      },
    },
    log,
    { mapping: { bindIp: cfg.bindIp, pauseImage: cfg.pauseImage }, pullPolicy: cfg.imagePull, secretFiles },
  );
  engine.restoreFinished(Object.values(state.finished));
  // Keep running the last desired set while the control plane is away (orphans wait for a fresh one).
  engine.setDesired(state.tasks, false);
  engine.start();

  let sampler = new HeartbeatSampler(dockerRoot);
  const statsSampler = new ContainerStatsSampler(runtime, () => engine.containers(), (batch) => session.send({ $case: 'stats', value: batch }), cfg.statsIntervalMs, log);
  statsSampler.start();
  void sampler.warm();
  let heartbeat: NodeJS.Timeout | undefined;
  let sessionGeneration: number | undefined;

  // The engine's facts as the current session's hello gave them. An engine that was unreachable then, or
  // came back as another version (an upgrade restarts it), makes the agent say hello again, so that the
  // node's facts (berth.docker-version, `berth node describe`) are the engine's, not "unreachable".
  let helloDockerVersion: string | undefined;
  const helloOutdated = () => {
    if (helloDockerVersion === undefined || !dockerVersion || helloDockerVersion === dockerVersion) return;
    session.reintroduce(`the Docker engine is now ${dockerVersion} (the hello said ${helloDockerVersion || 'unreachable'})`);
  };
  async function engineBack(): Promise<void> {
    try {
      const info = await runtime.info();
      dockerVersion = info.version;
      if (info.rootDir !== dockerRoot) {
        dockerRoot = info.rootDir;
        sampler = new HeartbeatSampler(dockerRoot);
        facts.diskTotalMib = Math.floor(((await diskUsage(dockerRoot))?.total ?? 0) / 1024 / 1024);
      }
      helloOutdated();
    } catch {
      // Gone again: looked at the next time it is back.
    }
  }

  async function inventory(): Promise<InventoryContainer[]> {
    try {
      return (await runtime.list()).filter((c) => !c.role).map((c) => ({ taskId: c.taskId, containerName: c.containerName, runtimeId: c.id, state: c.state, exitCode: c.exitCode }));
    } catch {
      return [];
    }
  }

  // The node's proxy (HAProxy, for its load balancers): the last snapshot is served again before the
  // control plane is reached; HAProxy outlives the agent (adopted by the next one).
  let sendHealth: (targets: TargetHealth[]) => void = () => undefined; // the session, once it exists
  const proxy = new ProxyManager({ dataDir: cfg.dataDir, haproxy: cfg.haproxy, log: log.child({ component: 'proxy' }), onHealth: (targets) => sendHealth(targets) });
  await proxy.start().catch((err: unknown) => log.error({ reason: (err as Error).message }, 'the proxy could not start; it is programmed again with the next snapshot'));

  // Logs go straight from the engine to the control plane, chunked, never through the task engine.
  const logDocker = runtime.docker;
  const logStreamer = new LogStreamer({
    find: (taskId, name) => findTaskContainer(logDocker, taskId, name),
    open: (id, o, signal) => dockerLogs(logDocker, id, o, signal),
    send: (chunk) => session.send({ $case: 'logs', value: chunk }),
    log,
  });

  const session = new ControlPlaneSession(
    cfg.server,
    {
      hello: async (): Promise<Hello> => {
        const found = await inventory();
        helloDockerVersion = dockerVersion;
        return {
          protocolVersion: PROTOCOL_VERSION,
          minProtocolVersion: MIN_SUPPORTED_PROTOCOL_VERSION,
          agentVersion: BERTH_VERSION,
          nodeId: state.nodeId,
          // A joined node belongs to the cluster its certificate names.
          cluster: (tls.certPem && certInfo(tls.certPem).organizationalUnit) || cfg.cluster,
          facts: { ...facts, dockerVersion, registeredCpu: capacity.cpu, registeredMemoryMib: capacity.memoryMib },
          labels: cfg.labels,
          inventory: found,
          appliedGeneration: state.generation,
          // Where other nodes' proxies reach this node's published ports (empty: bound to every address).
          address: cfg.bindIp === '0.0.0.0' || cfg.bindIp === '::' ? '' : cfg.bindIp,
        };
      },
      onWelcome: (w) => {
        sessionGeneration = undefined;
        if (w.nodeId && w.nodeId !== state.nodeId) {
          state.nodeId = w.nodeId;
          runtime.scopeTo(w.nodeId);
          save();
          log.info({ nodeId: w.nodeId }, 'registered as a new node');
        }
        clearInterval(heartbeat);
        heartbeat = setInterval(() => {
          sampler.sample(dockerOk === true).then(
            (hb) => session.send({ $case: 'heartbeat', value: hb }),
            (err) => log.debug({ err }, 'heartbeat sample failed'),
          );
        }, Math.max(500, w.heartbeatIntervalMs));
        engine.setConnected(true);
        // The control plane may have missed reports while we were apart: send what we know.
        for (const s of engine.currentStatuses()) pending.set(s.taskId, s);
        flush();
        // And what the proxy's servers look like now (health is sent as it changes from here).
        const targets = proxy.health();
        if (targets.length > 0) session.send({ $case: 'targetHealth', value: { targets } });
        helloOutdated(); // the engine came back while this hello was on its way
      },
      onDesiredState: (d) => {
        // Within a session generations only grow; a replayed or reordered older one is dropped.
        if (sessionGeneration !== undefined && d.generation <= sessionGeneration) {
          log.debug({ generation: d.generation, applied: sessionGeneration }, 'stale desired state ignored');
          return;
        }
        sessionGeneration = d.generation;
        state.generation = d.generation;
        state.tasks = d.tasks;
        const listed = new Set(d.tasks.map((t) => t.taskId));
        for (const id of Object.keys(state.finished)) if (!listed.has(id)) delete state.finished[id];
        save(); // persist first, then ack, then apply
        session.send({ $case: 'ack', value: { generation: d.generation } });
        engine.setDesired(d.tasks, true);
      },
      onProxySnapshot: (snapshot) => {
        // Acked once applied and persisted; refused with the reason (the previous one keeps serving).
        proxy.apply(snapshot).then(
          () => session.send({ $case: 'proxyAck', value: { version: snapshot.version, error: '' } }),
          (err: unknown) => {
            const reason = (err as Error).message;
            log.error({ version: snapshot.version, reason }, 'proxy snapshot not applied; the previous one keeps serving');
            session.send({ $case: 'proxyAck', value: { version: snapshot.version, error: reason } });
          },
        );
      },
      onLogsRequest: (r) => logStreamer.start(r),
      onLogsCancel: (id) => logStreamer.cancel(id),
      onDisconnected: () => {
        clearInterval(heartbeat);
        logStreamer.cancelAll();
        engine.setConnected(false);
      },
    },
    log,
    tls,
  );
  sendHealth = (targets) => void session.send({ $case: 'targetHealth', value: { targets } });
  session.start();

  // Renewal: at two thirds of the node certificate's lifetime, a new key and certificate, asked for with
  // the current one; retried every 10 minutes while the control plane is away (the old one stays valid).
  const RENEW_RETRY_MS = 10 * 60_000;
  let renewTimer: NodeJS.Timeout | undefined;
  function scheduleRenewal(): void {
    if (!tls.certPem) return;
    const wait = Math.max(10_000, renewAt(tls.certPem).getTime() - Date.now());
    // setTimeout holds at most ~24.8 days; longer waits are taken in steps.
    renewTimer = setTimeout(() => (renewAt(tls.certPem!).getTime() <= Date.now() ? void renew() : scheduleRenewal()), Math.min(wait, 2 ** 31 - 1));
    renewTimer.unref();
  }
  async function renew(): Promise<void> {
    try {
      const { renewCertificate } = await import('./session/join.js');
      const next = await renewCertificate(cfg.server, tls);
      saveIdentity(cfg.dataDir, { caPem: tls.caPem!, ...next });
      tls = { ...tls, ...next };
      session.useCredentials(tls);
      log.info({ validUntil: certInfo(next.certPem).notAfter }, 'node certificate renewed');
      scheduleRenewal();
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'node certificate renewal failed; retrying in 10 minutes');
      renewTimer = setTimeout(() => void renew(), RENEW_RETRY_MS);
      renewTimer.unref();
    }
  }
  scheduleRenewal();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // With --drain the heartbeat goes on until the containers are stopped: a drain longer than the
    // node-lost grace (a task's stopTimeout can be longer) must not get the node declared lost.
    if (!cfg.drain) clearInterval(heartbeat);
    statsSampler.stop();
    logStreamer.cancelAll();
    const drained = cfg.drain
      ? (log.info({ signal }, 'stopping the agent and, with --drain, its containers and then its HAProxy'),
        engine
          .drain()
          .then(flush, (err) => log.error({ err }, 'drain failed; containers may still run'))
          .then(() => proxy.stop({ stopHaproxy: true })))
      : (log.info({ signal }, 'stopping the agent; containers and HAProxy keep running'), engine.stop(), proxy.stop());
    drained.finally(() => (clearInterval(heartbeat), session.stop().finally(() => process.exit(0))));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'the agent failed to start');
  process.exit(1);
});
