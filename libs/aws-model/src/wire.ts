// toWire: an internal view (a response Berth built) encoded as the AWS JSON 1.1 an SDK expects, walking the
// output shape of a ServiceModel: timestamps as epoch seconds, members the model does not know dropped (and
// reported), absent values omitted, scalars coerced where the meaning is unambiguous (cpu 256 -> "256" for a
// string shape, "80" -> 80 for an integer shape).
import type { JsonValue } from './json.js';
import { base64, describe, objectOf, toEpochSeconds, toNumber } from './coerce.js';
import { defineOwn, indexPath, isPlainObject, kindOf, memberPath } from './json.js';
import { memberTarget, modelShape, shapeOf } from './model.js';
import type { ServiceModel } from './model-types.js';

export interface ToWireOptions {
  /** Called for every value left out because the model has no place for it or it has the wrong type. */
  onDropped?: (path: string, reason: string) => void;
  /** Deepest nesting walked (a guard against cyclic views); ECS output shapes need at most 14. Default 64. */
  maxDepth?: number;
}

/**
 * Encodes `value` as shape `shapeName` for a JSON 1.1 response body. Returns undefined when the value is
 * null/undefined or cannot be encoded at all (reported through `onDropped` with path ""). Throws only for a
 * shape name the model does not have (a programming error).
 */
export function toWire<Shape extends string>(model: ServiceModel<string, Shape>, shapeName: Shape | (string & {}), value: unknown, options: ToWireOptions = {}): JsonValue | undefined {
  if (!shapeOf(model, shapeName)) throw new Error(`toWire: the ${model.metadata.serviceId} model has no shape ${JSON.stringify(shapeName)}`);
  const ctx: WireContext = { model, onDropped: options.onDropped ?? (() => {}), track: options.onDropped !== undefined, maxDepth: options.maxDepth ?? 64 };
  return encode(shapeName, value, '', 1, ctx);
}

interface WireContext {
  model: ServiceModel;
  onDropped: (path: string, reason: string) => void;
  /** Paths are built only when someone listens for drops (a response answers thousands of members). */
  track: boolean;
  maxDepth: number;
}

function drop(ctx: WireContext, path: string, reason: string): undefined {
  ctx.onDropped(path, reason);
  return undefined;
}

function encode(shapeName: string, v: unknown, path: string, depth: number, ctx: WireContext): JsonValue | undefined {
  if (v === null || v === undefined) return undefined;
  const s = modelShape(ctx.model, shapeName);
  const container = s.type === 'structure' || s.type === 'list' || s.type === 'map';
  if (container && depth > ctx.maxDepth) return drop(ctx, path, `nests deeper than ${ctx.maxDepth} levels`);
  switch (s.type) {
    case 'structure': {
      if (s.document) return jsonCopy(v, path, depth, ctx);
      const obj = objectOf(v);
      if (!obj) return drop(ctx, path, `expected an object, got ${kindOf(v)}`);
      const out: Record<string, JsonValue> = {};
      for (const key of Object.keys(obj)) {
        const mv = obj[key];
        if (mv === undefined) continue;
        const at = ctx.track ? memberPath(path, key) : '';
        const target = memberTarget(s, key);
        if (target === undefined) {
          drop(ctx, at, 'not in the model');
          continue;
        }
        const w = encode(target, mv, at, depth + 1, ctx);
        // Member names come from the model (never __proto__): plain assignment.
        if (w !== undefined) out[key] = w;
      }
      return out;
    }
    case 'list': {
      const items = Array.isArray(v) ? v : v instanceof Set ? [...v] : undefined;
      if (!items) return drop(ctx, path, `expected an array, got ${kindOf(v)}`);
      const out: JsonValue[] = [];
      for (let i = 0; i < items.length; i++) {
        const at = ctx.track ? indexPath(path, i) : '';
        if (items[i] === null || items[i] === undefined) {
          drop(ctx, at, `${kindOf(items[i])} in a list`);
          continue;
        }
        const w = encode(s.member, items[i], at, depth + 1, ctx);
        if (w !== undefined) out.push(w);
      }
      return out;
    }
    case 'map': {
      const obj = objectOf(v);
      if (!obj) return drop(ctx, path, `expected an object (a map), got ${kindOf(v)}`);
      const out: Record<string, JsonValue> = {};
      for (const key of Object.keys(obj)) {
        const mv = obj[key];
        if (mv === undefined) continue;
        const at = ctx.track ? memberPath(path, key) : '';
        const w = mv === null ? drop(ctx, at, 'null in a map') : encode(s.value, mv, at, depth + 1, ctx);
        if (w !== undefined) defineOwn(out, key, w);
      }
      return out;
    }
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
      if (n === undefined || !Number.isInteger(n)) return drop(ctx, path, `expected an integer, got ${describe(v)}`);
      return n;
    }
    case 'double':
    case 'float': {
      const n = toNumber(v);
      return n === undefined ? drop(ctx, path, `expected a number, got ${describe(v)}`) : n;
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : drop(ctx, path, `expected true or false, got ${describe(v)}`);
    case 'timestamp': {
      const seconds = toEpochSeconds(v);
      return seconds === undefined ? drop(ctx, path, `expected a Date, epoch seconds or an ISO 8601 string, got ${describe(v)}`) : seconds;
    }
  }
}

/** A document (free-form JSON) member: a JSON-safe copy, Dates as ISO strings, anything else non-JSON dropped. */
function jsonCopy(v: unknown, path: string, depth: number, ctx: WireContext): JsonValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : drop(ctx, path, `${v} is not JSON`);
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : drop(ctx, path, 'an invalid Date');
  if ((Array.isArray(v) || isPlainObject(v)) && depth > ctx.maxDepth) return drop(ctx, path, `nests deeper than ${ctx.maxDepth} levels`);
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    v.forEach((x, i) => {
      const w = x === undefined ? undefined : jsonCopy(x, indexPath(path, i), depth + 1, ctx);
      if (w !== undefined) out.push(w);
    });
    return out;
  }
  if (isPlainObject(v)) {
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(v)) {
      if (v[key] === undefined) continue;
      const w = jsonCopy(v[key], memberPath(path, key), depth + 1, ctx);
      if (w !== undefined) defineOwn(out, key, w);
    }
    return out;
  }
  return drop(ctx, path, `${kindOf(v)} is not JSON`);
}

export { toEpochSeconds } from './coerce.js';
