import { createServer } from 'node:net';

/** Resolves when addr:port can be listened on now; rejects with the system's reason (EADDRINUSE, EADDRNOTAVAIL...). */
export function checkPortFree(address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address || '0.0.0.0', port, exclusive: true }, () => srv.close(() => resolve()));
  });
}
