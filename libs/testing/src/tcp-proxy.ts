import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  dead: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 that a fault test controls, between an agent and
 * the control plane:
 * - `forward` (default): bytes flow both ways;
 * - `cut()`: every connection is closed (the peers see it at once) and new ones
 *   are closed as soon as they arrive, like a link that is down;
 * - `blackhole()`: the connections stay open and nothing passes either way, so
 *   neither side learns of it but by its own timers (a half-open connection);
 *   new connections are accepted and hang the same way;
 * - `restore()`: new connections forward again, and so do the ones that
 *   arrived while blackholed (their first packets were only delayed). Those
 *   blackholed while open stay dead (as after a NAT lost its mapping), until a
 *   peer gives up on them.
 */
export class TcpProxy {
  private mode: 'forward' | 'cut' | 'blackhole' = 'forward';
  private readonly pairs = new Set<Pair>();
  private target = { port: 0, host: '127.0.0.1' };
  /** Connections accepted so far (each agent reconnect is one). */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    proxy.target = { port: targetPort, host: targetHost };
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections open now that still pass bytes. */
  get live(): number {
    return [...this.pairs].filter((p) => !p.dead).length;
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined, dead: false };
    this.pairs.add(pair);
    client.on('close', () => this.forget(pair));
    if (this.mode === 'blackhole') {
      pair.dead = true;
      client.pause();
      return;
    }
    this.link(pair);
  }

  private link(pair: Pair): void {
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    pair.dead = false;
    upstream.on('error', () => {});
    upstream.on('close', () => {
      // A blackholed pair never learns that its upstream went away.
      if (!pair.dead) this.forget(pair);
    });
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
    pair.client.resume();
  }

  private forget(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** Closes every connection, and every new one, until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
  }

  /** Stops passing bytes on every connection without closing any (half-open), until restore() for new ones. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const p of this.pairs) {
      if (p.dead) continue;
      p.dead = true;
      p.client.unpipe();
      p.upstream?.unpipe();
      p.client.pause();
      p.upstream?.pause();
    }
  }

  restore(): void {
    this.mode = 'forward';
    for (const p of this.pairs) if (p.dead && !p.upstream) this.link(p);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
