import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentServiceClient, ControlServiceClient } from '@berth/proto';
import { startTestPostgres } from '@berth/testing';
import { credentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../server.js';

export interface BackendEnv {
  databaseUrl?: string;
  dataDir: string;
  cleanup: () => Promise<void>;
}

/** The two stores every control-plane API test runs on. Postgres is undefined only outside CI without Postgres binaries. */
export const BACKENDS: Array<{ name: string; setup: () => Promise<BackendEnv | undefined> }> = [
  {
    name: 'embedded pglite',
    setup: async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'berth-cp-'));
      return { dataDir, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres 15',
    setup: async () => {
      const pg = await startTestPostgres();
      if (!pg) return undefined;
      const dataDir = mkdtempSync(join(tmpdir(), 'berth-cp-'));
      return {
        databaseUrl: pg.url,
        dataDir,
        cleanup: async () => {
          await pg.stop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];

/** A control plane on a backend with its two gRPC clients, as the API itests use it. */
export async function startOnBackend(
  env: BackendEnv,
  log: Logger,
  options: Partial<ControlPlaneOptions> = {},
): Promise<{ cp: ControlPlane; control: ControlServiceClient; agents: AgentServiceClient }> {
  const cp = await startControlPlane({
    listen: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    databaseUrl: env.databaseUrl,
    dataDir: env.dataDir,
    heartbeatIntervalMs: 1000,
    resyncIntervalMs: 60_000,
    random: { next: Math.random, bytes: (n) => randomBytes(n) },
    log,
    ...options,
  });
  const target = `127.0.0.1:${cp.grpcPort}`;
  return { cp, control: new ControlServiceClient(target, credentials.createInsecure()), agents: new AgentServiceClient(target, credentials.createInsecure()) };
}
