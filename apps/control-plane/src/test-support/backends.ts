import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres } from '@berth/testing';

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
