import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pauseElf, PAUSE_ARCHES, singleFileTar } from './pause-image.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-pause-'));

/** Runs the program (natively or under qemu-user) and says whether it is still blocking after 300 ms. */
async function blocks(cmd: string, args: string[]): Promise<boolean> {
  const p = spawn(cmd, args, { stdio: 'ignore' });
  const exited = await Promise.race([new Promise((r) => p.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 300))]);
  p.kill('SIGKILL');
  return !exited;
}

const qemu: Record<string, string> = { arm64: 'qemu-aarch64-static', arm: 'qemu-arm-static' };
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('pause program', () => {
  it.each(PAUSE_ARCHES)('%s: a well-formed static ELF', (arch) => {
    const elf = pauseElf(arch);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.length).toBeLessThan(200);
  });

  it('amd64 blocks forever when run', async () => {
    if (process.arch !== 'x64') return;
    const path = join(dir, 'pause-amd64');
    writeFileSync(path, pauseElf('amd64'), { mode: 0o755 });
    expect(await blocks(path, [])).toBe(true);
  });

  it.each(['arm64', 'arm'])('%s blocks forever under qemu-user (when installed; required under CI)', async (arch) => {
    if (!has(qemu[arch]!)) {
      if (process.env.CI === 'true') throw new Error(`${qemu[arch]} is missing: install qemu-user-static`);
      return;
    }
    const path = join(dir, `pause-${arch}`);
    writeFileSync(path, pauseElf(arch), { mode: 0o755 });
    expect(await blocks(qemu[arch]!, [path])).toBe(true);
  });

  it('packs one file into a tar that tar(1) reads', () => {
    const path = join(dir, 'p.tar');
    writeFileSync(path, singleFileTar('pause', pauseElf('amd64')));
    const out = spawnSync('tar', ['tvf', path], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^-rwxr-xr-x .* 129 .*pause$/m);
  });
});
