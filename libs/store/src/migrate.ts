import type { Sql } from './database.js';
import type { Migration } from './migrations/index.js';
import { MIGRATIONS } from './migrations/index.js';

/** Arbitrary constant: the advisory lock id that serializes migrations across control planes. */
const MIGRATION_LOCK_ID = 74_000_001;

/** The database was migrated by a newer release than this one (a downgrade without restoring a backup). */
export class SchemaTooNewError extends Error {}

export interface MigrateResult {
  applied: number[];
  current: number;
}

/**
 * Applies pending migrations in one transaction under a transaction-scoped
 * advisory lock, so two control planes starting together never both migrate:
 * the second waits, then finds nothing left to do. (On the embedded PGlite there
 * is a single connection, so transactions are serialized anyway.)
 */
export async function migrate(sql: Sql, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const rows = await tx<{ version: number }[]>`SELECT version FROM schema_migrations`;
    const done = new Set(rows.map((r) => r.version));
    // A database a newer release has migrated: this release does not know its tables; refuse rather than guess.
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new SchemaTooNewError(
        `the database's schema is at version ${newest}, made by a newer Berth release; this control plane knows versions up to ${known}. Run that release (or newer) again, or restore the backup taken before the upgrade (docs/upgrading.md)`,
      );
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    const current = Math.max(0, ...done, ...applied);
    return { applied, current };
  }) as Promise<MigrateResult>;
}
