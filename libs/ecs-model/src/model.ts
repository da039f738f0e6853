// The ECS model as a ServiceModel, and the look-ups of @berth/aws-model bound to it (the API @berth/ecs-model
// has always had: no model argument).
import * as aws from '@berth/aws-model';
import type { OperationDef, ServiceModel, ShapeDef, StructureShapeDef } from '@berth/aws-model';
import { ECS_METADATA, OPERATIONS, SHAPES } from './gen/ecs-model.js';
import type { EcsOperationName, EcsShapeName } from './gen/ecs-types.js';

/** The generated ECS model in the form every @berth/aws-model function takes. */
export const ECS_MODEL: ServiceModel<EcsOperationName, EcsShapeName> = Object.freeze({ metadata: ECS_METADATA, operations: OPERATIONS, shapes: SHAPES });

/** The ECS operation names, sorted (77 for the 2014-11-13 model as generated). */
export function operationNames(): readonly EcsOperationName[] {
  return aws.operationNames(ECS_MODEL);
}

/** Whether `name` is an ECS operation, exactly as spelled in the model (`RunTask`, not `runTask`). */
export function isOperation(name: string): name is EcsOperationName {
  return aws.isOperation(ECS_MODEL, name);
}

/** The operation's model entry, or undefined for an unknown name. */
export function operationOf(name: string): OperationDef | undefined {
  return aws.operationOf(ECS_MODEL, name);
}

/** Whether `name` is a shape in the model. */
export function isShape(name: string): name is EcsShapeName {
  return aws.isShape(ECS_MODEL, name);
}

/** The shape's model entry, or undefined for an unknown name. */
export function shapeOf(name: string): ShapeDef | undefined {
  return aws.shapeOf(ECS_MODEL, name);
}

/** The error shape names an operation may return (empty for an unknown operation). */
export function errorShapesOf(operation: string): readonly string[] {
  return aws.errorShapesOf(ECS_MODEL, operation);
}

/** The member names of a structure shape, in model order (empty for an unknown or non-structure shape). */
export function inputMembers(shapeName: string): readonly string[] {
  return aws.inputMembers(ECS_MODEL, shapeName);
}

/** The required member names of a structure shape (empty for an unknown or non-structure shape). */
export function requiredMembers(shapeName: string): readonly string[] {
  return aws.requiredMembers(ECS_MODEL, shapeName);
}

/** The target shape name of a structure member, or undefined when the structure has no such member. */
export function memberTarget(structure: StructureShapeDef, member: string): string | undefined {
  return aws.memberTarget(structure, member);
}

/** Internal: the shape for a name that comes from the model itself (always present). */
export function modelShape(name: string): ShapeDef {
  return aws.modelShape(ECS_MODEL, name);
}
