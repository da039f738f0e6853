// Public API of @berth/transport.
export * from './backoff.js';
export * from './channel-options.js';
export * from './cert-info.js';
