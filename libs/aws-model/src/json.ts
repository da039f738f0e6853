// Small helpers shared by validateInput, toWire and the Query codec.

/** A value JSON.stringify writes as is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A plain object (what JSON.parse makes): not an array, not a Date, Map or class instance. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The JSON kind of a value, for messages: `null`, `an array`, `an object`, `a string`, ... */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object': return 'an object';
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean';
    case 'undefined': return 'undefined';
    default: return `a ${typeof v}`;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `a.b`, or `a["odd key"]` when the key is not an identifier (map keys, typos with spaces). */
export function memberPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Sets an own, enumerable property, also for keys like `__proto__` that plain assignment would not. */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ISO 8601 date or date-time: `2024-05-01`, `2024-05-01T10:00:00Z`, `2024-05-01T10:00:00.123+02:00`.
// A date-time without a zone is read as UTC (never as the server's local time).
const ISO_8601 = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds since the epoch for an ISO 8601 string, or undefined when it is not one. */
export function parseIso8601(s: string): number | undefined {
  const m = ISO_8601.exec(s);
  if (!m) return undefined;
  const text = m[2] === undefined ? m[1] : `${m[1]}T${m[2]}${m[3] ?? 'Z'}`;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Number of Unicode code points (Smithy's string length). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
