// The wire identity of an error shape: the code a client matches on, the HTTP status, whose fault it is.
import { shapeOf } from './model.js';
import type { ServiceModel } from './model-types.js';

export interface ErrorCode {
  /** `DuplicateLoadBalancerName` (Query models say so in the shape), else the shape name (JSON protocol). */
  code: string;
  httpStatus: number;
  /** The caller's fault (Query `<Type>Sender</Type>`); false for the service's (Receiver). */
  sender: boolean;
}

/**
 * The code, HTTP status and fault of an error shape, from its `error` traits: a shape without them answers with
 * its name, 400 and Sender, or 500 and Receiver when it is a `fault`. Undefined when `errorShapeName` is not an
 * exception shape of the model.
 */
export function errorCodeOf(model: ServiceModel, errorShapeName: string): ErrorCode | undefined {
  const s = shapeOf(model, errorShapeName);
  if (s?.type !== 'structure' || !s.exception) return undefined;
  const fault = s.fault === true;
  return {
    code: s.error?.code ?? errorShapeName,
    httpStatus: s.error?.httpStatusCode ?? (fault ? 500 : 400),
    sender: s.error ? s.error.senderFault === true : !fault,
  };
}
