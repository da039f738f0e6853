// The form of a generated runtime model (src/gen/*-model.ts): data only, no documentation. Numbers are Smithy
// constraints: for strings a length in characters, for lists and maps a count, for numbers an inclusive range.
// Serialization traits (locationName, flattened, xmlNamespace) are the botocore ones; they matter to the Query
// protocol and XML answers, and no JSON model has them (the generator refuses one that does).

/** Traits of one structure member, from the member reference in the botocore model. */
export interface MemberTraits {
  /** The name on the wire (a Query key segment, an XML element) instead of the member name. */
  locationName?: string;
  /** A list or map member written without its wrapper element / `member` segment. */
  flattened?: true;
  xmlNamespace?: string;
  /** The client fills it with a fresh token when the caller leaves it out (a retry sends the same one). */
  idempotencyToken?: true;
}

/** An error shape's wire identity (Query protocol models carry it; JSON ones use the shape name). */
export interface ErrorTraits {
  /** The error code on the wire, e.g. `DuplicateLoadBalancerName` for DuplicateLoadBalancerNameException. */
  code?: string;
  httpStatusCode?: number;
  /** The caller's fault (Type Sender); otherwise the service's (Receiver). */
  senderFault?: true;
}

export interface StructureShapeDef {
  type: 'structure';
  /** Member name -> target shape name. */
  members: Readonly<Record<string, string>>;
  required?: readonly string[];
  /** Member name -> serialization traits, only for members that have any. */
  memberTraits?: Readonly<Record<string, MemberTraits>>;
  /** An error shape; `fault` when it is the server's fault (ServerException). */
  exception?: true;
  fault?: true;
  error?: ErrorTraits;
  /** Free-form JSON (no members): any JSON value is accepted and passed through. */
  document?: true;
  sensitive?: true;
  deprecated?: true;
  locationName?: string;
  xmlNamespace?: string;
}

export interface ListShapeDef {
  type: 'list';
  member: string;
  /** The element name of each item (Query `Name.<this>.N`, XML `<this>`) instead of `member`. */
  memberLocationName?: string;
  flattened?: true;
  min?: number;
  max?: number;
  sensitive?: true;
  deprecated?: true;
  locationName?: string;
  xmlNamespace?: string;
}

export interface MapShapeDef {
  type: 'map';
  key: string;
  value: string;
  /** Element names of an entry's key and value instead of `key` / `value`. */
  keyLocationName?: string;
  valueLocationName?: string;
  flattened?: true;
  min?: number;
  max?: number;
  locationName?: string;
  xmlNamespace?: string;
}

export interface StringShapeDef {
  type: 'string';
  enum?: readonly string[];
  min?: number;
  max?: number;
  /** A Smithy pattern: a JavaScript regular expression (flag u), unanchored unless it says ^...$. */
  pattern?: string;
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

/** Epoch seconds in AWS JSON 1.1, ISO 8601 in Query and XML (the protocol defaults; no model sets another). */
export interface TimestampShapeDef {
  type: 'timestamp';
}

/** Base64 text on the wire. */
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
  /** Query protocol: the element that wraps the output in the answer, e.g. `CreateLoadBalancerResult`. */
  resultWrapper?: string;
  /** Error shape names this operation may return (exception structures). */
  errors: readonly string[];
  /** The operation only reads. */
  readonly?: true;
  idempotent?: true;
  deprecated?: true;
  /** The client prepends this to the endpoint host (Cloud Map's `data-` for DiscoverInstances). */
  hostPrefix?: string;
}

/** The model's metadata, as botocore has it (documentation left out). */
export interface ServiceMetadata {
  readonly apiVersion: string;
  /** `json` (AWS JSON 1.x, with jsonVersion and targetPrefix) or `query` (AWS Query, XML answers). */
  readonly protocol: string;
  readonly jsonVersion?: string;
  readonly targetPrefix?: string;
  /** Query protocol: the namespace of every answer document. */
  readonly xmlNamespace?: string;
  readonly endpointPrefix: string;
  readonly signingName?: string;
  readonly serviceId: string;
  readonly serviceFullName?: string;
  readonly uid: string;
}

/** One AWS service's API: what every function of this library takes first. */
export interface ServiceModel<Op extends string = string, Shape extends string = string> {
  readonly metadata: ServiceMetadata;
  readonly operations: Readonly<Record<Op, OperationDef>>;
  readonly shapes: Readonly<Record<Shape, ShapeDef>>;
}
