// Public API of @berth/store: Postgres (or the embedded PGlite) through postgres.js.
export * from './database.js';
export * from './availability.js';
export * from './migrate.js';
export * from './migrations/index.js';
export * from './records.js';
export * from './pagination.js';
export * from './clusters.js';
export * from './nodes.js';
export * from './task-definitions.js';
export * from './tasks.js';
export * from './events.js';
export * from './services.js';
export * from './secrets.js';
export * from './join.js';
export * from './api-tokens.js';
export * from './tags.js';
export * from './traffic.js';
