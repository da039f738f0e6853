// decodeQuery: an AWS Query request (`Action=CreateTargetGroup&Version=2015-12-01&Name=web&Tags.member.1.Key=env`,
// the form body or the URL query) turned into the operation's input, the inverse of botocore's QuerySerializer:
//
//   structure member    Prefix.Member            (the member's locationName when it has one)
//   list item           Prefix.member.N          (N from 1; `member` is the list member's locationName if any)
//   flattened list      Prefix.N                 (Prefix's last segment is the list member's locationName if any)
//   empty list          Prefix=                  (botocore sends an empty value)
//   map entry           Prefix.entry.N.key / Prefix.entry.N.value   (flattened: Prefix.N.key; locationNames rename)
//   scalars             integer/long decimal, double/float decimal, boolean true/false, timestamp ISO 8601,
//                       blob base64, string as is
//
// Keys the input shape has no place for are errors naming the key (AWS answers them with a 400), and so are
// scalars that do not read as their type. Then validateInput checks the decoded input against the model
// (required members, enums, lengths, ranges, patterns), so the caller gets every problem with its field path.
import { defineOwn, indexPath, memberPath, parseIso8601 } from './json.js';
import { isOperation, memberTarget, modelShape, serviceLabel } from './model.js';
import type { ServiceModel, StructureShapeDef } from './model-types.js';
import type { InputError, InputLimits } from './validate.js';
import { DEFAULT_INPUT_LIMITS, validateInput } from './validate.js';

/** What went wrong, for the caller to map onto the service's error codes. */
export type QueryErrorKind =
  /** No `Action` parameter (AWS: MissingAction). */
  | 'missing-action'
  /** `Action` names no operation of the model (AWS: InvalidAction). */
  | 'unknown-action'
  /** No `Version` parameter (AWS: MissingParameter). */
  | 'missing-version'
  /** `Version` is not the model's apiVersion (AWS: InvalidAction or InvalidParameterValue, per service). */
  | 'wrong-version'
  /** A key the input shape has no place for (AWS: InvalidParameterValue / ValidationError). */
  | 'unknown-parameter'
  /** A key that has a place but the wrong form: a list index that is not 1, 2, ..., a value on a structure. */
  | 'malformed-parameter'
  /** A value that does not read as its type, or breaks a rule of the model (validateInput). */
  | 'invalid-value'
  /** The request is past the limits (too many parameters, keys nested too deep). */
  | 'too-large';

export interface QueryInputError extends InputError {
  kind: QueryErrorKind;
  /** The Query key at fault (`Tags.member.1.Key`), when there is one; `path` is the field (`Tags[0].Key`). */
  key?: string;
}

export type QueryDecodeResult<T = unknown> =
  | { ok: true; action: string; version: string; input: T }
  | { ok: false; action?: string; version?: string; errors: QueryInputError[] };

export interface DecodeQueryOptions {
  /** Passed to validateInput; maxNodes also bounds the number of parameters, maxErrors the errors reported. */
  limits?: Partial<InputLimits>;
  /** Run validateInput on the decoded input (default true). Without it `input` is decoded, not checked. */
  validate?: boolean;
  /** Parameters that are not input, besides Action and Version. Default: the SigV4 query-string auth keys. */
  ignoreKeys?: readonly string[];
}

/** SigV4 in the query string (a presigned request): not input. */
export const QUERY_AUTH_KEYS: readonly string[] = Object.freeze([
  'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token',
]);

/** A parsed key: its segments' tree. A key names a node; `value` is set when a parameter ends there. */
interface Node {
  value?: string;
  /** The full Query key of this node, for messages. */
  key: string;
  children: Map<string, Node>;
}

const INVALID: unique symbol = Symbol('invalid');

interface Context {
  model: ServiceModel;
  errors: QueryInputError[];
  dropped: number;
  maxErrors: number;
}

/**
 * Decodes (and by default validates) an AWS Query request for `model`. Never throws. `params` is the form body
 * (a string or URLSearchParams) or its pairs as an object. `T` is the caller's claim of the input type.
 */
export function decodeQuery<T = unknown>(model: ServiceModel, params: URLSearchParams | string | Readonly<Record<string, string>>, options: DecodeQueryOptions = {}): QueryDecodeResult<T> {
  const limits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const ignore = new Set(options.ignoreKeys ?? QUERY_AUTH_KEYS);
  const pairs: [string, string][] = [];
  if (typeof params === 'string' || params instanceof URLSearchParams) {
    for (const [k, v] of typeof params === 'string' ? new URLSearchParams(params) : params) {
      if (pairs.length > limits.maxNodes) break;
      pairs.push([k, v]);
    }
  } else {
    for (const k of Object.keys(params)) pairs.push([k, String(params[k])]);
  }
  const ctx: Context = { model, errors: [], dropped: 0, maxErrors: limits.maxErrors };
  if (pairs.length > limits.maxNodes) return { ok: false, errors: [{ kind: 'too-large', path: '', rule: `the request has more than ${limits.maxNodes} parameters` }] };

  let action: string | undefined;
  let version: string | undefined;
  const root: Node = { key: '', children: new Map() };
  const seen = new Set<string>();
  for (const [key, value] of pairs) {
    if (seen.has(key)) {
      fail(ctx, 'malformed-parameter', '', 'is given more than once', value, key);
      continue;
    }
    seen.add(key);
    if (key === 'Action') action = value;
    else if (key === 'Version') version = value;
    else if (!ignore.has(key)) addKey(root, key, value, limits, ctx);
  }

  const head: { action?: string; version?: string } = {};
  if (action !== undefined) head.action = action;
  if (version !== undefined) head.version = version;
  if (action === undefined || action === '') return { ok: false, ...head, errors: [{ kind: 'missing-action', path: '', rule: 'the request has no Action', key: 'Action' }] };
  if (!isOperation(model, action)) return { ok: false, ...head, errors: [{ kind: 'unknown-action', path: '', rule: `is not ${serviceLabel(model)} operation`, value: action, key: 'Action' }] };
  const apiVersion = model.metadata.apiVersion;
  if (version === undefined || version === '') return { ok: false, ...head, errors: [{ kind: 'missing-version', path: '', rule: `the request has no Version (${apiVersion})`, key: 'Version' }] };
  if (version !== apiVersion) return { ok: false, ...head, errors: [{ kind: 'wrong-version', path: '', rule: `must be ${apiVersion}`, value: version, key: 'Version' }] };

  const inputShape = model.operations[action].input;
  let input: unknown;
  if (inputShape === undefined) {
    for (const leaf of leaves(root)) fail(ctx, 'unknown-parameter', '', 'is not a parameter of this operation', leaf.value, leaf.key);
    input = {};
  } else {
    input = decodeStructure(modelShape(model, inputShape) as StructureShapeDef, root, '', ctx);
  }
  if (options.validate === false) {
    if (input === INVALID || ctx.errors.length > 0) return { ok: false, action, version, errors: finish(ctx) };
    return { ok: true, action, version, input: input as T };
  }
  // Validated even when decoding failed somewhere: what decoded is still checked, so one answer names every
  // problem. A field that failed to decode is left out of the input; its validation errors (`is required`) are
  // not repeated.
  const checked = validateInput<T>(model, action, input === INVALID ? {} : input, limits);
  if (checked.ok && ctx.errors.length === 0) return { ok: true, action, version, input: checked.value };
  const reported = ctx.errors.map((e) => e.path);
  const covered = (p: string) => reported.some((r) => r !== '' && (p === r || p.startsWith(`${r}.`) || p.startsWith(`${r}[`)));
  if (!checked.ok) {
    for (const e of checked.errors) {
      if (covered(e.path)) continue;
      if (ctx.errors.length >= ctx.maxErrors) ctx.dropped++;
      else ctx.errors.push({ kind: 'invalid-value', ...e });
    }
  }
  return { ok: false, action, version, errors: finish(ctx) };
}

function finish(ctx: Context): QueryInputError[] {
  if (ctx.dropped > 0) ctx.errors.push({ kind: 'invalid-value', path: '', rule: `and ${ctx.dropped} more problem${ctx.dropped === 1 ? '' : 's'}` });
  return ctx.errors;
}

function fail(ctx: Context, kind: QueryErrorKind, path: string, rule: string, value: unknown, key: string | undefined): typeof INVALID {
  if (ctx.errors.length >= ctx.maxErrors) {
    ctx.dropped++;
    return INVALID;
  }
  const e: QueryInputError = { kind, path, rule };
  if (value !== undefined) e.value = value;
  if (key !== undefined) e.key = key;
  ctx.errors.push(e);
  return INVALID;
}

function addKey(root: Node, key: string, value: string, limits: InputLimits, ctx: Context): void {
  const segments = key.split('.');
  // A shape level takes at most three segments (a map: entry.N.key), so this bounds the walk as maxDepth does JSON.
  if (segments.length > limits.maxDepth * 3) {
    fail(ctx, 'too-large', '', `nests deeper than ${limits.maxDepth} levels`, undefined, key);
    return;
  }
  if (segments.some((s) => s === '')) {
    fail(ctx, 'malformed-parameter', '', 'is not a parameter name (an empty segment)', value, key);
    return;
  }
  let node = root;
  for (const seg of segments) {
    let next = node.children.get(seg);
    if (!next) {
      next = { key: node.key ? `${node.key}.${seg}` : seg, children: new Map() };
      node.children.set(seg, next);
    }
    node = next;
  }
  node.value = value;
}

/** Every parameter at or below a node. */
function leaves(node: Node): Node[] {
  const out: Node[] = [];
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.value !== undefined && n.key !== '') out.push(n);
    for (const c of [...n.children.values()].reverse()) stack.push(c);
  }
  return out;
}

function unknownBelow(ctx: Context, node: Node, path: string, rule: string): typeof INVALID {
  for (const leaf of leaves(node)) fail(ctx, 'unknown-parameter', path, rule, leaf.value, leaf.key);
  return INVALID;
}

const WIRE_NAMES = new WeakMap<StructureShapeDef, Map<string, string>>();

/** Query key segment -> member name for a structure, per botocore's serialized names. */
function wireNames(model: ServiceModel, s: StructureShapeDef): Map<string, string> {
  let names = WIRE_NAMES.get(s);
  if (names) return names;
  names = new Map();
  for (const member of Object.keys(s.members)) {
    const traits = s.memberTraits && Object.hasOwn(s.memberTraits, member) ? s.memberTraits[member] : undefined;
    const target = modelShape(model, s.members[member]);
    // A flattened list with a named member: the list member's name replaces the structure member's.
    const flattenedList = target.type === 'list' && (traits?.flattened || target.flattened) && target.memberLocationName;
    names.set(flattenedList ? target.memberLocationName! : (traits?.locationName ?? member), member);
  }
  WIRE_NAMES.set(s, names);
  return names;
}

function decodeStructure(s: StructureShapeDef, node: Node, path: string, ctx: Context): unknown {
  if (s.document) return fail(ctx, 'malformed-parameter', path, 'is free-form JSON, which the Query protocol cannot carry', undefined, node.key || undefined);
  if (node.value !== undefined && node.key !== '') {
    return fail(ctx, 'malformed-parameter', path, `is a structure: give its members as ${node.key}.<Member>`, node.value, node.key);
  }
  const names = wireNames(ctx.model, s);
  const out: Record<string, unknown> = {};
  // A member that fails is left out (and reported); the rest of the structure still decodes.
  for (const [seg, child] of node.children) {
    const member = names.get(seg);
    const at = memberPath(path, member ?? seg);
    if (member === undefined) {
      unknownBelow(ctx, child, at, 'is not a parameter of this operation');
      continue;
    }
    const traits = s.memberTraits && Object.hasOwn(s.memberTraits, member) ? s.memberTraits[member] : undefined;
    const v = decodeNode(memberTarget(s, member)!, child, at, ctx, traits?.flattened === true);
    if (v !== INVALID) defineOwn(out, member, v);
  }
  return out;
}

/** The nodes under `N` segments (1, 2, ...) in index order; INVALID after reporting a segment that is not one. */
function indexed(node: Node, path: string, what: string, ctx: Context): Node[] | typeof INVALID {
  const items: [number, Node][] = [];
  let bad = false;
  for (const [seg, child] of node.children) {
    if (!/^[1-9][0-9]{0,8}$/.test(seg)) {
      for (const leaf of leaves(child)) fail(ctx, 'malformed-parameter', path, `${what} must be numbered 1, 2, ... (got ${JSON.stringify(seg)})`, leaf.value, leaf.key);
      bad = true;
      continue;
    }
    items.push([Number(seg), child]);
  }
  if (bad) return INVALID;
  return items.sort((a, b) => a[0] - b[0]).map(([, n]) => n);
}

function decodeNode(shapeName: string, node: Node, path: string, ctx: Context, memberFlattened = false): unknown {
  const s = modelShape(ctx.model, shapeName);
  switch (s.type) {
    case 'structure':
      return decodeStructure(s, node, path, ctx);
    case 'list': {
      const flattened = memberFlattened || s.flattened === true;
      const itemName = s.memberLocationName ?? 'member';
      if (node.value !== undefined) {
        if (node.value === '' && node.children.size === 0) return []; // botocore's empty list
        return fail(ctx, 'malformed-parameter', path, `is a list: give its items as ${node.key}${flattened ? '' : `.${itemName}`}.1, .2, ...`, node.value, node.key);
      }
      let container = node;
      if (!flattened) {
        let bad = false;
        for (const [seg, child] of node.children) {
          if (seg !== itemName) {
            unknownBelow(ctx, child, path, `is not a parameter of this operation (list items are ${node.key}.${itemName}.N)`);
            bad = true;
          }
        }
        const items = node.children.get(itemName);
        if (bad) return INVALID;
        if (!items) return [];
        if (items.value !== undefined) return fail(ctx, 'malformed-parameter', path, `list items are ${node.key}.${itemName}.N`, items.value, items.key);
        container = items;
      }
      const nodes = indexed(container, path, 'list items', ctx);
      if (nodes === INVALID) return INVALID;
      // One bad item fails the list (leaving it out would renumber the items after it).
      const out: unknown[] = [];
      let bad = false;
      nodes.forEach((n, i) => {
        const v = decodeNode(s.member, n, indexPath(path, i), ctx);
        if (v === INVALID) bad = true;
        else out.push(v);
      });
      return bad ? INVALID : out;
    }
    case 'map': {
      const flattened = memberFlattened || s.flattened === true;
      const keyName = s.keyLocationName ?? 'key';
      const valueName = s.valueLocationName ?? 'value';
      if (node.value !== undefined) {
        if (node.value === '' && node.children.size === 0) return {};
        return fail(ctx, 'malformed-parameter', path, `is a map: give its entries as ${node.key}${flattened ? '' : '.entry'}.N.${keyName} and .${valueName}`, node.value, node.key);
      }
      let container = node;
      if (!flattened) {
        let bad = false;
        for (const [seg, child] of node.children) {
          if (seg !== 'entry') {
            unknownBelow(ctx, child, path, `is not a parameter of this operation (map entries are ${node.key}.entry.N)`);
            bad = true;
          }
        }
        const entries = node.children.get('entry');
        if (bad) return INVALID;
        if (!entries) return {};
        container = entries;
      }
      const nodes = indexed(container, path, 'map entries', ctx);
      if (nodes === INVALID) return INVALID;
      const out: Record<string, unknown> = {};
      let bad = false;
      for (const entry of nodes) {
        for (const [seg, child] of entry.children) {
          if (seg !== keyName && seg !== valueName) {
            unknownBelow(ctx, child, path, `is not a parameter of this operation (an entry has .${keyName} and .${valueName})`);
            bad = true;
          }
        }
        const k = entry.children.get(keyName);
        const v = entry.children.get(valueName);
        if (!k || k.value === undefined || k.children.size > 0) {
          fail(ctx, 'malformed-parameter', path, `map entry ${entry.key} has no ${keyName}`, undefined, `${entry.key}.${keyName}`);
          bad = true;
          continue;
        }
        const at = memberPath(path, k.value);
        if (Object.hasOwn(out, k.value)) {
          fail(ctx, 'malformed-parameter', at, 'the map key is given more than once', k.value, k.key);
          bad = true;
          continue;
        }
        if (!v) {
          fail(ctx, 'malformed-parameter', at, `map entry ${entry.key} has no ${valueName}`, undefined, `${entry.key}.${valueName}`);
          bad = true;
          continue;
        }
        const decodedKey = decodeNode(s.key, k, at, ctx);
        const decoded = decodeNode(s.value, v, at, ctx);
        if (decodedKey === INVALID || decoded === INVALID) bad = true;
        else defineOwn(out, k.value, decoded);
      }
      return bad ? INVALID : out;
    }
    default: {
      if (node.children.size > 0) {
        unknownBelow(ctx, node, path, `is not a parameter of this operation (${node.key} is a ${s.type})`);
        return INVALID;
      }
      return decodeScalar(s.type, node.value ?? '', path, node.key, ctx);
    }
  }
}

const INTEGER = /^[+-]?[0-9]+$/;
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeScalar(type: string, text: string, path: string, key: string, ctx: Context): unknown {
  switch (type) {
    case 'integer':
    case 'long': {
      const n = Number(text);
      if (!INTEGER.test(text) || !Number.isSafeInteger(n)) return fail(ctx, 'invalid-value', path, 'must be an integer', text, key);
      return n;
    }
    case 'double':
    case 'float': {
      const n = Number(text);
      if (!DECIMAL.test(text) || !Number.isFinite(n)) return fail(ctx, 'invalid-value', path, 'must be a number', text, key);
      return n;
    }
    case 'boolean': {
      const t = text.toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      return fail(ctx, 'invalid-value', path, 'must be true or false', text, key);
    }
    case 'timestamp': {
      const ms = parseIso8601(text);
      if (ms === undefined) return fail(ctx, 'invalid-value', path, 'must be a timestamp: an ISO 8601 date-time', text, key);
      return new Date(ms);
    }
    case 'blob':
      return BASE64.test(text) ? text : fail(ctx, 'invalid-value', path, 'must be base64', text, key);
    default:
      return text;
  }
}
