import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as proto from '@berth/proto';
import { AgentServiceClient, ControlServiceClient } from '@berth/proto';
import { startTestPostgres } from '@berth/testing';
import { credentials, type ServiceError } from '@grpc/grpc-js';
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

/** A unary ControlService call by method name, the request built from a partial (`call('runTask', {...})`). */
export function controlCall(control: () => ControlServiceClient) {
  return <Res>(method: string, req: unknown): Promise<Res> => {
    const type = (proto as unknown as Record<string, { fromPartial(o: unknown): unknown }>)[`${method[0]!.toUpperCase()}${method.slice(1)}Request`]!;
    return new Promise((resolve, reject) =>
      (control() as unknown as Record<string, (r: unknown, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!(type.fromPartial(req), (err, res) => (err ? reject(err) : resolve(res))),
    );
  };
}
