import type { ProxyAction, ProxyBackend, ProxyFrontend, ProxyHealthCheck, ProxyRule, ProxyServer, ProxySnapshot } from '@berth/proto';
import { expectStatus, hasWildcard, pathMatch, queryStringRegex, wildcardToRegex } from './elb-match.js';
import { backendName, frontendName, serverName } from './haproxy-names.js';

/** Where HAProxy's sockets live: the stats socket (admin level, hands the listeners over on a reload). */
export interface HaproxyPaths {
  statsSocket: string;
}

/** ELB's health-check defaults, for fields the snapshot leaves at 0. */
export const CHECK_DEFAULTS = { intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' };

/** The random draw that weighted forwards split on: 0..WEIGHT_SCALE-1, once per request. */
export const WEIGHT_SCALE = 10_000;

/** A whole haproxy.cfg for a snapshot. Pure: the same snapshot gives the same text. */
export function renderHaproxyConfig(snapshot: ProxySnapshot, paths: HaproxyPaths): string {
  const backends = new Map(snapshot.backends.map((b) => [b.id, b]));
  const out: string[] = [
    `# Written by berth-agent from proxy snapshot version ${snapshot.version}. Do not edit: the next snapshot replaces it.`,
    'global',
    '  master-worker',
    `  stats socket ${paths.statsSocket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    '',
    'defaults',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    // Upgraded connections (websockets) and TCP streams are idle-tolerant for an hour.
    '  timeout tunnel 1h',
    '  timeout http-request 10s',
    '  timeout queue 30s',
    '  option redispatch',
    '  retries 3',
    '',
  ];
  for (const fe of snapshot.frontends) out.push(...renderFrontend(fe, backends), '');
  for (const be of snapshot.backends) out.push(...renderBackend(be), '');
  return out.join('\n');
}

function isHttp(protocol: string): boolean {
  const p = protocol.toUpperCase();
  return p === 'HTTP' || p === 'HTTPS' || p === '';
}

function renderFrontend(fe: ProxyFrontend, backends: Map<string, ProxyBackend>): string[] {
  const http = isHttp(fe.protocol);
  const lines = [`frontend ${frontendName(fe.id)}`, `  mode ${http ? 'http' : 'tcp'}`, `  bind ${bindAddress(fe.bindAddress)}:${fe.port}`];
  if (fe.listenerArn) lines.push(`  # listener ${fe.listenerArn.replace(/\s/g, '')}`);
  const req = http ? 'http-request' : 'tcp-request content';
  if (http) lines.push('  option forwardfor', '  http-request set-header X-Forwarded-Proto http', `  http-request set-header X-Forwarded-Port ${fe.port}`);
  const ordered: { cond: string[]; action: ProxyAction; acls: string[] }[] = [];
  const rules = http ? [...fe.rules].sort((a, b) => a.priority - b.priority) : [];
  rules.forEach((rule, i) => {
    if (!rule.action) return;
    const { acls, cond } = ruleConditions(rule, `r${i + 1}`);
    ordered.push({ cond, action: rule.action, acls });
  });
  if (fe.defaultAction) ordered.push({ cond: [], action: fe.defaultAction, acls: [] });
  const weighted = ordered.some((o) => o.action.type === 'forward' && forwardTargets(o.action).length > 1);
  if (weighted) lines.push(`  ${req} set-var(txn.berth_rand) rand(${WEIGHT_SCALE})`);
  lines.push('  acl berth_chosen var(txn.berth_be) -m found');
  for (const o of ordered) lines.push(...o.acls.map((a) => `  ${a}`));
  const used = new Set<string>();
  for (const o of ordered) {
    const guard = ['!berth_chosen', ...o.cond];
    const type = o.action.type;
    if (type === 'forward') {
      const targets = forwardTargets(o.action).filter((t) => backends.has(t.backendId));
      if (targets.length === 0) {
        // Forward to nothing this node knows: ELB's 503.
        if (http) lines.push(`  http-request return status 503 content-type text/plain string "no target group" if ${guard.join(' ')}`);
        else lines.push(`  tcp-request content reject if ${guard.join(' ')}`);
        continue;
      }
      const total = targets.reduce((s, t) => s + t.weight, 0);
      let cumulative = 0;
      targets.forEach((t, j) => {
        const name = backendName(t.backendId);
        used.add(name);
        cumulative += t.weight;
        const draw = j < targets.length - 1 ? [`{ var(txn.berth_rand) -m int lt ${Math.round((cumulative * WEIGHT_SCALE) / total)} }`] : [];
        lines.push(`  ${req} set-var(txn.berth_be) str(${name}) if ${[...guard, ...draw].join(' ')}`);
      });
    } else if (type === 'fixed-response' && http) {
      const status = o.action.statusCode || 200;
      const body = o.action.messageBody ? ` content-type ${quote(o.action.contentType || 'text/plain')} string ${quote(o.action.messageBody)}` : '';
      lines.push(`  http-request return status ${status}${body} if ${guard.join(' ')}`);
    } else if (type === 'redirect' && http) {
      const code = [301, 302, 303, 307, 308].includes(o.action.statusCode) ? o.action.statusCode : 302;
      // The location is a log-format string: a literal % is %%.
      lines.push(`  http-request redirect location ${quote(o.action.location.replace(/%/g, '%%'))} code ${code} if ${guard.join(' ')}`);
    } else {
      lines.push(`  # action ${JSON.stringify(type)} is not supported on a ${http ? 'HTTP' : 'TCP'} listener`);
    }
  }
  for (const name of used) lines.push(`  use_backend ${name} if { var(txn.berth_be) -m str ${name} }`);
  return lines;
}

/** The targets of a forward with a positive weight each (all 0: equal shares). */
export function forwardTargets(action: ProxyAction): { backendId: string; weight: number }[] {
  const all = action.forward.filter((f) => f.backendId);
  const positive = all.filter((f) => f.weight > 0);
  return positive.length > 0 ? positive.map((f) => ({ backendId: f.backendId, weight: f.weight })) : all.map((f) => ({ backendId: f.backendId, weight: 1 }));
}

function ruleConditions(rule: ProxyRule, prefix: string): { acls: string[]; cond: string[] } {
  const acls: string[] = [];
  const cond: string[] = [];
  if (rule.hostHeaders.length > 0) {
    const name = `${prefix}_host`;
    const exact = rule.hostHeaders.filter((h) => !hasWildcard(h)).map((h) => h.toLowerCase());
    if (exact.length > 0) acls.push(`acl ${name} hdr(host),field(1,:),lower -m str ${exact.map(word).join(' ')}`);
    for (const h of rule.hostHeaders.filter(hasWildcard)) acls.push(`acl ${name} hdr(host),field(1,:),lower -m reg '${wildcardToRegex(h.toLowerCase())}'`);
    cond.push(name);
  }
  if (rule.pathPatterns.length > 0) {
    const name = `${prefix}_path`;
    for (const p of rule.pathPatterns) {
      const m = pathMatch(p);
      if (m.kind === 'str') acls.push(`acl ${name} path -m str ${word(m.value)}`);
      else if (m.kind === 'beg') acls.push(`acl ${name} path -m beg ${word(m.value)}`);
      else acls.push(`acl ${name} path -m reg '${m.value}'`);
    }
    cond.push(name);
  }
  if (rule.httpRequestMethods.length > 0) {
    acls.push(`acl ${prefix}_method method ${rule.httpRequestMethods.map((m) => m.toUpperCase().replace(/[^A-Z_-]/g, '')).join(' ')}`);
    cond.push(`${prefix}_method`);
  }
  (rule.httpHeaders ?? []).forEach((h, j) => {
    if (h.values.length === 0) return;
    const name = `${prefix}_hdr${j + 1}`;
    const header = h.name.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]/g, '');
    for (const v of h.values) acls.push(`acl ${name} req.hdr(${header}) -m reg -i '${wildcardToRegex(v)}'`);
    cond.push(name);
  });
  if ((rule.queryStrings ?? []).length > 0) {
    const name = `${prefix}_query`;
    for (const q of rule.queryStrings) acls.push(`acl ${name} query -m reg -i '${queryStringRegex(q)}'`);
    cond.push(name);
  }
  if (rule.sourceIps.length > 0) {
    acls.push(`acl ${prefix}_src src ${rule.sourceIps.map((s) => s.replace(/[^0-9A-Fa-f.:/]/g, '')).join(' ')}`);
    cond.push(`${prefix}_src`);
  }
  return { acls, cond };
}

function renderBackend(be: ProxyBackend): string[] {
  const lines = [`backend ${backendName(be.id)}`, `  mode ${isHttp(be.protocol) ? 'http' : 'tcp'}`, `  balance ${be.algorithm === 'leastconn' ? 'leastconn' : 'roundrobin'}`];
  if (be.targetGroupArn) lines.push(`  # target group ${be.targetGroupArn.replace(/\s/g, '')}`);
  const hc = healthCheck(be.healthCheck);
  if (hc.http) lines.push(`  option httpchk GET ${hc.path}`, `  http-check expect ${expectStatus(hc.matcher)}`);
  lines.push(`  timeout check ${hc.timeoutSeconds}s`);
  lines.push(`  default-server ${checkParams(be).join(' ')}`);
  for (const s of be.servers) lines.push(`  server ${serverName(s.id)} ${serverAddress(s)} ${serverParams(be, s).join(' ')}`);
  return lines;
}

/** The health check with ELB's defaults filled in. */
export function healthCheck(hc: ProxyHealthCheck | undefined): { http: boolean; path: string; port: number; intervalSeconds: number; timeoutSeconds: number; healthyThreshold: number; unhealthyThreshold: number; matcher: string } {
  const http = hc !== undefined && isHttp(hc.protocol);
  return {
    http,
    path: (hc?.path || '/').replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)),
    port: hc?.port ?? 0,
    intervalSeconds: hc?.intervalSeconds || CHECK_DEFAULTS.intervalSeconds,
    timeoutSeconds: hc?.timeoutSeconds || CHECK_DEFAULTS.timeoutSeconds,
    healthyThreshold: hc?.healthyThreshold || CHECK_DEFAULTS.healthyThreshold,
    unhealthyThreshold: hc?.unhealthyThreshold || CHECK_DEFAULTS.unhealthyThreshold,
    matcher: hc?.matcher || CHECK_DEFAULTS.matcher,
  };
}

/** Check timing, as default-server in the config (dynamic servers do not inherit it: they get it spelled out). */
export function checkParams(be: ProxyBackend): string[] {
  const hc = healthCheck(be.healthCheck);
  const params = [`inter ${hc.intervalSeconds}s`, `fall ${hc.unhealthyThreshold}`, `rise ${hc.healthyThreshold}`];
  if (hc.port > 0) params.push(`port ${hc.port}`);
  if (be.slowStartSeconds > 0) params.push(`slowstart ${be.slowStartSeconds}s`);
  return params;
}

/** HAProxy's weight for a server: 1-256 (0, proto's unset, is 1); a draining server takes no new requests. */
export function serverWeight(s: ProxyServer): number {
  if (s.state === 'draining') return 0;
  return Math.min(256, Math.max(1, s.weight || 1));
}

export function serverAddress(s: ProxyServer): string {
  return `${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`;
}

export function serverParams(_be: ProxyBackend, s: ProxyServer): string[] {
  return [`weight ${serverWeight(s)}`, 'check'];
}

function bindAddress(a: string): string {
  const addr = a || '0.0.0.0';
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** A config word that needs no quoting (host names, paths); anything else is dropped to keep the line parseable. */
function word(s: string): string {
  return s.replace(/[^\x21-\x7e]|["'\\#$]/g, (c) => encodeURIComponent(c));
}

/** A double-quoted config string: \, ", $ (environment expansion) and # escaped, controls as escapes. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"$#]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}
