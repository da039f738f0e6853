// Look-ups on a ServiceModel. Every look-up by a caller's string goes through Object.hasOwn, so names such as
// `toString` or `__proto__` are never mistaken for operations, shapes or members.
import type { OperationDef, ServiceModel, ShapeDef, StructureShapeDef } from './model-types.js';

const NAMES = new WeakMap<object, readonly string[]>();

/** The model's operation names, sorted (as generated). */
export function operationNames<Op extends string>(model: ServiceModel<Op>): readonly Op[] {
  let names = NAMES.get(model);
  if (!names) {
    names = Object.freeze(Object.keys(model.operations).sort());
    NAMES.set(model, names);
  }
  return names as readonly Op[];
}

/** Whether `name` is an operation of the model, exactly as spelled there (`RunTask`, not `runTask`). */
export function isOperation<Op extends string>(model: ServiceModel<Op>, name: string): name is Op {
  return typeof name === 'string' && Object.hasOwn(model.operations, name);
}

/** The operation's model entry, or undefined for an unknown name. */
export function operationOf(model: ServiceModel, name: string): OperationDef | undefined {
  return isOperation(model, name) ? model.operations[name] : undefined;
}

/** Whether `name` is a shape in the model. */
export function isShape<Shape extends string>(model: ServiceModel<string, Shape>, name: string): name is Shape {
  return typeof name === 'string' && Object.hasOwn(model.shapes, name);
}

/** The shape's model entry, or undefined for an unknown name. */
export function shapeOf(model: ServiceModel, name: string): ShapeDef | undefined {
  return isShape(model, name) ? model.shapes[name] : undefined;
}

/** The error shape names an operation may return (empty for an unknown operation). */
export function errorShapesOf(model: ServiceModel, operation: string): readonly string[] {
  return operationOf(model, operation)?.errors ?? [];
}

/** The member names of a structure shape, in model order (empty for an unknown or non-structure shape). */
export function inputMembers(model: ServiceModel, shapeName: string): readonly string[] {
  const s = shapeOf(model, shapeName);
  return s?.type === 'structure' ? Object.keys(s.members) : [];
}

/** The required member names of a structure shape (empty for an unknown or non-structure shape). */
export function requiredMembers(model: ServiceModel, shapeName: string): readonly string[] {
  const s = shapeOf(model, shapeName);
  return s?.type === 'structure' ? (s.required ?? []) : [];
}

/** The members of a structure the client fills with an idempotency token when left out. */
export function idempotencyTokenMembers(model: ServiceModel, shapeName: string): readonly string[] {
  const s = shapeOf(model, shapeName);
  if (s?.type !== 'structure' || !s.memberTraits) return [];
  return Object.keys(s.memberTraits).filter((m) => s.memberTraits![m].idempotencyToken);
}

/** The target shape name of a structure member, or undefined when the structure has no such member. */
export function memberTarget(structure: StructureShapeDef, member: string): string | undefined {
  return Object.hasOwn(structure.members, member) ? structure.members[member] : undefined;
}

/** The shape for a name that comes from the model itself (always present; a miss is a broken model). */
export function modelShape(model: ServiceModel, name: string): ShapeDef {
  const s = shapeOf(model, name);
  if (!s) throw new Error(`aws-model: the ${model.metadata.serviceId} model has no shape ${name}`);
  return s;
}

/** `an ECS`, `a ServiceDiscovery`: the service's id with its article, for messages. */
export function serviceLabel(model: ServiceModel): string {
  const id = model.metadata.serviceId;
  return `${/^[AEIOU]/i.test(id) ? 'an' : 'a'} ${id}`;
}
