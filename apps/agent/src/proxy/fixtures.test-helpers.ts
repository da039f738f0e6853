import type { ProxyAction, ProxyBackend, ProxyFrontend, ProxyServer, ProxySnapshot } from '@berth/proto';

/** Snapshot builders for the proxy tests. */
export function action(a: Partial<ProxyAction>): ProxyAction {
  return { type: 'forward', forward: [], statusCode: 0, contentType: '', messageBody: '', location: '', ...a };
}

export function forward(...targets: [string, number][]): ProxyAction {
  return action({ forward: targets.map(([backendId, weight]) => ({ backendId, weight })) });
}

export function frontend(f: Partial<ProxyFrontend> & { id: string; port: number }): ProxyFrontend {
  return { bindAddress: '127.0.0.1', protocol: 'HTTP', rules: [], defaultAction: undefined, loadBalancerArn: '', listenerArn: '', ...f };
}

export function server(address: string, port: number, s: Partial<ProxyServer> = {}): ProxyServer {
  return { id: `${address}:${port}`, address, port, weight: 1, state: 'active', ...s };
}

export function backend(b: Partial<ProxyBackend> & { id: string }): ProxyBackend {
  return {
    protocol: 'HTTP',
    algorithm: 'roundrobin',
    healthCheck: { protocol: 'HTTP', path: '/health', port: 0, intervalSeconds: 1, timeoutSeconds: 1, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200-299' },
    servers: [],
    targetGroupArn: '',
    slowStartSeconds: 0,
    ...b,
  };
}

export function snapshot(version: number, frontends: ProxyFrontend[], backends: ProxyBackend[]): ProxySnapshot {
  return { version, frontends, backends };
}
