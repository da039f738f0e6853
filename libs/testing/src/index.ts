// Public API of @berth/testing: helpers for integration and end-to-end tests.
export * from './environment.js';
export * from './postgres-server.js';
export * from './wait.js';
export * from './bench.js';
export * from './registry.js';
export * from './faults.js';
export * from './tcp-proxy.js';
