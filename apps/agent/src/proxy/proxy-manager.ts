import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxySnapshot, TargetHealth } from '@berth/proto';
import type { Logger } from 'pino';
import { renderHaproxyConfig } from './haproxy-config.js';
import { frontendName } from './haproxy-names.js';
import { alerts, checkConfig, findHaproxy, isAlive, isOurHaproxy, logSize, readLogFrom, readPid, spawnHaproxy } from './haproxy-process.js';
import { HaproxyRuntime } from './haproxy-runtime.js';
import { proxyStats, targetHealth, type ProxyStats, type StatRow } from './haproxy-stat.js';
import { planProxyChange, postStartCommands, type PendingRemoval } from './plan-proxy-change.js';
import { checkPortFree } from './port-check.js';
import { SnapshotFile, writeAtomically } from './snapshot-file.js';

export interface Clock {
  now(): number;
}

export interface ProxyManagerOptions {
  dataDir: string;
  /** The HAProxy binary (--haproxy): a path, or a name looked up on PATH. */
  haproxy?: string;
  log: Logger;
  /** Every server's health, when anything changed and every reportEveryMs. */
  onHealth?(targets: TargetHealth[]): void;
  clock?: Clock;
  pollMs?: number;
  reportEveryMs?: number;
  /** How often the master's liveness is looked at (a dead one is restarted at once). */
  watchMs?: number;
  /** How long HAProxy gets to start or reload. */
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The node's HAProxy, supervised: programmed from proxy snapshots (runtime API when only servers change,
 * a seamless master-worker reload otherwise), restarted when it dies, its servers' health polled.
 * HAProxy outlives the agent (detached, adopted by the next agent through its pid file); only an empty
 * snapshot or stop({ stopHaproxy: true }) stops it.
 */
export class ProxyManager {
  readonly dir: string;
  readonly cfgFile: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly runtime: HaproxyRuntime;
  private readonly store: SnapshotFile;
  private readonly log: Logger;
  private readonly clock: Clock;
  private bin: string | undefined;
  private applied: ProxySnapshot | undefined;
  private masterPid: number | undefined;
  private workerPid: number | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private removals: PendingRemoval[] = [];
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private restarting = false;
  private lastHealth: TargetHealth[] = [];
  private lastHealthKey = '';
  private lastReportAt = 0;
  /** What an adopted HAProxy serves (its listeners hold their ports) until the first apply. */
  private adopted: ProxySnapshot | undefined;

  constructor(private readonly opts: ProxyManagerOptions) {
    this.dir = join(opts.dataDir, 'proxy');
    this.cfgFile = join(this.dir, 'haproxy.cfg');
    this.pidFile = join(this.dir, 'haproxy.pid');
    this.logFile = join(this.dir, 'haproxy.log');
    this.runtime = new HaproxyRuntime(join(this.dir, 'haproxy.sock'));
    this.store = new SnapshotFile(join(this.dir, 'snapshot.json'));
    this.log = opts.log;
    this.clock = opts.clock ?? Date;
  }

  /** The last snapshot applied (persisted), if any. */
  current(): ProxySnapshot | undefined {
    return this.applied;
  }

  /** The HAProxy master's pid while one runs. */
  pid(): number | undefined {
    return isAlive(this.masterPid) ? this.masterPid : undefined;
  }

  /** Every server's health as last polled. */
  private runningConfigIs(snapshot: ProxySnapshot): boolean {
    try {
      return readFileSync(this.cfgFile, 'utf8') === renderHaproxyConfig(snapshot, { statsSocket: this.runtime.socketPath });
    } catch {
      return false;
    }
  }

  /** The servers the running HAProxy has healthy now (else the last report's). */
  private async liveHealthyServers(): Promise<Set<string>> {
    try {
      const rows = await this.runtime.showStat();
      const live = targetHealth(this.applied ?? this.adopted, rows).filter((h) => h.state === 'healthy');
      return new Set([...this.healthyServers(), ...live.map((h) => `${h.backendId}/${h.serverId}`)]);
    } catch {
      return this.healthyServers();
    }
  }

  /** "backendId/serverId" of the servers last seen healthy (a reload keeps them up). */
  private healthyServers(): Set<string> {
    return new Set(this.lastHealth.filter((h) => h.state === 'healthy').map((h) => `${h.backendId}/${h.serverId}`));
  }

  health(): TargetHealth[] {
    return this.lastHealth;
  }

  /**
   * Serves the persisted snapshot (before the control plane is reached): adopts the HAProxy a previous
   * agent left running (reloading it with the snapshot), else starts one. Then supervises.
   */
  async start(): Promise<void> {
    const persisted = this.store.load((w) => this.log.warn(w));
    const pid = readPid(this.pidFile);
    if (pid && isAlive(pid) && isOurHaproxy(pid, this.cfgFile)) {
      const answers = await this.runtime.workerPid().then(
        (w) => w,
        () => undefined,
      );
      if (answers) {
        this.masterPid = pid;
        this.workerPid = answers;
        this.adopted = persisted;
        this.log.info({ pid, worker: answers }, 'adopted the running HAProxy');
      } else {
        this.log.warn({ pid }, 'an HAProxy of this node runs but its socket does not answer; replacing it');
        await this.stopMaster(pid);
      }
    }
    this.startTimers();
    // The running HAProxy already serves exactly the persisted snapshot (an agent restart): nothing to touch.
    if (this.masterPid && persisted && persisted.frontends.length > 0 && this.runningConfigIs(persisted)) {
      this.applied = persisted;
      this.adopted = undefined;
      this.log.info({ version: persisted.version }, 'the adopted HAProxy serves the persisted snapshot as it is');
      return;
    }
    if (persisted && persisted.frontends.length > 0) {
      try {
        await this.enqueue(() => this.doApply(persisted, this.masterPid !== undefined ? 'reload' : 'auto'));
        this.log.info({ version: persisted.version, frontends: persisted.frontends.length }, 'serving the persisted proxy snapshot');
      } catch (err) {
        this.log.error({ reason: (err as Error).message }, 'the persisted proxy snapshot could not be served');
      }
    } else if (this.masterPid) {
      await this.enqueue(() => this.stopHaproxy());
    }
  }

  /** Programs HAProxy to serve next; resolves once applied and persisted, rejects with a readable reason (the previous one keeps serving). */
  apply(next: ProxySnapshot): Promise<void> {
    return this.enqueue(() => this.doApply(next, 'auto'));
  }

  /** Per frontend/backend/server counters from `show stat`. */
  async stats(): Promise<ProxyStats> {
    const rows = this.pid() ? await this.runtime.showStat().catch(() => [] as StatRow[]) : [];
    return proxyStats(this.applied, rows, frontendName);
  }

  /** Stops supervising; HAProxy keeps serving unless stopHaproxy (an agent stopped with --drain). */
  async stop(opts: { stopHaproxy?: boolean } = {}): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (opts.stopHaproxy) await this.enqueue(() => this.stopHaproxy());
    else await this.serial.catch(() => undefined);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async doApply(next: ProxySnapshot, mode: 'auto' | 'reload'): Promise<void> {
    if (next.frontends.length === 0) {
      this.store.save(next);
      this.applied = next; // first: the watch must not restart what is being stopped
      await this.stopHaproxy();
      this.removals = [];
      this.log.info({ version: next.version }, 'proxy snapshot without listeners: HAProxy stopped');
      return;
    }
    this.bin ??= findHaproxy(this.opts.haproxy || 'haproxy');
    const text = renderHaproxyConfig(next, { statsSocket: this.runtime.socketPath });
    const candidate = `${this.cfgFile}.new`;
    writeAtomically(candidate, text);
    const invalid = await checkConfig(this.bin, candidate);
    rmSync(candidate, { force: true });
    if (invalid) throw new Error(`HAProxy refuses the configuration for snapshot ${next.version}: ${invalid}`);
    const running = this.pid() !== undefined;
    await this.checkNewPorts(running ? (this.applied ?? this.adopted) : undefined, next);
    const previousText = running && this.applied ? renderHaproxyConfig(this.applied, { statsSocket: this.runtime.socketPath }) : undefined;

    if (!running) {
      writeAtomically(this.cfgFile, text);
      await this.spawn();
      await this.runAll(postStartCommands(next, this.healthyServers()));
      this.removals = [];
      this.log.info({ version: next.version, pid: this.masterPid }, 'HAProxy started');
    } else {
      const plan = mode === 'reload' ? { reload: true, reason: 'adopting a running HAProxy', runtimeCommands: [], removals: [] } : planProxyChange(this.applied, next);
      let reload = plan.reload;
      let reason = plan.reason;
      if (!reload) {
        try {
          await this.runAll(plan.runtimeCommands);
          writeAtomically(this.cfgFile, text);
          const removing = new Set(plan.removals.map((r) => `${r.backend}/${r.server}`));
          this.removals = [...this.removals.filter((r) => !removing.has(`${r.backend}/${r.server}`)), ...plan.removals];
          if (plan.runtimeCommands.length > 0) this.log.info({ version: next.version, commands: plan.runtimeCommands.length }, 'servers changed through the runtime API (no reload)');
        } catch (err) {
          reload = true;
          reason = `a runtime command failed (${(err as Error).message})`;
        }
      }
      if (reload) {
        // What the running HAProxy has up now stays up after the reload (an adopted one included).
        const healthy = await this.liveHealthyServers();
        writeAtomically(this.cfgFile, text);
        try {
          await this.reload();
        } catch (err) {
          if (previousText) writeAtomically(this.cfgFile, previousText);
          throw err;
        }
        this.removals = [];
        await this.runAll(postStartCommands(next, healthy));
        this.log.info({ version: next.version, reason, worker: this.workerPid }, 'HAProxy reloaded');
      }
    }
    this.store.save(next);
    this.applied = next;
    this.adopted = undefined;
    void this.poll();
  }

  private async runAll(commands: string[]): Promise<void> {
    for (const c of commands) await this.runtime.run(c);
  }

  /** Listeners new to this snapshot: their address and port must be free (a readable reason beats HAProxy's failed reload). */
  private async checkNewPorts(old: ProxySnapshot | undefined, next: ProxySnapshot): Promise<void> {
    const held = new Set((old?.frontends ?? []).map((f) => f.port));
    for (const f of next.frontends) {
      if (held.has(f.port)) continue;
      try {
        await checkPortFree(f.bindAddress, f.port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'is in use by another process' : code === 'EACCES' ? 'needs privileges (a port below 1024: run the agent as root or give HAProxy CAP_NET_BIND_SERVICE)' : `cannot be listened on (${(err as Error).message})`;
        throw new Error(`listener ${f.id}: ${f.bindAddress || '0.0.0.0'}:${f.port} ${why}`);
      }
    }
  }

  private async spawn(): Promise<void> {
    const from = logSize(this.logFile);
    const { pid, exited } = spawnHaproxy(this.bin!, this.cfgFile, this.pidFile, this.logFile);
    this.masterPid = pid;
    this.workerPid = undefined;
    let gone = false;
    void exited.then(() => {
      gone = true;
      if (this.masterPid === pid) this.onMasterGone();
    });
    const deadline = this.clock.now() + (this.opts.readyTimeoutMs ?? 10_000);
    while (this.clock.now() < deadline) {
      if (gone || !isAlive(pid)) throw new Error(`HAProxy did not start: ${this.reasonSince(from) || 'it exited'}`);
      const worker = await this.runtime.workerPid().catch(() => undefined);
      if (worker && worker !== pid) {
        this.workerPid = worker;
        return;
      }
      await sleep(50);
    }
    throw new Error(`HAProxy did not answer on ${this.runtime.socketPath} within ${this.opts.readyTimeoutMs ?? 10_000} ms: ${this.reasonSince(from)}`);
  }

  /** Master-worker reload (SIGUSR2): a new worker takes the listeners over; the old one finishes its connections. */
  private async reload(): Promise<void> {
    const master = this.masterPid!;
    const oldWorker = this.workerPid ?? (await this.runtime.workerPid().catch(() => undefined));
    const from = logSize(this.logFile);
    process.kill(master, 'SIGUSR2');
    const deadline = this.clock.now() + (this.opts.readyTimeoutMs ?? 10_000);
    while (this.clock.now() < deadline) {
      await sleep(50);
      const said = readLogFrom(this.logFile, from);
      if (/Loading failure/.test(said)) throw new Error(`HAProxy could not reload: ${alerts(said).join('; ') || 'loading failure'}`);
      if (!isAlive(master)) throw new Error(`HAProxy exited while reloading: ${alerts(said).join('; ')}`);
      const worker = await this.runtime.workerPid().catch(() => undefined);
      if (worker && worker !== oldWorker && /Loading success/.test(said)) {
        this.workerPid = worker;
        return;
      }
    }
    throw new Error(`HAProxy did not finish reloading within ${this.opts.readyTimeoutMs ?? 10_000} ms: ${alerts(readLogFrom(this.logFile, from)).join('; ')}`);
  }

  private reasonSince(offset: number): string {
    return alerts(readLogFrom(this.logFile, offset)).join('; ');
  }

  private onMasterGone(): void {
    if (this.stopped || this.restarting || !this.applied || this.applied.frontends.length === 0) return;
    this.restarting = true;
    const master = this.masterPid;
    const worker = this.workerPid;
    this.log.warn({ pid: master, reason: this.reasonSince(Math.max(0, logSize(this.logFile) - 2048)) }, 'HAProxy exited; restarting it with the last snapshot');
    void this.enqueue(async () => {
      try {
        if (this.pid() !== undefined && this.masterPid !== master) return; // restarted meanwhile
        if (this.stopped || !this.applied || this.applied.frontends.length === 0) return; // stopped meanwhile
        // A worker whose master was killed may still serve: it is told to finish its connections and go
        // (soft stop) while the new HAProxy binds next to it (SO_REUSEPORT); it is not waited for.
        if (worker && isAlive(worker) && isOurHaproxy(worker, this.cfgFile)) this.retire(worker);
        this.masterPid = undefined;
        const snapshot = this.applied!;
        await this.spawn();
        await this.runAll(postStartCommands(snapshot, this.healthyServers()));
        this.removals = [];
        this.log.info({ pid: this.masterPid, version: snapshot.version }, 'HAProxy restarted');
      } catch (err) {
        this.log.error({ reason: (err as Error).message }, 'HAProxy could not be restarted; trying again');
        this.masterPid = undefined;
      } finally {
        this.restarting = false;
      }
    });
  }

  private async stopHaproxy(): Promise<void> {
    const pid = this.masterPid ?? readPid(this.pidFile);
    this.masterPid = undefined;
    this.workerPid = undefined;
    if (pid && isAlive(pid) && isOurHaproxy(pid, this.cfgFile)) await this.stopMaster(pid);
  }

  private retire(pid: number): void {
    try {
      process.kill(pid, 'SIGUSR1');
    } catch {
      return;
    }
    setTimeout(() => {
      if (isAlive(pid) && isOurHaproxy(pid, this.cfgFile)) process.kill(pid, 'SIGTERM');
    }, 30_000).unref();
  }

  /** Soft stop (SIGUSR1: listeners close, connections finish), then SIGTERM, then SIGKILL. */
  private async stopMaster(pid: number): Promise<void> {
    const signals: [NodeJS.Signals, number][] = [['SIGUSR1', 5_000], ['SIGTERM', 2_000], ['SIGKILL', 1_000]];
    for (const [signal, wait] of signals) {
      try {
        process.kill(pid, signal);
      } catch {
        return;
      }
      for (let waited = 0; waited < wait && isAlive(pid); waited += 50) await sleep(50);
      if (!isAlive(pid)) return;
    }
  }

  private startTimers(): void {
    const watch = setInterval(() => {
      if (this.masterPid && !isAlive(this.masterPid) && !this.restarting) this.onMasterGone();
      else if (!this.masterPid && !this.restarting && this.applied && this.applied.frontends.length > 0 && !this.stopped) this.onMasterGone();
    }, this.opts.watchMs ?? 250);
    const poll = setInterval(() => void this.poll(), this.opts.pollMs ?? 1_000);
    watch.unref();
    poll.unref();
    this.timers.push(watch, poll);
  }

  /** Health (reported when it changed, and every reportEveryMs) and the deletion of removed servers once drained. */
  private async poll(): Promise<void> {
    if (!this.applied || this.stopped) return;
    const rows = this.pid() ? await this.runtime.showStat().catch(() => undefined) : undefined;
    if (rows === undefined && this.applied.frontends.length > 0) return;
    const health = targetHealth(this.applied, rows ?? []);
    const key = JSON.stringify(health);
    const now = this.clock.now();
    this.lastHealth = health;
    if (key !== this.lastHealthKey || now - this.lastReportAt >= (this.opts.reportEveryMs ?? 10_000)) {
      this.lastHealthKey = key;
      this.lastReportAt = now;
      this.opts.onHealth?.(health);
    }
    if (this.removals.length > 0 && rows) void this.enqueue(() => this.deleteDrained());
  }

  private async deleteDrained(): Promise<void> {
    if (this.removals.length === 0 || !this.pid()) return;
    const rows = await this.runtime.showStat().catch(() => undefined);
    if (!rows) return;
    const byName = new Map(rows.map((r) => [`${r.pxname}/${r.svname}`, r]));
    const left: PendingRemoval[] = [];
    for (const r of this.removals) {
      const id = `${r.backend}/${r.server}`;
      const row = byName.get(id);
      if (!row) continue; // gone already (a reload)
      if (Number(row.scur || 0) > 0) {
        left.push(r);
        continue;
      }
      try {
        await this.runtime.delServer(id);
        this.log.debug({ server: id }, 'removed server deleted');
      } catch (err) {
        this.log.debug({ server: id, reason: (err as Error).message }, 'removed server not deletable yet');
        left.push(r);
      }
    }
    this.removals = left;
  }
}
