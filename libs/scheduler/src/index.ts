// Public API of @berth/scheduler: pure placement, no IO.
export * from './cluster-query.js';
export * from './schedule.js';
export * from './builders.js';
export * from './service-reconcile.js';
