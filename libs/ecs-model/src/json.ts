// The JSON value type, from @berth/aws-model (which holds the JSON helpers).
export type { JsonValue } from '@berth/aws-model';
