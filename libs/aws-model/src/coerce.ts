// Coercions shared by the encoders (toWire for JSON, toQueryXml for XML): what an internal view may hold in
// place of the shape's own kind of value, and how it reads.
import { defineOwn, kindOf, parseIso8601 } from './json.js';

/** A plain object, a class instance or a Map as an object to walk; undefined for anything else. */
export function objectOf(v: unknown): Record<string, unknown> | undefined {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) defineOwn(o, String(k), x);
    return o;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date || v instanceof Set) return undefined;
  return v as Record<string, unknown>;
}

const NUMERIC = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : undefined;
  if (typeof v === 'string' && NUMERIC.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Epoch seconds (fractions for milliseconds) from a Date, a number (already epoch seconds) or an ISO string. */
export function toEpochSeconds(v: unknown): number | undefined {
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isFinite(ms) ? ms / 1000 : undefined;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const ms = parseIso8601(v);
    return ms === undefined ? undefined : ms / 1000;
  }
  return undefined;
}

/** A value for a message: short strings quoted, numbers as they are, else its kind. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return 'an invalid Date';
  return kindOf(v);
}

/** Standard base64 of bytes. */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Milliseconds since the epoch from a Date, a number (epoch seconds, as toWire takes it) or an ISO string. */
export function toEpochMillis(v: unknown): number | undefined {
  if (v instanceof Date) {
    const ms = v.getTime();
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1000) : undefined;
  if (typeof v === 'string') return parseIso8601(v);
  return undefined;
}
