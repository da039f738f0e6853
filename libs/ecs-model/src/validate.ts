// validateInput for ECS: @berth/aws-model's validateInput bound to the ECS model, typed by operation.
import * as aws from '@berth/aws-model';
import type { InputLimits, ValidationResult } from '@berth/aws-model';
import type { EcsOperationName, EcsOperationTypes } from './gen/ecs-types.js';
import { ECS_MODEL } from './model.js';

export { DEFAULT_INPUT_LIMITS } from '@berth/aws-model';
export type { InputError, InputLimits, ValidationResult } from '@berth/aws-model';

/**
 * Validates a request body for an ECS operation. Never throws: an unknown operation, a body that is not a JSON
 * object, a body past the limits, wrong types and broken constraints all come back as `ok: false`.
 * On success `value` holds only members the model knows, timestamps as Date.
 */
export function validateInput<O extends EcsOperationName>(operation: O, body: unknown, limits?: Partial<InputLimits>): ValidationResult<EcsOperationTypes[O]['input']>;
export function validateInput(operation: string, body: unknown, limits?: Partial<InputLimits>): ValidationResult<unknown>;
export function validateInput(operation: string, body: unknown, limits?: Partial<InputLimits>): ValidationResult<unknown> {
  return aws.validateInput(ECS_MODEL, operation, body, limits);
}
