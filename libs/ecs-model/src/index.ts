// Public API of @berth/ecs-model: the Amazon ECS API model (2014-11-13, AWS JSON 1.1) generated from the
// botocore model, request validation and response encoding: @berth/aws-model's functions bound to the ECS
// model (ECS_MODEL, for calling @berth/aws-model directly). Pure: no IO.
export { ECS_METADATA, OPERATIONS, SHAPES } from './gen/ecs-model.js';
export type * from './gen/ecs-types.js';
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
  ECS_MODEL,
} from './model.js';
export { validateInput, DEFAULT_INPUT_LIMITS } from './validate.js';
export type { InputError, InputLimits, ValidationResult } from './validate.js';
export { toWire, toEpochSeconds } from './wire.js';
export type { ToWireOptions } from './wire.js';
