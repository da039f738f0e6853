// Look-ups on the generated model. Every look-up by a caller's string goes through Object.hasOwn, so names
// such as `toString` or `__proto__` are never mistaken for operations, shapes or members.
import { OPERATIONS, SHAPES } from './gen/ecs-model.js';
import type { EcsOperationName, EcsShapeName } from './gen/ecs-types.js';
import type { OperationDef, ShapeDef, StructureShapeDef } from './model-types.js';

const OPERATION_NAMES: readonly EcsOperationName[] = Object.freeze(Object.keys(OPERATIONS) as EcsOperationName[]);

/** The ECS operation names, sorted (77 for the 2014-11-13 model as generated). */
export function operationNames(): readonly EcsOperationName[] {
  return OPERATION_NAMES;
}

/** Whether `name` is an ECS operation, exactly as spelled in the model (`RunTask`, not `runTask`). */
export function isOperation(name: string): name is EcsOperationName {
  return typeof name === 'string' && Object.hasOwn(OPERATIONS, name);
}

/** The operation's model entry, or undefined for an unknown name. */
export function operationOf(name: string): OperationDef | undefined {
  return isOperation(name) ? OPERATIONS[name] : undefined;
}

/** Whether `name` is a shape in the model. */
export function isShape(name: string): name is EcsShapeName {
  return typeof name === 'string' && Object.hasOwn(SHAPES, name);
}

/** The shape's model entry, or undefined for an unknown name. */
export function shapeOf(name: string): ShapeDef | undefined {
  return isShape(name) ? SHAPES[name] : undefined;
}

/** The error shape names an operation may return (empty for an unknown operation). */
export function errorShapesOf(operation: string): readonly string[] {
  return operationOf(operation)?.errors ?? [];
}

/** The member names of a structure shape, in model order (empty for an unknown or non-structure shape). */
export function inputMembers(shapeName: string): readonly string[] {
  const s = shapeOf(shapeName);
  return s?.type === 'structure' ? Object.keys(s.members) : [];
}

/** The required member names of a structure shape (empty for an unknown or non-structure shape). */
export function requiredMembers(shapeName: string): readonly string[] {
  const s = shapeOf(shapeName);
  return s?.type === 'structure' ? (s.required ?? []) : [];
}

/** The target shape name of a structure member, or undefined when the structure has no such member. */
export function memberTarget(structure: StructureShapeDef, member: string): string | undefined {
  return Object.hasOwn(structure.members, member) ? structure.members[member] : undefined;
}

/** Internal: the shape for a name that comes from the model itself (always present). */
export function modelShape(name: string): ShapeDef {
  const s = shapeOf(name);
  if (!s) throw new Error(`ecs-model: the generated model has no shape ${name}`);
  return s;
}
