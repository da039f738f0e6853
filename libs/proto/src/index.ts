// Public API of @berth/proto: the generated contract plus the protocol version.
// Generated files live in ./gen and are never edited by hand (`nx run proto:generate`).
export * from './gen/berth/v1/common.js';
export * from './gen/berth/v1/agent.js';
export * from './gen/berth/v1/control.js';
export { Timestamp } from './gen/google/protobuf/timestamp.js';
export {
  BERTH_VERSION,
  PROTOCOL_VERSION,
  MIN_SUPPORTED_PROTOCOL_VERSION,
  OWN_PROTOCOL_RANGE,
  agentProtocolRange,
  isProtocolSupported,
  negotiateProtocol,
  type Negotiation,
  type ProtocolRange,
} from './version.js';
