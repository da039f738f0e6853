import { describe, expect, it } from 'vitest';
import { backend, forward, frontend, server, snapshot } from './fixtures.test-helpers.js';
import { planProxyChange, postStartCommands } from './plan-proxy-change.js';

const fe = frontend({ id: 'l1', port: 8080, defaultAction: forward(['tg', 1]) });
const base = snapshot(1, [fe], [backend({ id: 'tg', servers: [server('127.0.0.1', 1001), server('127.0.0.1', 1002)] })]);
const withServers = (version: number, servers: ReturnType<typeof server>[]) => ({ ...base, version, backends: [{ ...base.backends[0]!, servers }] });

describe('planProxyChange', () => {
  it('reloads when nothing was applied, or listeners, rules, backends or health checks change', () => {
    expect(planProxyChange(undefined, base).reload).toBe(true);
    expect(planProxyChange(base, { ...base, frontends: [...base.frontends, frontend({ id: 'l2', port: 8081 })] })).toMatchObject({ reload: true, reason: 'listeners or rules changed' });
    expect(planProxyChange(base, { ...base, frontends: [{ ...fe, defaultAction: forward(['tg', 1], ['tg2', 1]) }] }).reload).toBe(true);
    const hc = { ...base.backends[0]!.healthCheck!, path: '/other' };
    expect(planProxyChange(base, { ...base, backends: [{ ...base.backends[0]!, healthCheck: hc }] })).toMatchObject({ reload: true, reason: 'target groups or health checks changed' });
    expect(planProxyChange(base, { ...base, backends: [...base.backends, backend({ id: 'tg2' })] }).reload).toBe(true);
  });

  it('does nothing for the same snapshot again (a reconnect), whatever its version', () => {
    expect(planProxyChange(base, { ...base, version: 2 })).toEqual({ reload: false, reason: '', runtimeCommands: [], removals: [] });
  });

  it('adds servers through the runtime API with their check timing spelled out', () => {
    const plan = planProxyChange(base, withServers(2, [...base.backends[0]!.servers, server('127.0.0.1', 1003)]));
    expect(plan.reload).toBe(false);
    expect(plan.runtimeCommands).toEqual([
      'add server be_tg/127.0.0.1:1003 127.0.0.1:1003 weight 1 check inter 1s fall 2 rise 2',
      'enable health be_tg/127.0.0.1:1003',
      // Down until `rise` checks pass: no traffic before it is healthy.
      'enable server be_tg/127.0.0.1:1003; set server be_tg/127.0.0.1:1003 health down',
    ]);
  });

  it('changes weights, drains and undrains, and puts removed servers in maintenance to delete later', () => {
    const [a, b] = base.backends[0]!.servers as [ReturnType<typeof server>, ReturnType<typeof server>];
    const plan = planProxyChange(base, withServers(2, [{ ...a, weight: 5 }]));
    expect(plan.runtimeCommands).toEqual(['set server be_tg/127.0.0.1:1001 weight 5', 'set server be_tg/127.0.0.1:1002 state maint']);
    expect(plan.removals).toEqual([{ backend: 'be_tg', server: '127.0.0.1:1002' }]);
    const drained = withServers(3, [a, { ...b, state: 'draining' }]);
    expect(planProxyChange(base, drained).runtimeCommands).toEqual(['set server be_tg/127.0.0.1:1002 state drain']);
    expect(planProxyChange(drained, base).runtimeCommands).toEqual(['set server be_tg/127.0.0.1:1002 state ready', 'set server be_tg/127.0.0.1:1002 weight 1']);
    expect(postStartCommands(drained, new Set(['tg/127.0.0.1:1001']))).toEqual(['set server be_tg/127.0.0.1:1002 state drain']);
    // After a start or reload, servers not known healthy are down until their checks pass.
    expect(postStartCommands(drained)).toEqual(['set server be_tg/127.0.0.1:1001 health down', 'set server be_tg/127.0.0.1:1002 state drain']);
    // A draining server added: it never takes new requests.
    expect(planProxyChange(base, withServers(4, [a, b, server('127.0.0.1', 1004, { state: 'draining' })])).runtimeCommands.at(-1)).toBe('set server be_tg/127.0.0.1:1004 state drain; set server be_tg/127.0.0.1:1004 health down');
  });

  it('orders adds before changes before removals (capacity first)', () => {
    const [a] = base.backends[0]!.servers as [ReturnType<typeof server>];
    const cmds = planProxyChange(base, withServers(2, [{ ...a, weight: 2 }, server('127.0.0.1', 1005)])).runtimeCommands;
    expect(cmds.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['add server', 'enable health', 'enable server', 'set server', 'set server']);
    expect(cmds.at(-1)).toBe('set server be_tg/127.0.0.1:1002 state maint');
  });
});
