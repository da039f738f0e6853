import type { ProxyBackend, ProxyServer, ProxySnapshot } from '@berth/proto';
import { checkParams, serverAddress, serverParams, serverWeight } from './haproxy-config.js';
import { backendName, serverName } from './haproxy-names.js';

/** A server to delete once it has no sessions left (it is in maintenance by then). */
export interface PendingRemoval {
  backend: string;
  server: string;
}

/**
 * How to go from one snapshot to the next: a seamless reload when anything but the servers changed
 * (listeners, rules, backends, health checks), else HAProxy runtime API commands, in order, and the
 * servers to delete once drained.
 */
export interface ProxyPlan {
  reload: boolean;
  /** Why a reload, for the log. */
  reason: string;
  runtimeCommands: string[];
  removals: PendingRemoval[];
}

/** A snapshot without what the runtime API can change (servers) nor its version. */
function structure(s: ProxySnapshot): string {
  return JSON.stringify({ frontends: s.frontends, backends: s.backends.map((b) => ({ ...b, servers: [] })) });
}

export function planProxyChange(old: ProxySnapshot | undefined, next: ProxySnapshot): ProxyPlan {
  if (!old) return { reload: true, reason: 'nothing applied yet', runtimeCommands: [], removals: [] };
  if (JSON.stringify(old.frontends) !== JSON.stringify(next.frontends)) return { reload: true, reason: 'listeners or rules changed', runtimeCommands: [], removals: [] };
  if (structure(old) !== structure(next)) return { reload: true, reason: 'target groups or health checks changed', runtimeCommands: [], removals: [] };
  const adds: string[] = [];
  const updates: string[] = [];
  const maints: string[] = [];
  const removals: PendingRemoval[] = [];
  const before = new Map(old.backends.map((b) => [b.id, b]));
  for (const be of next.backends) {
    const prev = new Map((before.get(be.id)?.servers ?? []).map((s) => [s.id, s]));
    const bn = backendName(be.id);
    for (const s of be.servers) {
      const p = prev.get(s.id);
      prev.delete(s.id);
      if (!p) adds.push(...addServerCommands(be, s));
      else updates.push(...updateServerCommands(bn, p, s));
    }
    for (const gone of prev.values()) {
      const sn = serverName(gone.id);
      maints.push(`set server ${bn}/${sn} state maint`);
      removals.push({ backend: bn, server: sn });
    }
  }
  return { reload: false, reason: '', runtimeCommands: [...adds, ...updates, ...maints], removals };
}

/**
 * A dynamic server (HAProxy 2.6 `add server`): added in maintenance, with the check timing spelled out,
 * and marked down so it takes traffic only after `rise` passing checks (ELB's healthy threshold), never
 * before its first check as a plain new server would.
 */
export function addServerCommands(be: ProxyBackend, s: ProxyServer): string[] {
  const id = `${backendName(be.id)}/${serverName(s.id)}`;
  const checked = !!be.healthCheck;
  // Leaving maintenance puts a server up; marked down in the same command line (no request in between).
  const ready = s.state === 'draining' ? `set server ${id} state drain` : `enable server ${id}`;
  return [
    `add server ${id} ${serverAddress(s)} ${[...serverParams(be, s), ...checkParams(be)].join(' ')}`,
    `enable health ${id}`,
    checked ? `${ready}; set server ${id} health down` : ready,
  ];
}

function updateServerCommands(bn: string, p: ProxyServer, s: ProxyServer): string[] {
  const id = `${bn}/${serverName(s.id)}`;
  const out: string[] = [];
  if (p.address !== s.address || p.port !== s.port) out.push(`set server ${id} addr ${s.address} port ${s.port}`);
  const wasDraining = p.state === 'draining';
  const draining = s.state === 'draining';
  if (draining && !wasDraining) out.push(`set server ${id} state drain`);
  if (!draining && wasDraining) out.push(`set server ${id} state ready`, `set server ${id} weight ${serverWeight(s)}`);
  if (!draining && !wasDraining && serverWeight(p) !== serverWeight(s)) out.push(`set server ${id} weight ${serverWeight(s)}`);
  return out;
}

/**
 * What a freshly started (or reloaded) HAProxy needs on top of its config: draining servers drain, and
 * servers not known healthy (`healthy` holds "backendId/serverId") are down until their checks pass:
 * HAProxy starts every configured server up.
 */
export function postStartCommands(s: ProxySnapshot, healthy: ReadonlySet<string> = new Set()): string[] {
  return s.backends.flatMap((be) =>
    be.servers.flatMap((x) => {
      const id = `${backendName(be.id)}/${serverName(x.id)}`;
      if (x.state === 'draining') return [`set server ${id} state drain`];
      return be.healthCheck && !healthy.has(`${be.id}/${x.id}`) ? [`set server ${id} health down`] : [];
    }),
  );
}
