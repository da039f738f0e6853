import { describe, expect, it } from 'vitest';
import { cpuPercent } from './container-stats.js';
import { cleanModel, normalizeArch, readDeviceModel, registeredCapacity } from './node-facts.js';
import { parseListStatus } from '../runtime/docker-runtime.js';

describe('node facts', () => {
  it('names architectures the way users write them', () => {
    expect(['x64', 'arm64', 'arm', 'aarch64', 'armv7l'].map(normalizeArch)).toEqual(['amd64', 'arm64', 'arm', 'arm64', 'arm']);
  });

  it('reads a Raspberry Pi model from the device tree, and nothing elsewhere', () => {
    const files: Record<string, string> = { '/proc/device-tree/model': 'Raspberry Pi 4 Model B Rev 1.4\0' };
    const read = (p: string) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p]!;
    };
    expect(readDeviceModel(['/proc/device-tree/model'], read)).toBe('Raspberry Pi 4 Model B Rev 1.4');
    expect(readDeviceModel(['/nope'], read)).toBe('');
    expect(cleanModel('Raspberry Pi Zero 2 W Rev 1.0\0\n')).toBe('Raspberry Pi Zero 2 W Rev 1.0');
  });

  it('offers capacity in ECS units minus the reservation', () => {
    expect(registeredCapacity({ cpuCores: 4, memoryMib: 3906 } as never, { cpu: 256, memoryMib: 512 })).toEqual({ cpu: 3840, memoryMib: 3394 });
  });
});

describe('engine list status', () => {
  it('reads exit codes and health from the list, so a pass needs no inspect', () => {
    expect(parseListStatus('Exited (137) 3 seconds ago')).toEqual({ exitCode: 137, health: undefined });
    expect(parseListStatus('Up 5 seconds (healthy)')).toEqual({ exitCode: undefined, health: 'healthy' });
    expect(parseListStatus('Up 2 minutes (unhealthy)').health).toBe('unhealthy');
    expect(parseListStatus('Up 1 second (health: starting)').health).toBe('starting');
    expect(parseListStatus('Created')).toEqual({ exitCode: undefined, health: undefined });
  });
});

describe('container CPU', () => {
  it('is the container\'s share of the machine\'s CPU time between two samples, 100 per core', () => {
    const a = { cpuTotalNs: 1e9, systemNs: 100e9, onlineCpus: 2, memoryBytes: 0, memoryLimitBytes: 0 };
    const b = { ...a, cpuTotalNs: 1.5e9, systemNs: 102e9 };
    expect(cpuPercent(a, b)).toBe(50);
    expect(cpuPercent(undefined, b)).toBe(0);
    expect(cpuPercent(b, a)).toBe(0);
  });
});
