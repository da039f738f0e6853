// Public API of @berth/fleet-sim: simulated agents for tests and benchmarks of the control plane.
export { Fleet, type FleetOptions } from './fleet.js';
export { SimAgent, type SimAgentOptions, type SimAgentState } from './sim-agent.js';
export { controlCall } from './control-call.js';
