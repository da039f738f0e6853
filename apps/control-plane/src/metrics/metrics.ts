import { performance } from 'node:perf_hooks';

/** Bucket upper bounds in seconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A cumulative histogram as Prometheus keeps one: counts per bucket, their sum and count. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[] = LATENCY_BUCKETS,
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) this.counts[i]!++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/**
 * The control plane's own figures at GET /metrics (Prometheus text format): event-loop lag,
 * agent message handling time, live agent sessions, process CPU and memory.
 */
export class Metrics {
  /** How late a 100 ms timer fires: the time the event loop was busy with something else. */
  readonly eventLoopLag = new Histogram('berth_event_loop_lag_seconds', 'How late a 100 ms timer fired (event-loop lag).');
  /** From a heartbeat's arrival on its agent's stream to the end of its handling (queueing behind the agent's earlier messages included). */
  readonly heartbeatHandling = new Histogram('berth_heartbeat_handling_seconds', 'From a heartbeat arriving to the end of its handling.');
  heartbeats = 0;
  /** Agent messages received and not handled yet (every session's queue). */
  agentMessagesQueued = 0;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(private readonly gauges: { agentSessions(): number; heldStatusReports?(): number }) {}

  /** Starts sampling the event loop (a 100 ms timer, unref'd). */
  start(): void {
    let expected = performance.now() + 100;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      this.eventLoopLag.observe(Math.max(0, now - expected) / 1000);
      expected = now + 100;
    }, 100);
    this.lagTimer.unref();
  }

  stop(): void {
    clearInterval(this.lagTimer);
  }

  render(): string {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return [
      '# HELP berth_agent_sessions Agents connected now.',
      '# TYPE berth_agent_sessions gauge',
      `berth_agent_sessions ${this.gauges.agentSessions()}`,
      '# HELP berth_heartbeats_total Heartbeats received.',
      '# TYPE berth_heartbeats_total counter',
      `berth_heartbeats_total ${this.heartbeats}`,
      '# HELP berth_agent_messages_queued Agent messages received and not handled yet.',
      '# TYPE berth_agent_messages_queued gauge',
      `berth_agent_messages_queued ${this.agentMessagesQueued}`,
      '# HELP berth_task_status_reports_held Task status reports held in memory until the database takes them.',
      '# TYPE berth_task_status_reports_held gauge',
      `berth_task_status_reports_held ${this.gauges.heldStatusReports?.() ?? 0}`,
      this.eventLoopLag.render(),
      this.heartbeatHandling.render(),
      '# HELP process_cpu_seconds_total CPU time of the control plane (user and system).',
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      '# HELP process_resident_memory_bytes Resident memory of the control plane.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${mem.rss}`,
      '# HELP nodejs_heap_used_bytes V8 heap in use by the control plane.',
      '# TYPE nodejs_heap_used_bytes gauge',
      `nodejs_heap_used_bytes ${mem.heapUsed}`,
      '',
    ].join('\n');
  }
}
