// deploy/install-agent.sh, every branch, in throwaway roots: fake executables stand in for the
// agent (they record their arguments and "join" by writing an identity), a fake systemctl
// records what it was asked, fake uname/getconf play the machine's architecture. The real
// executables and a real control plane go through it in install-walkthrough.itest.ts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip } from '@berth/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from './processes.js';

const SCRIPT = join(repoRoot, 'deploy', 'install-agent.sh');
const ARCHS = ['amd64', 'arm64', 'armv7'];

const work = mkdtempSync(join(tmpdir(), 'berth-install-'));
const fakebin = join(work, 'fakebin');
const log = join(work, 'calls.log');

function writeExe(path: string, text: string) {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** A release directory whose executables are shell scripts saying which build they are. */
function makeRelease(dir: string, build: string, opts: { sums?: 'ok' | 'bad' | 'none'; joinFails?: boolean } = {}) {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (const arch of ARCHS) {
    const text = `#!/bin/sh
# fake berth-agent ${arch} ${build}
echo "agent-${arch}-${build} $*" >> "${log}"
case "$1" in
  --version) echo "berth-agent ${build} (fake, ${arch})" ;;
  join)
    ${opts.joinFails ? 'echo "berth-agent: the join token is not valid" >&2; exit 1' : ''}
    data=$(sed -n 's/^ *"data-dir": "\\(.*\\)".*/\\1/p' "$3")
    touch "$data/node.crt" "$data/node.key" ;;
esac
`;
    writeExe(join(dir, `berth-agent-linux-${arch}`), text);
    const sum = createHash('sha256').update(opts.sums === 'bad' ? 'other' : text).digest('hex');
    lines.push(`${sum}  berth-agent-linux-${arch}`);
  }
  writeFileSync(join(dir, 'berth-agent.service'), readFileSync(join(repoRoot, 'deploy/systemd/berth-agent.service')));
  if (opts.sums !== 'none') writeFileSync(join(dir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
  else rmSync(join(dir, 'SHA256SUMS'), { force: true });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[];
}

interface Machine {
  m?: string;
  longBit?: string;
  systemctl?: boolean;
}

const environment = (machine: Machine) => ({
  ...process.env,
  PATH: `${fakebin}:${process.env.PATH}`,
  FAKE_UNAME_M: machine.m ?? 'x86_64',
  FAKE_LONG_BIT: machine.longBit ?? '64',
  SYSTEMCTL: machine.systemctl === false ? join(work, 'no-such-systemctl') : 'systemctl',
});
const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);

function install(root: string, args: string[], machine: Machine = {}): Run {
  writeFileSync(log, '');
  const r = spawnSync('bash', [SCRIPT, '--root', root, ...args], { encoding: 'utf8', env: environment(machine) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls: calls() };
}

/** The same, leaving this process's event loop free (for a server in this process). */
function installAsync(root: string, args: string[], machine: Machine = {}): Promise<Run> {
  writeFileSync(log, '');
  return new Promise((resolve) => {
    const p = spawn('bash', [SCRIPT, '--root', root, ...args], { env: environment(machine) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, calls: calls() }));
  });
}

const paths = (root: string) => ({
  bin: join(root, 'usr/local/bin/berth-agent'),
  conf: join(root, 'etc/berth/agent.json'),
  data: join(root, 'var/lib/berth-agent'),
  unit: join(root, 'etc/systemd/system/berth-agent.service'),
});

const run = requireOrSkip('shellcheck', spawnSync('shellcheck', ['--version']).status === 0, 'apt-get install -y shellcheck');

describe('deploy/install-agent.sh', () => {
  const release = join(work, 'release');
  let root = '';
  let n = 0;

  mkdirSync(fakebin, { recursive: true });
  writeExe(join(fakebin, 'uname'), `#!/bin/sh\nif [ "$1" = "-m" ]; then echo "$FAKE_UNAME_M"; else /bin/uname "$@"; fi\n`);
  writeExe(join(fakebin, 'getconf'), `#!/bin/sh\nif [ "$1" = "LONG_BIT" ]; then echo "$FAKE_LONG_BIT"; else /usr/bin/getconf "$@"; fi\n`);
  writeExe(join(fakebin, 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> "${log}"\n`);

  beforeEach(() => {
    makeRelease(release, '1.0.0');
    root = join(work, `root-${n++}`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('passes shellcheck', () => {
    if (!run) return;
    const r = spawnSync('shellcheck', [SCRIPT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the systemd units pass systemd-analyze verify', () => {
    if (!requireOrSkip('systemd-analyze', spawnSync('systemd-analyze', ['--version']).status === 0, 'apt-get install -y systemd')) return;
    // The agent's unit as the installer writes it (its ExecStart must exist), and the control plane's with an executable in place.
    expect(install(root, ['--server', 's', '--token', 't', '--from', release]).code).toBe(0);
    const cpUnit = join(root, 'berth-control-plane.service');
    writeFileSync(cpUnit, readFileSync(join(repoRoot, 'deploy/systemd/berth-control-plane.service'), 'utf8').replace('ExecStart=/usr/local/bin/berth-control-plane', `ExecStart=${paths(root).bin}`));
    for (const unit of [paths(root).unit, cpUnit]) {
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
      expect(r.stderr.split('\n').filter((l) => l && !/Failed to (open|load).*(docker|network|postgresql)/i.test(l))).toEqual([]);
      expect(r.status).toBe(0);
    }
  });

  it('a first install: executable, config, unit, join with the token, service enabled and started', () => {
    const r = install(root, ['--server', 'cp.lan:7400', '--token', 'B10abc::t.s', '--from', release, '--label', 'room=attic', '--label', 'disk=ssd']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = paths(root);
    expect(readFileSync(p.bin, 'utf8')).toContain('fake berth-agent amd64 1.0.0');
    expect(statSync(p.bin).mode & 0o777).toBe(0o755);
    expect(JSON.parse(readFileSync(p.conf, 'utf8'))).toEqual({ server: 'cp.lan:7400', labels: { room: 'attic', disk: 'ssd' }, 'data-dir': p.data });
    expect(statSync(p.data).mode & 0o777).toBe(0o700);
    const unit = readFileSync(p.unit, 'utf8');
    expect(unit).toContain(`ExecStart=${p.bin} --config ${p.conf}`);
    expect(unit).toContain('After=network-online.target docker.service');
    expect(r.calls).toEqual([
      'agent-amd64-1.0.0 --version',
      `agent-amd64-1.0.0 join --config ${p.conf} --token B10abc::t.s`,
      'systemctl daemon-reload',
      'systemctl enable berth-agent',
      'systemctl restart berth-agent',
    ]);
    expect(r.stdout).toMatch(/started: berth-agent 1.0.0/);
  });

  it('re-running upgrades in place: new executable, same settings, same identity, restarted', () => {
    expect(install(root, ['--server', 'cp.lan:7400', '--token', 'T', '--from', release, '--label', 'room=attic']).code).toBe(0);
    makeRelease(release, '1.1.0');
    const r = install(root, ['--from', release]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = paths(root);
    expect(readFileSync(p.bin, 'utf8')).toContain('1.1.0');
    expect(JSON.parse(readFileSync(p.conf, 'utf8'))).toEqual({ server: 'cp.lan:7400', labels: { room: 'attic' }, 'data-dir': p.data });
    expect(r.calls.some((c) => c.includes(' join '))).toBe(false);
    expect(r.stdout).toContain('already joined');
    expect(r.calls).toContain('systemctl restart berth-agent');
    // A token given again is not used: the identity is kept.
    const again = install(root, ['--from', release, '--token', 'OTHER']);
    expect(again.code).toBe(0);
    expect(again.calls.some((c) => c.includes(' join '))).toBe(false);
  });

  it.each([
    ['x86_64', '64', 'amd64'],
    ['aarch64', '64', 'arm64'],
    ['aarch64', '32', 'armv7'], // 64-bit kernel, 32-bit userland (Raspberry Pi OS 32-bit on a Pi 4)
    ['armv7l', '32', 'armv7'],
    ['armv8l', '32', 'armv7'],
  ])('uname -m %s with a %s-bit userland installs the %s build', (m, longBit, arch) => {
    const r = install(root, ['--server', 's', '--token', 't', '--from', release], { m, longBit });
    expect(r.code).toBe(0);
    expect(readFileSync(paths(root).bin, 'utf8')).toContain(`fake berth-agent ${arch} `);
  });

  it('--arch overrides the detection', () => {
    expect(install(root, ['--server', 's', '--token', 't', '--from', release, '--arch', 'arm64']).code).toBe(0);
    expect(readFileSync(paths(root).bin, 'utf8')).toContain('fake berth-agent arm64 ');
    const bad = install(root, ['--server', 's', '--token', 't', '--from', release, '--arch', 'sparc']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--arch: must be amd64, arm64 or armv7, got sparc');
  });

  it.each([
    ['armv6l', 'ARMv6 machine (Pi 1, Pi Zero): Node.js has no build for it'],
    ['mips', 'unsupported architecture mips'],
  ])('refuses %s clearly and installs nothing', (m, message) => {
    const r = install(root, ['--server', 's', '--token', 't', '--from', release], { m });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(paths(root).bin)).toBe(false);
  });

  it('a first install needs --server and --token, and says so', () => {
    const noServer = install(root, ['--token', 't', '--from', release]);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toContain('--server HOST[:PORT] is needed for a first install');
    const noToken = install(root, ['--server', 's', '--from', release]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('has not joined yet: give --token TOKEN');
    expect(existsSync(paths(root).bin)).toBe(false);
  });

  it('a checksum mismatch installs nothing; a release without SHA256SUMS installs with a warning', () => {
    makeRelease(release, '1.0.0', { sums: 'bad' });
    const bad = install(root, ['--server', 's', '--token', 't', '--from', release]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('checksum mismatch');
    expect(existsSync(paths(root).bin)).toBe(false);
    makeRelease(release, '1.0.0', { sums: 'none' });
    const none = install(root, ['--server', 's', '--token', 't', '--from', release]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('warning: no SHA256SUMS');
  });

  it('a missing release file or a failed join is an error naming it', () => {
    const missing = install(root, ['--server', 's', '--token', 't', '--from', join(work, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('berth-agent-linux-amd64 not found');
    makeRelease(release, '1.0.0', { joinFails: true });
    const failed = install(root, ['--server', 's', '--token', 'used', '--from', release]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('the join token is not valid');
    expect(failed.stderr).toContain('joining failed');
    expect(failed.calls.some((c) => c.startsWith('systemctl'))).toBe(false);
  });

  it('--no-start enables without starting; without systemd it prints how to start the agent', () => {
    const noStart = install(root, ['--server', 's', '--token', 't', '--from', release, '--no-start']);
    expect(noStart.code).toBe(0);
    expect(noStart.calls).toContain('systemctl enable berth-agent');
    expect(noStart.calls).not.toContain('systemctl restart berth-agent');
    const other = join(work, `root-nosystemd-${n}`);
    const noSystemd = install(other, ['--server', 's', '--token', 't', '--from', release], { systemctl: false });
    expect(noSystemd.code).toBe(0);
    expect(noSystemd.stdout).toContain(`no systemd here: start the agent with: ${paths(other).bin} --config ${paths(other).conf}`);
  });

  it('downloads from an http(s) URL, and says which file it could not get', async () => {
    const server: Server = createServer((req, res) => {
      const file = join(release, (req.url ?? '/').slice(1));
      if (!existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const r = await installAsync(root, ['--server', 's', '--token', 't', '--from', `${url}/`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(paths(root).bin, 'utf8')).toContain('fake berth-agent amd64 1.0.0');
      const missing = await installAsync(join(work, `root-http-${n}`), ['--server', 's', '--token', 't', '--from', `${url}/v9`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`cannot download ${url}/v9/berth-agent-linux-amd64`);
    } finally {
      server.close();
    }
  });

  it('--uninstall removes the agent and keeps the identity; --purge removes that too', () => {
    expect(install(root, ['--server', 's', '--token', 't', '--from', release]).code).toBe(0);
    const p = paths(root);
    const r = install(root, ['--uninstall']);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual(['systemctl disable --now berth-agent', 'systemctl daemon-reload']);
    expect(existsSync(p.bin) || existsSync(p.unit)).toBe(false);
    expect(existsSync(join(p.data, 'node.crt'))).toBe(true);
    expect(r.stdout).toContain('containers started by the agent keep running');
    expect(install(root, ['--uninstall', '--purge']).code).toBe(0);
    expect(existsSync(p.data) || existsSync(p.conf)).toBe(false);
  });

  it('an unknown option prints the usage and fails', () => {
    const r = install(root, ['--colour', 'blue']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown option: --colour');
    expect(r.stderr).toContain('--server HOST[:PORT]');
    expect(execFileSync('bash', [SCRIPT, '--help'], { encoding: 'utf8' })).toContain('install, upgrade or remove the Berth node agent');
  });
});
