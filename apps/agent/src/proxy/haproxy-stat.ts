import type { ProxySnapshot, TargetHealth } from '@berth/proto';
import { backendName, serverName } from './haproxy-names.js';

/** One row of `show stat`, by column name. */
export type StatRow = Record<string, string>;

/** Parses `show stat`'s CSV (header line "# pxname,svname,..."). */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const cells = l.split(',');
      const row: StatRow = {};
      cols.forEach((c, i) => {
        if (c) row[c] = cells[i] ?? '';
      });
      return row;
    });
}

/** A server's health in ELB's words, from its `show stat` row and whether the snapshot drains it. */
export function serverHealth(row: StatRow, draining: boolean): { state: string; reason: string } {
  const check = (row.check_status ?? '').replace(/^\*\s*/, '').trim();
  const code = row.check_code ?? '';
  const info = row.last_chk ?? '';
  const reason = check && check !== 'INI' ? [check, code || info].filter(Boolean).join(' ') : '';
  const status = row.status ?? '';
  // Drained: draining with no connection left (the control plane then lets the task stop, as ELB completes a deregistration early).
  if (draining || status.startsWith('DRAIN') || status.startsWith('NOLB')) return { state: Number(row.scur ?? '1') === 0 ? 'drained' : 'draining', reason };
  if (status.startsWith('MAINT') || check === '' || check === 'INI') return { state: 'initial', reason };
  if (status.startsWith('UP')) return { state: 'healthy', reason };
  // Down with its last check passing: a new server on its way up (held down until `rise` checks pass), not a failing one.
  if (status.startsWith('DOWN') && /^L[4-7]OK$/.test(check)) return { state: 'initial', reason };
  if (status.startsWith('DOWN')) return { state: 'unhealthy', reason };
  return { state: 'initial', reason };
}

/** Every server of the snapshot with its health (servers HAProxy does not list yet are initial). */
export function targetHealth(snapshot: ProxySnapshot | undefined, rows: StatRow[]): TargetHealth[] {
  if (!snapshot) return [];
  const byName = new Map(rows.map((r) => [`${r.pxname}/${r.svname}`, r]));
  return snapshot.backends.flatMap((be) =>
    be.servers.map((s) => {
      const row = byName.get(`${backendName(be.id)}/${serverName(s.id)}`);
      const h = row ? serverHealth(row, s.state === 'draining') : { state: s.state === 'draining' ? 'draining' : 'initial', reason: '' };
      return { backendId: be.id, serverId: s.id, ...h };
    }),
  );
}

export interface ProxyCounters {
  /** The snapshot's id (frontend/backend id; server id within its backend). */
  id: string;
  reqTot: number;
  hrsp2xx: number;
  hrsp4xx: number;
  hrsp5xx: number;
  scur: number;
  /** Average response time over the last 1024 requests, ms. */
  rtimeMs: number;
}

export interface ProxyStats {
  frontends: ProxyCounters[];
  backends: (ProxyCounters & { servers: ProxyCounters[] })[];
}

/** Per frontend, backend and server counters, keyed by the snapshot's ids. */
export function proxyStats(snapshot: ProxySnapshot | undefined, rows: StatRow[], frontendName: (id: string) => string): ProxyStats {
  if (!snapshot) return { frontends: [], backends: [] };
  const byName = new Map(rows.map((r) => [`${r.pxname}/${r.svname}`, r]));
  const counters = (id: string, row: StatRow | undefined): ProxyCounters => {
    const n = (k: string) => Number(row?.[k] || 0) || 0;
    return { id, reqTot: n('req_tot') || n('stot'), hrsp2xx: n('hrsp_2xx'), hrsp4xx: n('hrsp_4xx'), hrsp5xx: n('hrsp_5xx'), scur: n('scur'), rtimeMs: n('rtime') };
  };
  return {
    frontends: snapshot.frontends.map((f) => counters(f.id, byName.get(`${frontendName(f.id)}/FRONTEND`))),
    backends: snapshot.backends.map((b) => ({
      ...counters(b.id, byName.get(`${backendName(b.id)}/BACKEND`)),
      servers: b.servers.map((s) => counters(s.id, byName.get(`${backendName(b.id)}/${serverName(s.id)}`))),
    })),
  };
}
