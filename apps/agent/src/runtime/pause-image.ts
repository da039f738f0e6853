/**
 * The awsvpc namespace holder: a container that only holds the task's network
 * namespace. No image registry may be reachable from a node, so the agent makes
 * the image itself: a root filesystem with one static program, /pause, that
 * blocks in a system call forever (a few dozen bytes of machine code in an ELF
 * file), imported into the engine as a tar. Pure: bytes in, bytes out.
 */

/** Machine code per architecture (as Docker names it): block in a syscall, loop if woken. */
const CODE: Record<string, { bits: 32 | 64; machine: number; code: number[] }> = {
  // mov eax, 34 (pause); syscall; jmp back
  amd64: { bits: 64, machine: 62, code: [0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7] },
  // arm64 has no pause(): ppoll(NULL, 0, NULL, NULL) (x8 = 73) never returns either; b back
  arm64: { bits: 64, machine: 183, code: words([0xd2800000, 0xd2800001, 0xd2800002, 0xd2800003, 0xd2800928, 0xd4000001, 0x17fffffa]) },
  // mov r7, #29 (pause); svc #0; b back
  arm: { bits: 32, machine: 40, code: words([0xe3a0701d, 0xef000000, 0xeafffffc]) },
};

function words(ws: number[]): number[] {
  const b = Buffer.alloc(ws.length * 4);
  ws.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return [...b];
}

export const PAUSE_ARCHES = Object.keys(CODE);

/** A static ELF executable for the architecture (amd64, arm64, arm). */
export function pauseElf(arch: string): Buffer {
  const a = CODE[arch];
  if (!a) throw new Error(`no pause program for architecture ${arch} (have ${PAUSE_ARCHES.join(', ')})`);
  const code = Buffer.from(a.code);
  if (a.bits === 64) {
    const base = 0x400000;
    const size = 64 + 56 + code.length;
    const h = Buffer.alloc(64 + 56);
    h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELF, 64-bit, little endian, version 1, SysV
    h.writeUInt16LE(2, 16); // executable
    h.writeUInt16LE(a.machine, 18);
    h.writeUInt32LE(1, 20);
    h.writeBigUInt64LE(BigInt(base + 120), 24); // entry
    h.writeBigUInt64LE(64n, 32); // program headers right after this header
    h.writeUInt16LE(64, 52);
    h.writeUInt16LE(56, 54);
    h.writeUInt16LE(1, 56);
    // One loadable segment (read + execute) holding the whole file.
    h.writeUInt32LE(1, 64);
    h.writeUInt32LE(5, 68);
    h.writeBigUInt64LE(0n, 72);
    h.writeBigUInt64LE(BigInt(base), 80);
    h.writeBigUInt64LE(BigInt(base), 88);
    h.writeBigUInt64LE(BigInt(size), 96);
    h.writeBigUInt64LE(BigInt(size), 104);
    h.writeBigUInt64LE(0x1000n, 112);
    return Buffer.concat([h, code]);
  }
  const base = 0x10000;
  const size = 52 + 32 + code.length;
  const h = Buffer.alloc(52 + 32);
  h.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0], 0);
  h.writeUInt16LE(2, 16);
  h.writeUInt16LE(a.machine, 18);
  h.writeUInt32LE(1, 20);
  h.writeUInt32LE(base + 84, 24);
  h.writeUInt32LE(52, 28);
  h.writeUInt32LE(0x05000000, 36); // ARM EABI version 5
  h.writeUInt16LE(52, 40);
  h.writeUInt16LE(32, 42);
  h.writeUInt16LE(1, 44);
  h.writeUInt32LE(1, 52);
  h.writeUInt32LE(0, 56);
  h.writeUInt32LE(base, 60);
  h.writeUInt32LE(base, 64);
  h.writeUInt32LE(size, 68);
  h.writeUInt32LE(size, 72);
  h.writeUInt32LE(5, 76);
  h.writeUInt32LE(0x1000, 80);
  return Buffer.concat([h, code]);
}

/** A one-file tar archive (ustar), as `docker import` takes it. */
export function singleFileTar(name: string, data: Buffer, mode = 0o755): Buffer {
  const header = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => header.write(s.slice(0, len), off, len, 'ascii');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8); // checksum counted as spaces
  put('0', 156, 1); // regular file
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}
