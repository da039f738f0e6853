// toWire for ECS: @berth/aws-model's JSON 1.1 encoder bound to the ECS model.
import * as aws from '@berth/aws-model';
import type { JsonValue, ToWireOptions } from '@berth/aws-model';
import type { EcsShapeName } from './gen/ecs-types.js';
import { ECS_MODEL } from './model.js';

export { toEpochSeconds } from '@berth/aws-model';
export type { ToWireOptions } from '@berth/aws-model';

/**
 * Encodes `value` as shape `shapeName` for a JSON 1.1 response body. Returns undefined when the value is
 * null/undefined or cannot be encoded at all (reported through `onDropped` with path ""). Throws only for a
 * shape name the model does not have (a programming error).
 */
export function toWire(shapeName: EcsShapeName | (string & {}), value: unknown, options: ToWireOptions = {}): JsonValue | undefined {
  return aws.toWire(ECS_MODEL, shapeName, value, options);
}
