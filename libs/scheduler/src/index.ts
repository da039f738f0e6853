// Public API of @berth/scheduler: pure placement, no IO.
export * from './first-fit.js';
