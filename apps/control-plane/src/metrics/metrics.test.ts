import { describe, expect, it } from 'vitest';
import { Histogram, Metrics } from './metrics.js';

describe('metrics', () => {
  it('a histogram counts cumulatively per bucket, with sum and count', () => {
    const h = new Histogram('x_seconds', 'x', [0.01, 0.1, 1]);
    for (const v of [0.005, 0.05, 0.05, 0.5, 3]) h.observe(v);
    expect(h.render().split('\n')).toEqual([
      '# HELP x_seconds x',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.01"} 1',
      'x_seconds_bucket{le="0.1"} 3',
      'x_seconds_bucket{le="1"} 4',
      'x_seconds_bucket{le="+Inf"} 5',
      'x_seconds_sum 3.605',
      'x_seconds_count 5',
    ]);
  });

  it('renders the gauges and the process figures in the Prometheus text format', () => {
    const m = new Metrics({ agentSessions: () => 7, heldStatusReports: () => 4 });
    m.heartbeats = 3;
    m.agentMessagesQueued = 2;
    const text = m.render();
    expect(text).toContain('berth_agent_sessions 7\n');
    expect(text).toContain('berth_heartbeats_total 3\n');
    expect(text).toContain('berth_agent_messages_queued 2\n');
    expect(text).toContain('berth_task_status_reports_held 4\n');
    expect(text).toMatch(/nodejs_heap_used_bytes \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/process_cpu_seconds_total [\d.]+/);
    expect(text).toContain('berth_event_loop_lag_seconds_count 0');
  });
});
