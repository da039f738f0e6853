// The form of the generated runtime model (src/gen/ecs-model.ts): the types of @berth/aws-model, which holds
// them for every service. Kept here under the names @berth/ecs-model has always exported.
export type {
  StructureShapeDef,
  ListShapeDef,
  MapShapeDef,
  StringShapeDef,
  NumberShapeDef,
  BooleanShapeDef,
  TimestampShapeDef,
  BlobShapeDef,
  ShapeDef,
  ShapeType,
  OperationDef,
  ServiceModel,
} from '@berth/aws-model';
