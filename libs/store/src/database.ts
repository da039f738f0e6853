import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;
/** Anything queries can run on: the pool or a transaction. */
export type Queryable = Sql | TransactionSql;

export interface Database {
  sql: Sql;
  /** 'postgres' for DATABASE_URL, 'pglite' for the embedded default. */
  kind: 'postgres' | 'pglite';
  /** Where the data is, for the start-up line (URL without password, or a directory). */
  location: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A Postgres URL. When absent, the embedded PGlite default in `dataDir` is used. */
  url?: string;
  dataDir?: string;
  /** Pool size for a real Postgres. */
  maxConnections?: number;
  /**
   * The embedded store's WebAssembly and data files when they are not beside PGlite's code
   * (a single executable carries them inside; see EmbeddedStoreFiles).
   */
  embeddedFiles?: EmbeddedStoreFiles;
}

/** PGlite's files as bytes: pglite.wasm, initdb.wasm and pglite.data. */
export interface EmbeddedStoreFiles {
  pgliteWasm: Uint8Array;
  initdbWasm: Uint8Array;
  pgliteData: Uint8Array;
}

/** int8 (bigserial, counts) come back as strings from postgres.js by default; ours fit in a double. */
const types = {
  bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
};

/**
 * postgres.js prepares every statement, and Postgres switches a prepared
 * statement to a generic plan after a few runs. A generic plan does not know
 * which filters are selective (ListTasks by family and status), so each run is
 * planned with its values instead; planning costs far less than a wrong index.
 */
const SESSION_SETTINGS = { plan_cache_mode: 'force_custom_plan' };

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) {
    const sql = postgres(opts.url, { max: opts.maxConnections ?? 10, types, onnotice: () => {}, connect_timeout: 10, connection: SESSION_SETTINGS }) as unknown as Sql;
    return { sql, kind: 'postgres', location: redact(opts.url), close: () => sql.end({ timeout: 5 }) };
  }
  if (!opts.dataDir) throw new Error('openDatabase: either url or dataDir is required');
  return openEmbedded(opts.dataDir, opts.embeddedFiles);
}

/**
 * The embedded default: PGlite in a data directory, served on a unix socket by
 * pglite-socket so the same postgres.js code runs as on a real Postgres. One
 * connection: PGlite is single-session (advisory locks, LISTEN/NOTIFY and SKIP
 * LOCKED do not behave as in Postgres; nothing here depends on them).
 */
async function openEmbedded(dataDir: string, files?: EmbeddedStoreFiles): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const pgdata = join(dataDir, 'pgdata');
  mkdirSync(pgdata, { recursive: true });
  const releaseLock = lockDataDir(dataDir);
  const socketPath = join(dataDir, '.s.PGSQL.5432');
  // Left behind by a process that was killed: ours now that the lock is held.
  rmSync(socketPath, { force: true });
  // Node has WebAssembly; this project's TypeScript libraries do not declare it (no DOM lib).
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;
  type CreateOptions = NonNullable<Parameters<typeof PGlite.create>[1]>;
  const db = await PGlite.create(
    pgdata,
    files
      ? ({
          pgliteWasmModule: await wasm.compile(files.pgliteWasm),
          initdbWasmModule: await wasm.compile(files.initdbWasm),
          fsBundle: new Blob([files.pgliteData]),
        } as CreateOptions)
      : {},
  );
  // One PGlite session serves every socket connection, so a session setting holds for all.
  for (const [k, v] of Object.entries(SESSION_SETTINGS)) await db.exec(`SET ${k} = ${v}`);
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
  await server.start();
  const sql = postgres({ path: socketPath, max: 1, types, onnotice: () => {}, database: 'postgres', username: 'postgres' }) as unknown as Sql;
  return {
    sql,
    kind: 'pglite',
    location: pgdata,
    close: async () => {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
      releaseLock();
    },
  };
}

/**
 * One process per embedded data directory: PGlite is not multi-process safe.
 * A pid file whose process is gone (killed, crashed) is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const pidFile = join(dataDir, 'berth.pid');
  let owner = 0;
  try {
    owner = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    // no lock yet
  }
  if (owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new Error(`the embedded store in ${dataDir} is in use by process ${owner}; stop it or use another --data-dir`);
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return () => rmSync(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}
