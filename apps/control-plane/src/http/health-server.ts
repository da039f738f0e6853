import { createServer, type Server } from 'node:http';

export interface HealthChecks {
  /**
   * The cluster CA, served at GET /cacerts: an agent joining with a token
   * fetches it here and checks it against the hash the token carries before
   * it trusts anything (so plain HTTP is enough).
   */
  caCertPem?: string;
  /** Ready: the database answers and the gRPC port is bound. */
  ready(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
  /** GET /metrics: the control plane's figures in Prometheus text format. */
  metrics?(): string;
}

/** GET /healthz (the process is up), GET /readyz (it can serve), GET /cacerts (the cluster CA), GET /metrics. */
export function startHealthServer(host: string, port: number, checks: HealthChecks): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (req.url === '/healthz') return send(200, { status: 'ok' });
    if (req.url === '/cacerts') {
      if (!checks.caCertPem) return send(404, { error: 'this control plane runs without TLS (--insecure)' });
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      return void res.end(checks.caCertPem);
    }
    if (req.url === '/metrics' && checks.metrics) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(checks.metrics());
    }
    if (req.url === '/readyz') {
      checks.ready().then(
        (r) => send(r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', ...r.detail }),
        (err) => send(503, { status: 'not ready', error: String(err) }),
      );
      return;
    }
    send(404, { error: 'not found', paths: ['/healthz', '/readyz', '/cacerts', '/metrics'] });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
