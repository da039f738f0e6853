import { initial } from './001-initial.js';

/**
 * Forward-only, numbered migrations. Append new ones; never edit an applied one.
 * They live in code (not .sql files) so a bundled control plane carries them.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'initial', sql: initial }];
