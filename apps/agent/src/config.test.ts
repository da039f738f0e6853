import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('has defaults a one-machine start needs', () => {
    const c = parseConfig([], { HOME: '/home/pi' });
    expect(c).toMatchObject({ server: '127.0.0.1:7400', cluster: 'default', labels: {}, reservedMemoryMib: 256, bindIp: '0.0.0.0' });
  });
  it('reads flags, labels and the default port', () => {
    const c = parseConfig(['--server', 'cp.lan', '--label', 'room=attic', '--label', 'disk=ssd', '--reserved-cpu', '512'], {});
    expect(c).toMatchObject({ server: 'cp.lan:7400', labels: { room: 'attic', disk: 'ssd' }, reservedCpu: 512 });
  });
  it('explains bad flags', () => {
    expect(() => parseConfig(['--label', 'nope'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--label', 'nope'], {})).toThrow('--label: must be key=value');
    expect(() => parseConfig(['--reserved-memory=-1'], {})).toThrow('--reserved-memory: must be a whole number');
    expect(() => parseConfig(['--bogus'], {})).toThrow(/see --help/);
    expect(parseConfig(['--help'], {})).toBe('help');
  });
});
