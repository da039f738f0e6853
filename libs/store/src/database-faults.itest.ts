import { startTestPostgres, waitFor, type TestPostgres } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUnavailableReason, openDatabase, type Database } from './index.js';

/**
 * The pool under Postgres stops (fast and immediate) with transactions in
 * flight. postgres.js 3.4.x would write a ROLLBACK on a closed connection
 * and throw where nobody can catch it, ending the process; openDatabase's
 * transactions must not. Every failure says the database is unavailable, no
 * transaction is half-applied, and the pool answers soon after each start.
 */
describe('the store while Postgres stops and starts', () => {
  let pg: TestPostgres | undefined;
  let db: Database;

  beforeAll(async () => {
    pg = await startTestPostgres({ own: true });
    if (!pg) return;
    db = await openDatabase({ url: pg.url });
    await db.sql`CREATE TABLE pairs (id serial PRIMARY KEY, tx int NOT NULL)`;
  });
  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it('survives transactions cut off mid-flight, reports them unavailable, and comes back within seconds', async (t) => {
    if (!pg) return t.skip();
    const server = pg;
    const failures = new Map<string, number>();
    let ok = 0;
    let running = true;
    let next = 0;
    const worker = async (w: number) => {
      while (running) {
        try {
          if (w % 2 === 0) {
            const n = next++;
            // Two rows per transaction, a pause between them: a stop lands inside it.
            await db.sql.begin(async (tx) => {
              await tx`INSERT INTO pairs (tx) VALUES (${n})`;
              await Promise.all([tx`SELECT pg_sleep(0.005)`, tx`SELECT 1`]);
              await tx`INSERT INTO pairs (tx) VALUES (${n})`;
            });
          } else {
            await db.sql`SELECT count(*) FROM pairs`;
          }
          ok++;
        } catch (err) {
          const reason = databaseUnavailableReason(err) ?? `not an availability error: ${(err as Error).message}`;
          failures.set(reason, (failures.get(reason) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 12 }, (_, w) => worker(w));
    const recovery: number[] = [];
    for (const mode of ['fast', 'immediate', 'fast'] as const) {
      await new Promise((r) => setTimeout(r, 500));
      await server.stopServer(mode);
      await new Promise((r) => setTimeout(r, 500));
      await server.startServer();
      const startedAt = Date.now();
      const base = ok;
      await waitFor('queries to succeed again', () => ok >= base + 20, 10_000, 10);
      recovery.push(Date.now() - startedAt);
    }
    running = false;
    await Promise.all(workers);

    expect([...failures.keys()].filter((r) => r.startsWith('not an availability error'))).toEqual([]);
    expect([...failures.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // The pool tries again within 2 s however many attempts failed.
    for (const ms of recovery) expect(ms).toBeLessThan(5_000);
    // All or nothing: every transaction that left a row left both.
    expect(await db.sql`SELECT tx FROM pairs GROUP BY tx HAVING count(*) <> 2`).toEqual([]);
  });
});
