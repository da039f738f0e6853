// AWS Query answers: an operation's output as the XML document the service returns, and the error document.
//
//   <{Op}Response xmlns="{metadata.xmlNamespace}">
//     <{resultWrapper}> ...members of the output shape... </{resultWrapper}>
//     <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata>
//   </{Op}Response>
//
// Members are elements named by the member (or its locationName), in model order; lists wrap items in
// <member> (or the list member's locationName), flattened lists repeat the element; maps are
// <entry><key>..</key><value>..</value></entry>; timestamps ISO 8601 UTC, booleans true/false. Values are
// coerced as toWire does; what the model has no place for is dropped and reported.
import { base64, describe, objectOf, toEpochMillis, toNumber } from './coerce.js';
import { indexPath, kindOf, memberPath } from './json.js';
import { memberTarget, modelShape, operationOf } from './model.js';
import type { ServiceModel, StructureShapeDef } from './model-types.js';
import { escapeXml } from './xml.js';

export interface ToQueryXmlOptions {
  /** Called for every value left out because the model has no place for it or it has the wrong type. */
  onDropped?: (path: string, reason: string) => void;
  /** Deepest nesting walked (a guard against cyclic views). Default 64. */
  maxDepth?: number;
}

interface XmlContext {
  model: ServiceModel;
  onDropped: (path: string, reason: string) => void;
  track: boolean;
  maxDepth: number;
}

/**
 * The full answer document for `operation` with `output` (an internal view of the output shape; undefined or
 * null for an operation that answers nothing but its request id). Throws only for an operation the model does
 * not have (a programming error).
 */
export function toQueryXml(model: ServiceModel, operation: string, output: unknown, requestId: string, options: ToQueryXmlOptions = {}): string {
  const op = operationOf(model, operation);
  if (!op) throw new Error(`toQueryXml: the ${model.metadata.serviceId} model has no operation ${JSON.stringify(operation)}`);
  const ctx: XmlContext = { model, onDropped: options.onDropped ?? (() => {}), track: options.onDropped !== undefined, maxDepth: options.maxDepth ?? 64 };
  const ns = model.metadata.xmlNamespace;
  let body = '';
  if (op.output !== undefined) {
    const members = output === undefined || output === null ? '' : encodeStructureBody(modelShape(model, op.output) as StructureShapeDef, output, '', 1, ctx);
    body = op.resultWrapper === undefined ? (members ?? '') : element(op.resultWrapper, members ?? '');
  } else if (output !== undefined && output !== null) {
    ctx.onDropped('', `${operation} has no output shape`);
  }
  const root = `${operation}Response`;
  return `<${root}${ns ? ` xmlns="${escapeXml(ns)}"` : ''}>${body}<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${root}>`;
}

export interface QueryError {
  /** The error code, e.g. from errorCodeOf: `TargetGroupNotFound`, `ValidationError`. */
  code: string;
  message: string;
  /** `Sender` for the caller's fault, `Receiver` for the service's. */
  type: 'Sender' | 'Receiver';
  requestId: string;
  /** The namespace of the document (metadata.xmlNamespace of the service); none when left out. */
  xmlNamespace?: string;
}

/** The Query error document: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function queryErrorXml(error: QueryError): string {
  const ns = error.xmlNamespace ? ` xmlns="${escapeXml(error.xmlNamespace)}"` : '';
  return `<ErrorResponse${ns}><Error><Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${escapeXml(error.requestId)}</RequestId></ErrorResponse>`;
}

function element(name: string, content: string, ns?: string): string {
  return `<${name}${ns ? ` xmlns="${escapeXml(ns)}"` : ''}>${content}</${name}>`;
}

function drop(ctx: XmlContext, path: string, reason: string): undefined {
  ctx.onDropped(path, reason);
  return undefined;
}

/** The member elements of a structure (without an element of its own); undefined when it cannot be encoded. */
function encodeStructureBody(s: StructureShapeDef, v: unknown, path: string, depth: number, ctx: XmlContext): string | undefined {
  if (depth > ctx.maxDepth) return drop(ctx, path, `nests deeper than ${ctx.maxDepth} levels`);
  if (s.document) return drop(ctx, path, 'free-form JSON has no XML form');
  const obj = objectOf(v);
  if (!obj) return drop(ctx, path, `expected an object, got ${kindOf(v)}`);
  if (ctx.track) {
    for (const key of Object.keys(obj)) if (obj[key] !== undefined && memberTarget(s, key) === undefined) drop(ctx, memberPath(path, key), 'not in the model');
  }
  let out = '';
  for (const member of Object.keys(s.members)) {
    if (!Object.hasOwn(obj, member)) continue;
    const mv = obj[member];
    if (mv === undefined || mv === null) continue;
    const traits = s.memberTraits && Object.hasOwn(s.memberTraits, member) ? s.memberTraits[member] : undefined;
    const at = ctx.track ? memberPath(path, member) : '';
    out += encodeMember(s.members[member], traits?.locationName ?? member, traits?.flattened === true, traits?.xmlNamespace, mv, at, depth + 1, ctx);
  }
  return out;
}

/** A value as the element(s) `name`: one element, or for a flattened list or map one per item. */
function encodeMember(shapeName: string, name: string, memberFlattened: boolean, ns: string | undefined, v: unknown, path: string, depth: number, ctx: XmlContext): string {
  const s = modelShape(ctx.model, shapeName);
  switch (s.type) {
    case 'structure': {
      const body = encodeStructureBody(s, v, path, depth, ctx);
      return body === undefined ? '' : element(name, body, ns ?? s.xmlNamespace);
    }
    case 'list': {
      if (depth > ctx.maxDepth) return drop(ctx, path, `nests deeper than ${ctx.maxDepth} levels`) ?? '';
      const items = Array.isArray(v) ? v : v instanceof Set ? [...v] : undefined;
      if (!items) return drop(ctx, path, `expected an array, got ${kindOf(v)}`) ?? '';
      const flattened = memberFlattened || s.flattened === true;
      const itemName = flattened ? (s.memberLocationName ?? name) : (s.memberLocationName ?? 'member');
      let out = '';
      for (let i = 0; i < items.length; i++) {
        const at = ctx.track ? indexPath(path, i) : '';
        if (items[i] === null || items[i] === undefined) {
          drop(ctx, at, `${kindOf(items[i])} in a list`);
          continue;
        }
        out += encodeMember(s.member, itemName, false, undefined, items[i], at, depth + 1, ctx);
      }
      return flattened ? out : element(name, out, ns ?? s.xmlNamespace);
    }
    case 'map': {
      if (depth > ctx.maxDepth) return drop(ctx, path, `nests deeper than ${ctx.maxDepth} levels`) ?? '';
      const obj = objectOf(v);
      if (!obj) return drop(ctx, path, `expected an object (a map), got ${kindOf(v)}`) ?? '';
      const flattened = memberFlattened || s.flattened === true;
      const keyName = s.keyLocationName ?? 'key';
      const valueName = s.valueLocationName ?? 'value';
      let out = '';
      for (const key of Object.keys(obj)) {
        const mv = obj[key];
        if (mv === undefined) continue;
        const at = ctx.track ? memberPath(path, key) : '';
        if (mv === null) {
          drop(ctx, at, 'null in a map');
          continue;
        }
        const value = encodeMember(s.value, valueName, false, undefined, mv, at, depth + 1, ctx);
        if (value === '') continue;
        out += element(flattened ? name : 'entry', `${element(keyName, escapeXml(key))}${value}`);
      }
      return flattened ? out : element(name, out, ns ?? s.xmlNamespace);
    }
    default: {
      const text = scalarText(s.type, v, path, ctx);
      return text === undefined ? '' : element(name, escapeXml(text), ns);
    }
  }
}

function scalarText(type: string, v: unknown, path: string, ctx: XmlContext): string | undefined {
  switch (type) {
    case 'string':
      if (typeof v === 'string') return v;
      if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      return drop(ctx, path, `expected a string, got ${kindOf(v)}`);
    case 'blob':
      if (typeof v === 'string') return v;
      if (v instanceof Uint8Array) return base64(v);
      return drop(ctx, path, `expected base64 text or bytes, got ${kindOf(v)}`);
    case 'integer':
    case 'long': {
      const n = toNumber(v);
      return n === undefined || !Number.isInteger(n) ? drop(ctx, path, `expected an integer, got ${describe(v)}`) : String(n);
    }
    case 'double':
    case 'float': {
      const n = toNumber(v);
      return n === undefined ? drop(ctx, path, `expected a number, got ${describe(v)}`) : String(n);
    }
    case 'boolean':
      return typeof v === 'boolean' ? String(v) : drop(ctx, path, `expected true or false, got ${describe(v)}`);
    case 'timestamp': {
      const ms = toEpochMillis(v);
      const d = ms === undefined ? undefined : new Date(ms);
      return d === undefined || Number.isNaN(d.getTime()) ? drop(ctx, path, `expected a Date, epoch seconds or an ISO 8601 string, got ${describe(v)}`) : d.toISOString();
    }
    default:
      return drop(ctx, path, `a ${type} has no XML form`);
  }
}
