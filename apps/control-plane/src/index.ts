// The control plane as a library, for tests and tools that start it in-process.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './server.js';
