// validateInput: a request (a parsed JSON body, or what decodeQuery built from Query parameters) checked
// against the operation's input shape in a ServiceModel.
//
// First an iterative scan bounds the whole body (depth, number of values), so a hostile body gets one clean
// error and never a stack overflow. Then a walk along the model: JSON types, required members, integers,
// enums, the model's length / range / count constraints and patterns, timestamps (epoch seconds or ISO 8601
// -> Date).
// Members the model does not know are reported in `ignored` and left out of the returned value.
import { codePointLength, defineOwn, indexPath, isPlainObject, memberPath, parseIso8601 } from './json.js';
import { isOperation, memberTarget, modelShape, serviceLabel } from './model.js';
import type { NumberShapeDef, ServiceModel } from './model-types.js';

/** One problem with a request: where (a JSON path, `""` for the whole body), the rule broken, the value. */
export interface InputError {
  /** e.g. `containerDefinitions[0].portMappings[1].hostPort`; `""` is the body itself. */
  path: string;
  /** Phrased for a user: `must be an integer`, `is required`, `must be one of EC2, FARGATE`. */
  rule: string;
  /** The offending value, when there is one. */
  value?: unknown;
}

export type ValidationResult<T> =
  | { ok: true; value: T; ignored: string[] }
  | { ok: false; errors: InputError[]; ignored: string[] };

export interface InputLimits {
  /** Deepest nesting of objects and arrays; the body itself is level 1. ECS shapes need at most 14. */
  maxDepth: number;
  /** Most values (objects, arrays, scalars) in the whole body. */
  maxNodes: number;
  /** Errors reported at most; the rest are counted into one last error. */
  maxErrors: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({ maxDepth: 32, maxNodes: 100_000, maxErrors: 100 });

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const INVALID: unique symbol = Symbol('invalid');
type Walked = unknown | typeof INVALID;

interface Context {
  model: ServiceModel;
  errors: InputError[];
  ignored: string[];
  dropped: number;
  limits: InputLimits;
}

/**
 * Validates a request for an operation of `model`. Never throws: an unknown operation, a body that is not a JSON
 * object, a body past the limits, wrong types and broken constraints all come back as `ok: false`.
 * On success `value` holds only members the model knows, timestamps as Date. `T` is the caller's claim of the
 * input type (e.g. `Elbv2OperationTypes['CreateLoadBalancer']['input']`); nothing checks it.
 */
export function validateInput<T = unknown>(model: ServiceModel, operation: string, body: unknown, limits: Partial<InputLimits> = {}): ValidationResult<T> {
  const ctx: Context = { model, errors: [], ignored: [], dropped: 0, limits: { ...DEFAULT_INPUT_LIMITS, ...limits } };
  if (!isOperation(model, operation)) return { ok: false, errors: [{ path: '', rule: `is not ${serviceLabel(model)} operation`, value: operation }], ignored: [] };
  if (!isPlainObject(body)) return { ok: false, errors: [{ path: '', rule: 'the request body must be a JSON object', value: body }], ignored: [] };
  const tooBig = checkBounds(body, ctx.limits);
  if (tooBig) return { ok: false, errors: [tooBig], ignored: [] };

  const input = model.operations[operation].input;
  // An operation without an input shape takes nothing: every member is ignored.
  const value = input === undefined ? ignoreAll(body, ctx) : walk(input, body, '', ctx);
  if (ctx.dropped > 0) ctx.errors.push({ path: '', rule: `and ${ctx.dropped} more problem${ctx.dropped === 1 ? '' : 's'}` });
  if (value === INVALID || ctx.errors.length > 0) return { ok: false, errors: ctx.errors, ignored: ctx.ignored };
  return { ok: true, value: value as T, ignored: ctx.ignored };
}

function ignoreAll(body: Record<string, unknown>, ctx: Context): Record<string, unknown> {
  for (const k of Object.keys(body)) ctx.ignored.push(memberPath('', k));
  return {};
}

/** Iterative: depth and size of the whole body, unknown members included. Undefined when within bounds. */
function checkBounds(body: unknown, limits: InputLimits): InputError | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: body, path: '', depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (++nodes > limits.maxNodes) return { path: '', rule: `the request has more than ${limits.maxNodes} values` };
    const container = Array.isArray(v) || isPlainObject(v);
    if (!container) continue;
    if (depth > limits.maxDepth) return { path, rule: `nests deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      if (nodes + v.length > limits.maxNodes) return { path: '', rule: `the request has more than ${limits.maxNodes} values` };
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: indexPath(path, i), depth: depth + 1 });
    } else {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (nodes + keys.length > limits.maxNodes) return { path: '', rule: `the request has more than ${limits.maxNodes} values` };
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: obj[keys[i]], path: memberPath(path, keys[i]), depth: depth + 1 });
    }
  }
  return undefined;
}

function fail(ctx: Context, path: string, rule: string, value?: unknown): typeof INVALID {
  if (ctx.errors.length < ctx.limits.maxErrors) ctx.errors.push(value === undefined ? { path, rule } : { path, rule, value });
  else ctx.dropped++;
  return INVALID;
}

function rangeRule(what: string, min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be ${what} from ${min} to ${max}`;
  if (min !== undefined) return `must be ${what}, at least ${min}`;
  return `must be ${what}, at most ${max}`;
}

function outOfRange(n: number, min: number | undefined, max: number | undefined): boolean {
  return (min !== undefined && n < min) || (max !== undefined && n > max);
}

/** The walk along the model. Recursion depth is bounded by the body, which was bounded first. */
function walk(shapeName: string, v: unknown, path: string, ctx: Context): Walked {
  const s = modelShape(ctx.model, shapeName);
  switch (s.type) {
    case 'structure': {
      if (s.document) return v; // free-form JSON, already bounded
      if (!isPlainObject(v)) return fail(ctx, path, 'must be an object', v);
      const out: Record<string, unknown> = {};
      let bad = false;
      for (const req of s.required ?? []) {
        if (Object.hasOwn(v, req) && v[req] !== null && v[req] !== undefined) continue;
        fail(ctx, memberPath(path, req), 'is required');
        bad = true;
      }
      for (const key of Object.keys(v)) {
        const at = memberPath(path, key);
        const target = memberTarget(s, key);
        if (target === undefined) {
          ctx.ignored.push(at);
          continue;
        }
        const mv = v[key];
        if (mv === null || mv === undefined) continue; // JSON null means absent
        const r = walk(target, mv, at, ctx);
        if (r === INVALID) bad = true;
        else defineOwn(out, key, r);
      }
      return bad ? INVALID : out;
    }
    case 'list': {
      if (!Array.isArray(v)) return fail(ctx, path, 'must be an array', v);
      let bad = false;
      if (outOfRange(v.length, s.min, s.max)) {
        fail(ctx, path, countRule('item', s.min, s.max), v.length);
        bad = true;
      }
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        const r = walk(s.member, v[i], indexPath(path, i), ctx);
        if (r === INVALID) bad = true;
        else out.push(r);
      }
      return bad ? INVALID : out;
    }
    case 'map': {
      if (!isPlainObject(v)) return fail(ctx, path, 'must be an object (a map)', v);
      const keys = Object.keys(v);
      let bad = false;
      if (outOfRange(keys.length, s.min, s.max)) {
        fail(ctx, path, countRule('entry', s.min, s.max), keys.length);
        bad = true;
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const at = memberPath(path, key);
        const k = walk(s.key, key, at, ctx);
        const r = walk(s.value, v[key], at, ctx);
        if (k === INVALID || r === INVALID) bad = true;
        else defineOwn(out, key, r);
      }
      return bad ? INVALID : out;
    }
    case 'string':
    case 'blob': {
      if (typeof v !== 'string') return fail(ctx, path, s.type === 'blob' ? 'must be a base64 string' : 'must be a string', v);
      if (s.type === 'string' && s.enum && !s.enum.includes(v)) return fail(ctx, path, `must be one of ${s.enum.join(', ')}`, v);
      if (s.min !== undefined || s.max !== undefined) {
        const n = codePointLength(v);
        if (outOfRange(n, s.min, s.max)) return fail(ctx, path, lengthRule(s.min, s.max), v);
      }
      if (s.type === 'string' && s.pattern !== undefined && !patternOf(s.pattern).test(v)) return fail(ctx, path, `must match the pattern ${s.pattern}`, v);
      return v;
    }
    case 'integer':
    case 'long':
      return checkInteger(s, v, path, ctx);
    case 'double':
    case 'float': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(ctx, path, 'must be a number', v);
      if (outOfRange(v, s.min, s.max)) return fail(ctx, path, rangeRule('a number', s.min, s.max), v);
      return v;
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : fail(ctx, path, 'must be true or false', v);
    case 'timestamp':
      return checkTimestamp(v, path, ctx);
  }
}

function checkInteger(s: NumberShapeDef, v: unknown, path: string, ctx: Context): Walked {
  // Without a range in the model, an integer is a Java int (32 bits) and a long what a JS number holds exactly.
  const min = s.min ?? (s.type === 'integer' ? INT32_MIN : Number.MIN_SAFE_INTEGER);
  const max = s.max ?? (s.type === 'integer' ? INT32_MAX : Number.MAX_SAFE_INTEGER);
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(ctx, path, 'must be an integer', v);
  if (outOfRange(v, min, max)) return fail(ctx, path, s.min === undefined && s.max === undefined ? `must be an integer from ${min} to ${max}` : rangeRule('an integer', s.min, s.max), v);
  return v;
}

function checkTimestamp(v: unknown, path: string, ctx: Context): Walked {
  const rule = 'must be a timestamp: epoch seconds or an ISO 8601 date-time';
  let ms: number | undefined;
  // Rounded: 1714557600.123 * 1000 is 1714557600122.9998, and Date would truncate it to ...122.
  if (typeof v === 'number' && Number.isFinite(v)) ms = Math.round(v * 1000);
  else if (typeof v === 'string') ms = parseIso8601(v);
  else if (v instanceof Date) ms = v.getTime();
  if (ms === undefined) return fail(ctx, path, rule, v);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? fail(ctx, path, rule, v) : d;
}

function countRule(what: string, min: number | undefined, max: number | undefined): string {
  const plural = (n: number) => `${n} ${n === 1 ? what : what === 'entry' ? 'entries' : `${what}s`}`;
  if (min !== undefined && max !== undefined) return `must have ${min} to ${plural(max)}`;
  if (min !== undefined) return `must have at least ${plural(min)}`;
  return `must have at most ${plural(max!)}`;
}

function lengthRule(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be ${min} to ${max} characters long`;
  if (min !== undefined) return `must be at least ${min} character${min === 1 ? '' : 's'} long`;
  return `must be at most ${max} characters long`;
}

const PATTERNS = new Map<string, RegExp>();

/** A model pattern compiled once (the generator checked that each compiles with flag u). */
function patternOf(pattern: string): RegExp {
  let re = PATTERNS.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    PATTERNS.set(pattern, re);
  }
  return re;
}
