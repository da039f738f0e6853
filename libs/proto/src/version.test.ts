import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentProtocolRange, BERTH_VERSION, negotiateProtocol } from './version.js';

describe('versions', () => {
  it('BERTH_VERSION is the release in the root package.json', () => {
    const root = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(BERTH_VERSION).toBe(root.version);
  });

  it('an agent that sends no minimum speaks only its version', () => {
    expect(agentProtocolRange({ protocolVersion: 3 })).toEqual({ min: 3, max: 3 });
    expect(agentProtocolRange({ protocolVersion: 3, minProtocolVersion: 0 })).toEqual({ min: 3, max: 3 });
    expect(agentProtocolRange({ protocolVersion: 3, minProtocolVersion: 2 })).toEqual({ min: 2, max: 3 });
    expect(agentProtocolRange({ protocolVersion: 3, minProtocolVersion: 9 })).toEqual({ min: 3, max: 3 });
  });

  it('picks the newest version both sides speak, either side being newer', () => {
    expect(negotiateProtocol({ min: 1, max: 1 }, { min: 1, max: 2 }, 'x')).toEqual({ ok: true, version: 1 }); // agent N, control plane N+1
    expect(negotiateProtocol({ min: 1, max: 2 }, { min: 1, max: 1 }, 'x')).toEqual({ ok: true, version: 1 }); // agent N+1, control plane N
    expect(negotiateProtocol({ min: 2, max: 3 }, { min: 1, max: 3 }, 'x')).toEqual({ ok: true, version: 3 });
  });

  it('names the side to upgrade when the ranges do not meet', () => {
    const oldAgent = negotiateProtocol({ min: 1, max: 1 }, { min: 2, max: 3 }, '0.3.0');
    expect(oldAgent).toMatchObject({ ok: false, upgrade: 'agent' });
    expect(oldAgent.ok || oldAgent.message).toBe('the agent speaks protocol 1 and this control plane (0.3.0) speaks 2-3: upgrade the agent (docs/upgrading.md)');
    expect(negotiateProtocol({ min: 3, max: 4 }, { min: 1, max: 2 }, '0.1.0')).toMatchObject({ ok: false, upgrade: 'control plane' });
  });
});
