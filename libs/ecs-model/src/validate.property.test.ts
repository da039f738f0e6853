import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPERATIONS, SHAPES } from './gen/ecs-model.js';
import { modelShape, operationNames } from './model.js';
import { validateInput } from './validate.js';
import { toWire } from './wire.js';

const ops = operationNames();

// An arbitrary for values the model accepts (within its constraints), small enough to run per operation.
// Timestamps are epoch seconds, as clients send them.
const arbitraries = new Map<string, fc.Arbitrary<unknown>>();
function valid(shapeName: string): fc.Arbitrary<unknown> {
  const known = arbitraries.get(shapeName);
  if (known) return known;
  const s = modelShape(shapeName);
  let a: fc.Arbitrary<unknown>;
  switch (s.type) {
    case 'structure':
      a = s.document
        ? fc.jsonValue({ maxDepth: 2 }).filter((v) => v !== null) // a null member is absent
        : fc.record(Object.fromEntries(Object.entries(s.members).map(([m, t]) => [m, valid(t)])), { requiredKeys: [...(s.required ?? [])] });
      break;
    case 'list':
      a = fc.array(valid(s.member), { minLength: s.min ?? 0, maxLength: Math.max(s.min ?? 0, Math.min(s.max ?? 2, 2)) });
      break;
    case 'map':
      a = fc.dictionary(valid(s.key) as fc.Arbitrary<string>, valid(s.value), { maxKeys: 2 });
      break;
    case 'string':
      a = s.enum ? fc.constantFrom(...s.enum) : fc.string({ minLength: s.min ?? 0, maxLength: Math.max(s.min ?? 0, Math.min(s.max ?? 12, 12)) });
      break;
    case 'blob':
      a = fc.base64String({ maxLength: 8 });
      break;
    case 'integer':
      a = fc.integer({ min: s.min ?? -(2 ** 31), max: s.max ?? 2 ** 31 - 1 });
      break;
    case 'long':
      a = fc.maxSafeInteger();
      break;
    case 'double':
    case 'float':
      a = fc.double({ min: s.min ?? -1e9, max: s.max ?? 1e9, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
      break;
    case 'boolean':
      a = fc.boolean();
      break;
    case 'timestamp':
      a = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => ms / 1000);
      break;
  }
  arbitraries.set(shapeName, a);
  return a;
}
const op = fc.constantFrom(...ops);
// Generous: CI shares two cores with other jobs.
const TIMEOUT = 60_000;

describe('validateInput properties', () => {
  it('never throws on arbitrary JSON, for every operation', () => {
    fc.assert(
      fc.property(op, fc.jsonValue(), (name, body) => {
        const r = validateInput(name, body);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  }, TIMEOUT);

  it('never throws on arbitrary values, for every operation', () => {
    fc.assert(
      fc.property(op, fc.anything({ withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBigInt: true }), (name, body) => {
        validateInput(name, body);
      }),
      { numRuns: 2000 },
    );
  }, TIMEOUT);

  it('never throws on objects built from the operation\'s own member names', () => {
    // Random JSON rarely hits real member names; this does, so type errors deep in the shapes are exercised.
    for (const name of ops) {
      const input = SHAPES[OPERATIONS[name].input as keyof typeof SHAPES];
      if (input.type !== 'structure') throw new Error(name);
      const keys = Object.keys(input.members);
      if (keys.length === 0) continue;
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 4 })), (body) => {
          validateInput(name, body);
        }),
        { numRuns: 50 },
      );
    }
  }, TIMEOUT);

  it('accepts every value the model allows, for every operation, and toWire gives the same JSON back', () => {
    for (const name of ops) {
      fc.assert(
        fc.property(valid(OPERATIONS[name].input!), (body) => {
          const r = validateInput(name, body);
          expect(r.ok ? r.ignored : r.errors).toEqual([]);
          if (!r.ok) return;
          const dropped: string[] = [];
          expect(toWire(OPERATIONS[name].input!, r.value, { onDropped: (p) => dropped.push(p) })).toEqual(body);
          expect(dropped).toEqual([]);
        }),
        { numRuns: 25 },
      );
    }
  }, TIMEOUT);

  it('a validated value survives toWire and validation again unchanged', () => {
    fc.assert(
      fc.property(op, fc.jsonValue(), (name, body) => {
        const r = validateInput(name, body);
        if (!r.ok) return;
        const dropped: string[] = [];
        const wire = JSON.parse(JSON.stringify(toWire(OPERATIONS[name].input!, r.value, { onDropped: (p) => dropped.push(p) })));
        expect(dropped).toEqual([]);
        expect(validateInput(name, wire)).toEqual({ ok: true, value: r.value, ignored: [] });
      }),
      { numRuns: 1000 },
    );
  }, TIMEOUT);

  it('never reports an error without a path string and a rule', () => {
    fc.assert(
      fc.property(op, fc.jsonValue(), (name, body) => {
        const r = validateInput(name, body);
        if (r.ok) return;
        expect(r.errors.length).toBeGreaterThan(0);
        for (const e of r.errors) {
          expect(typeof e.path).toBe('string');
          expect(e.rule.length).toBeGreaterThan(0);
        }
      }),
    );
  }, TIMEOUT);
});
