import { createServer, type Server } from 'node:http';

export interface HealthChecks {
  /** Ready: the database answers and the gRPC port is bound. */
  ready(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

/** GET /healthz (the process is up) and GET /readyz (it can serve). */
export function startHealthServer(host: string, port: number, checks: HealthChecks): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (req.url === '/healthz') return send(200, { status: 'ok' });
    if (req.url === '/readyz') {
      checks.ready().then(
        (r) => send(r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', ...r.detail }),
        (err) => send(503, { status: 'not ready', error: String(err) }),
      );
      return;
    }
    send(404, { error: 'not found', paths: ['/healthz', '/readyz'] });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
