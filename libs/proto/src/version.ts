/**
 * The agent <-> control plane wire protocol version, sent in Hello and Welcome.
 * Bump it when a change needs both sides to know about it; keep accepting the
 * previous version for at least one release so upgrades can go one side first.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

export function isProtocolSupported(version: number): boolean {
  return version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
}
