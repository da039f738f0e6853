/**
 * Pacing of in-place container restarts (restartPolicy, or an essential
 * container while the control plane is away), in one place: the first restart
 * is immediate, then the wait doubles from RESTART_BASE_MS up to RESTART_MAX_MS.
 * A container that ran RESTART_RESET_AFTER_MS (or its restartAttemptPeriod)
 * before exiting starts over with an immediate restart.
 */
export const RESTART_BASE_MS = 1_000;
export const RESTART_MAX_MS = 60_000;
export const RESTART_RESET_AFTER_MS = 300_000;

export interface RestartRecord {
  /** Restarts done since the last reset. */
  count: number;
  /** When the agent last started the container again. */
  lastStartAt: number;
  /** When the agent first saw it exited after that start. */
  lastExitAt?: number;
  /** All restarts of this container (reported as restartCount). */
  total: number;
}

/** The wait before the next restart, given the restarts done since the last reset. */
export function restartDelayMs(count: number): number {
  if (count <= 0) return 0;
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (count - 1));
}
