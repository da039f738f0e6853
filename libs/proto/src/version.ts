/** The Berth release (the root package.json's version; a unit test keeps them equal). */
export const BERTH_VERSION = '0.1.0';

/**
 * The agent <-> control plane wire protocol version, sent in Hello and Welcome.
 * Bump it when a change needs both sides to know about it; keep accepting the
 * previous version for at least one release so upgrades can go one side first.
 * Additive changes (a new field, a new message both sides may ignore) need no bump.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

/** The protocol versions one side speaks, oldest and newest. */
export interface ProtocolRange {
  min: number;
  max: number;
}

export const OWN_PROTOCOL_RANGE: ProtocolRange = { min: MIN_SUPPORTED_PROTOCOL_VERSION, max: PROTOCOL_VERSION };

/** What a hello says the agent speaks (an agent that sends no minimum speaks only its version). */
export function agentProtocolRange(hello: { protocolVersion: number; minProtocolVersion?: number }): ProtocolRange {
  const max = hello.protocolVersion;
  const min = hello.minProtocolVersion && hello.minProtocolVersion <= max ? hello.minProtocolVersion : max;
  return { min, max };
}

export type Negotiation = { ok: true; version: number } | { ok: false; upgrade: 'agent' | 'control plane'; message: string };

/** The newest version both sides speak, or which side must be upgraded. */
export function negotiateProtocol(agent: ProtocolRange, server: ProtocolRange, serverRelease: string): Negotiation {
  const version = Math.min(agent.max, server.max);
  if (version >= agent.min && version >= server.min) return { ok: true, version };
  const upgrade = agent.max < server.min ? 'agent' : 'control plane';
  const speaks = (r: ProtocolRange) => (r.min === r.max ? `${r.max}` : `${r.min}-${r.max}`);
  return {
    ok: false,
    upgrade,
    message: `the agent speaks protocol ${speaks(agent)} and this control plane (${serverRelease}) speaks ${speaks(server)}: upgrade the ${upgrade} (docs/upgrading.md)`,
  };
}

export function isProtocolSupported(version: number): boolean {
  return version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
}
