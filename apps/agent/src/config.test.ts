import { describe, expect, it } from 'vitest';
import { ConfigError, HELP, parseConfig } from './config.js';

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
  it('reads a JSON config file with the flags\' keys; flags win; a missing default file is fine', () => {
    const files: Record<string, string> = { '/etc/b.json': JSON.stringify({ server: 'nas.lan', labels: { room: 'attic' }, 'reserved-memory': 512, 'image-pull': 'never', drain: true }) };
    const read = (p: string) => {
      if (files[p] === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return files[p]!;
    };
    const c = parseConfig(['--config', '/etc/b.json', '--label', 'disk=ssd', '--reserved-memory', '128'], {}, read);
    expect(c).toMatchObject({ server: 'nas.lan:7400', labels: { room: 'attic', disk: 'ssd' }, reservedMemoryMib: 128, imagePull: 'never', drain: true, configFile: '/etc/b.json' });
    expect(parseConfig([], {}, read)).toMatchObject({ imagePull: 'if-not-present', drain: false, statsIntervalMs: 15_000 });
    expect(() => parseConfig(['--config', '/nope.json'], {}, read)).toThrow('--config: cannot read /nope.json');
    files['/bad.json'] = '{"srever": "x"}';
    expect(() => parseConfig(['--config', '/bad.json'], {}, read)).toThrow('unknown key "srever"');
    expect(() => parseConfig(['--image-pull', 'sometimes'], {}, read)).toThrow('--image-pull: must be always, if-not-present or never');
  });
  it('takes the HAProxy binary from --haproxy, the file or BERTH_HAPROXY, else haproxy on PATH', () => {
    const read = (p: string) => {
      if (p === '/etc/h.json') return JSON.stringify({ haproxy: '/opt/haproxy/sbin/haproxy' });
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    };
    expect(parseConfig([], {}, read)).toMatchObject({ haproxy: 'haproxy' });
    expect(parseConfig([], { BERTH_HAPROXY: '/usr/local/sbin/haproxy' }, read)).toMatchObject({ haproxy: '/usr/local/sbin/haproxy' });
    expect(parseConfig(['--config', '/etc/h.json'], {}, read)).toMatchObject({ haproxy: '/opt/haproxy/sbin/haproxy' });
    expect(parseConfig(['--config', '/etc/h.json', '--haproxy', '/usr/sbin/haproxy'], {}, read)).toMatchObject({ haproxy: '/usr/sbin/haproxy' });
    expect(HELP).toContain('--haproxy PATH');
  });
});
