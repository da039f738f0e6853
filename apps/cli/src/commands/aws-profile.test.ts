import { describe, expect, it } from 'vitest';
import { ecsEndpointFor, upsertIniSection } from './aws-profile.js';

describe('aws-profile', () => {
  it('replaces one INI section and keeps the others', () => {
    const before = '[default]\nregion = us-east-1\n\n[profile berth]\nregion = old\nendpoint_url = x\n\n[profile z]\nregion = eu-west-1\n';
    const after = upsertIniSection(before, 'profile berth', ['region = local']);
    expect(after).toBe('[default]\nregion = us-east-1\n\n[profile z]\nregion = eu-west-1\n\n[profile berth]\nregion = local\n');
    expect(upsertIniSection('', 'berth', ['a = 1'])).toBe('[berth]\na = 1\n');
  });

  it('points at port 7402 of the control plane host, TLS unless the CLI talks plaintext', () => {
    expect(ecsEndpointFor('10.0.0.5:7400', false)).toBe('https://10.0.0.5:7402');
    expect(ecsEndpointFor('cp.lab', true)).toBe('http://cp.lab:7402');
  });
});
