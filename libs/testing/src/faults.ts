/**
 * The fault-injection suite runs scaled down in CI and at full length under
 * `npm run test:faults:full` (BERTH_FAULTS_FULL=1): 5 min drops, 30 min
 * cut-offs, 5,000 agents.
 */
export const FAULTS_FULL = process.env.BERTH_FAULTS_FULL === '1';

/** `short` in CI and a normal test run, `full` under test:faults:full (durations, counts). */
export function faultScale<T>(short: T, full: T): T {
  return FAULTS_FULL ? full : short;
}
