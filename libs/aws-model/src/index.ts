// Public API of @berth/aws-model: AWS API models generated from botocore (ELBv2, Cloud Map) and one protocol
// layer over any ServiceModel: look-ups, input validation, AWS JSON 1.1 encoding, AWS Query decoding, Query XML
// answers and error codes. Pure: no IO.
export { ELBV2_MODEL } from './gen/elbv2-model.js';
export { SERVICEDISCOVERY_MODEL } from './gen/servicediscovery-model.js';
export type * as Elbv2 from './gen/elbv2-types.js';
export type * as ServiceDiscovery from './gen/servicediscovery-types.js';
export type { Elbv2OperationName, Elbv2OperationTypes, Elbv2ShapeName, Elbv2ShapeTypes } from './gen/elbv2-types.js';
export type { ServiceDiscoveryOperationName, ServiceDiscoveryOperationTypes, ServiceDiscoveryShapeName, ServiceDiscoveryShapeTypes } from './gen/servicediscovery-types.js';
export type * from './model-types.js';
export type { JsonValue } from './json.js';
export {
  operationNames,
  isOperation,
  operationOf,
  isShape,
  shapeOf,
  errorShapesOf,
  inputMembers,
  requiredMembers,
  idempotencyTokenMembers,
  memberTarget,
  modelShape,
} from './model.js';
export { validateInput, DEFAULT_INPUT_LIMITS } from './validate.js';
export type { InputError, InputLimits, ValidationResult } from './validate.js';
export { toWire, toEpochSeconds } from './wire.js';
export type { ToWireOptions } from './wire.js';
export { errorCodeOf } from './error-code.js';
export type { ErrorCode } from './error-code.js';
export { decodeQuery, QUERY_AUTH_KEYS } from './query-decode.js';
export type { DecodeQueryOptions, QueryDecodeResult, QueryErrorKind, QueryInputError } from './query-decode.js';
export { toQueryXml, queryErrorXml } from './query-xml.js';
export type { QueryError, ToQueryXmlOptions } from './query-xml.js';
export { escapeXml } from './xml.js';
