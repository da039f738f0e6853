import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { isConnectionLost } from './availability.js';

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

/**
 * Seconds before a connection is tried again after `retries` failed attempts
 * (counted over the whole pool; reset by the first connection that works).
 * postgres.js's default grows to 10-20 s, so after an outage of a minute the
 * pool came back up to 20 s after the server did; this stays under 2 s.
 */
export function reconnectDelaySeconds(retries: number, random: () => number = Math.random): number {
  return (0.5 + random() / 2) * Math.min(0.05 * 2 ** retries, 2);
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) {
    const sql = postgres(opts.url, {
      max: opts.maxConnections ?? 10,
      types,
      onnotice: () => {},
      connect_timeout: 10,
      backoff: (retries: number) => reconnectDelaySeconds(retries),
      connection: SESSION_SETTINGS,
    }) as unknown as Sql;
    guardTransactions(sql);
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
  guardTransactions(sql);
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

/** The database answers a trivial query within `timeoutMs` (readiness); rejects with the reason otherwise. */
export async function pingDatabase(sql: Sql, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`SELECT 1`,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a transaction whose connection was lost waits for the pool to see the close before it fails anyway. */
const LOST_CONNECTION_WAIT_MS = 30_000;

/**
 * postgres.js (3.4.x) answers a failed statement in a transaction with a
 * ROLLBACK on the same connection, even when the failure is that the
 * connection is gone. Written after the connection closed, that ROLLBACK runs
 * on a null socket in a setImmediate callback and throws a TypeError nobody
 * can catch, which ends the process (porsager/postgres#1066, #1154, #1208).
 * The Postgres-outage fault test found it: a fast shutdown of Postgres with a
 * transaction in flight took the control plane down.
 *
 * So a transaction whose connection was lost sends nothing more: the server
 * has rolled it back already (a session that ends rolls back its
 * transaction), and begin() still rejects with the connection's error, since
 * postgres.js races every transaction against its connection's close.
 */
function guardTransactions(sql: Sql): void {
  type Body = (tx: TransactionSql) => unknown;
  const begin = sql.begin.bind(sql) as unknown as (options: string, fn: Body) => Promise<unknown>;
  const guarded = (options: string | Body, fn?: Body): Promise<unknown> => {
    const [opts, body] = typeof options === 'function' ? ['', options] : [options, fn!];
    let settled = false;
    const result = begin(opts, async (tx) => {
      try {
        return await body(tx);
      } catch (err) {
        if (!isConnectionLost(err)) throw err;
        // Settled by the connection's close. Should the close never come, fail after a while
        // (then the connection is still there, and its ROLLBACK is safe to send).
        return new Promise((_, reject) => setTimeout(() => !settled && reject(err), LOST_CONNECTION_WAIT_MS).unref());
      }
    });
    void result.then(
      () => (settled = true),
      () => (settled = true),
    );
    return result;
  };
  (sql as unknown as { begin: typeof guarded }).begin = guarded;
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
