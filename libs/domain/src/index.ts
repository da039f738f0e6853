// Public API of @berth/domain: pure model, no IO.
export * from './errors.js';
export * from './random.js';
export * from './arn.js';
export * from './task-status.js';
export * from './task-definition.js';
export * from './resources.js';
export * from './overrides.js';
export * from './task-health.js';
export * from './service.js';
export * from './secrets.js';
export * from './join-token.js';
export * from './load-balancing.js';
export * from './proxy-snapshot.js';
