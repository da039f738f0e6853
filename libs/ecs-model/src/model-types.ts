// The form of the generated runtime model (src/gen/ecs-model.ts). Kept by hand so the generated file only
// holds data. Numbers are Smithy constraints: for strings a length in characters, for lists and maps a count,
// for numbers an inclusive range.

export interface StructureShapeDef {
  type: 'structure';
  /** Member name -> target shape name. */
  members: Readonly<Record<string, string>>;
  required?: readonly string[];
  /** An error shape; `fault` when it is the server's fault (ServerException). */
  exception?: true;
  fault?: true;
  /** Free-form JSON (no members): any JSON value is accepted and passed through. */
  document?: true;
  sensitive?: true;
  deprecated?: true;
}

export interface ListShapeDef {
  type: 'list';
  member: string;
  min?: number;
  max?: number;
  sensitive?: true;
  deprecated?: true;
}

export interface MapShapeDef {
  type: 'map';
  key: string;
  value: string;
  min?: number;
  max?: number;
}

export interface StringShapeDef {
  type: 'string';
  enum?: readonly string[];
  min?: number;
  max?: number;
  sensitive?: true;
}

export interface NumberShapeDef {
  type: 'integer' | 'long' | 'double' | 'float';
  min?: number;
  max?: number;
}

export interface BooleanShapeDef {
  type: 'boolean';
}

/** Epoch seconds on the wire (AWS JSON 1.1 default; the ECS model sets no other format). */
export interface TimestampShapeDef {
  type: 'timestamp';
}

/** Base64 text on the wire. ECS has no blob shapes today; kept for completeness. */
export interface BlobShapeDef {
  type: 'blob';
  min?: number;
  max?: number;
}

export type ShapeDef =
  | StructureShapeDef
  | ListShapeDef
  | MapShapeDef
  | StringShapeDef
  | NumberShapeDef
  | BooleanShapeDef
  | TimestampShapeDef
  | BlobShapeDef;

export type ShapeType = ShapeDef['type'];

export interface OperationDef {
  /** Request shape name (a structure). */
  input?: string;
  /** Response shape name (a structure). */
  output?: string;
  /** Error shape names this operation may return (exception structures). */
  errors: readonly string[];
  /** The operation only reads. */
  readonly?: true;
  idempotent?: true;
  deprecated?: true;
}
