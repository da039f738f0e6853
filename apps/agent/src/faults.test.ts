import { describe, expect, it } from 'vitest';
import type { CreateSpec } from './runtime/container-runtime.js';
import { injectFaults } from './faults.js';

const spec = { name: 'berth-t-app' } as CreateSpec;

describe('injectFaults', () => {
  it('does nothing unless a fault is named', async () => {
    const calls: string[] = [];
    const runtime = { create: async (s: CreateSpec) => (calls.push(`create ${s.name}`), 'c1') };
    const original = runtime.create;
    expect(injectFaults(runtime, undefined, () => calls.push('die'))).toBeUndefined();
    expect(injectFaults(runtime, '', () => calls.push('die'))).toBeUndefined();
    expect(runtime.create).toBe(original);
    expect(await runtime.create(spec)).toBe('c1');
    expect(calls).toEqual(['create berth-t-app']);
  });

  it('exit-after-create: dies once the engine has created the container, before anything starts it', async () => {
    const calls: string[] = [];
    const runtime = { create: async (s: CreateSpec) => (calls.push(`create ${s.name}`), 'c1') };
    expect(injectFaults(runtime, 'exit-after-create', () => calls.push('die'))).toBe('exit-after-create');
    await runtime.create(spec);
    expect(calls).toEqual(['create berth-t-app', 'die']);
  });

  it('a create the engine refused is not followed by the fault', async () => {
    const calls: string[] = [];
    const runtime = { create: async (): Promise<string> => Promise.reject(new Error('no such image')) };
    injectFaults(runtime, 'exit-after-create', () => calls.push('die'));
    await expect(runtime.create()).rejects.toThrow('no such image');
    expect(calls).toEqual([]);
  });

  it('refuses an unknown fault name', () => {
    expect(() => injectFaults({ create: async () => 'c1' }, 'exit-after-crate')).toThrow(/unknown fault "exit-after-crate" \(known: exit-after-create\)/);
  });
});
