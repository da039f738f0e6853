// What users install: the single executables from `npm run package`. The amd64 agent
// executable runs a task on the real engine; the arm64 and armv7 agents (official Node
// binaries of those architectures, run here under qemu-user-static with Debian's cross
// libraries) join the same control plane, register with their architecture and report
// heartbeats. The CLI executables of every architecture list the nodes. (Containers are
// not started by the arm agents: the engine here is amd64.)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireDocker, requireOrSkip, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from './cluster.js';
import { berth, BerthProcess, repoRoot } from './processes.js';

interface NodeJson {
  nodeId: string;
  agentConnected: boolean;
  agentVersion: string;
  lastHeartbeatAt?: string;
  attributes: { name: string; value: string }[];
}

const QEMU: Record<string, string[]> = {
  amd64: [],
  arm64: ['/usr/bin/qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'],
  armv7: ['/usr/bin/qemu-arm-static', '-L', '/usr/arm-linux-gnueabihf'],
};
const executable = (name: string, arch: string) => [...QEMU[arch]!, join(repoRoot, 'dist', `${name}-linux-${arch}`)];
const attr = (n: NodeJson, name: string) => n.attributes.find((a) => a.name === name)?.value;

const run =
  requireDocker() &&
  requireOrSkip(
    'qemu-user-static and the arm cross libraries',
    ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-arm-static', '/usr/aarch64-linux-gnu/lib/libstdc++.so.6', '/usr/arm-linux-gnueabihf/lib/libstdc++.so.6'].every((f) => existsSync(f)),
    'apt-get install -y qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libatomic1-arm64-cross libc6-armhf-cross libstdc++6-armhf-cross libgcc-s1-armhf-cross libatomic1-armhf-cross',
  );

describe('the single executables', () => {
  let cluster: LocalCluster | undefined;
  const work = mkdtempSync(join(tmpdir(), 'berth-package-'));
  const armAgents: BerthProcess[] = [];

  beforeAll(async () => {
    if (!run) return;
    // The real packaging step, as `npm run package` runs it (the Node binaries are cached after the first run).
    execFileSync(process.execPath, [join(repoRoot, 'scripts/package/package.mjs')], { cwd: repoRoot, stdio: 'inherit', timeout: 900_000 });
    cluster = new LocalCluster([], undefined, executable('berth-agent', 'amd64'));
    await cluster.start();
  }, 1_000_000);
  afterAll(async () => {
    for (const a of armAgents) await a.stop();
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('npm run package made the agent and CLI executables for three architectures, the control plane for two', () => {
    if (!cluster) return;
    for (const name of ['berth-agent', 'berth']) for (const arch of ['amd64', 'arm64', 'armv7']) expect(existsSync(join(repoRoot, 'dist', `${name}-linux-${arch}`))).toBe(true);
    for (const arch of ['amd64', 'arm64']) expect(existsSync(join(repoRoot, 'dist', `berth-control-plane-linux-${arch}`))).toBe(true);
  });

  it('the amd64 agent executable runs a task on the real engine', async () => {
    if (!cluster) return;
    const def = await cluster.register({ family: 'pkg-hello', containerDefinitions: [{ name: 'main', image: 'berth-test/busybox:1', command: ['sleep', '300'], memory: 32 }] });
    const task = await cluster.run(def);
    await cluster.until(task, 'the task to run', (t) => t.lastStatus === 'RUNNING');
  });

  it.each(['arm64', 'armv7'])('the %s agent executable joins, registers its architecture and reports heartbeats', async (arch) => {
    if (!cluster) return;
    const agent = new BerthProcess(`agent-${arch}`, executable('berth-agent', arch), [
      '--server', cluster.server, '--token', cluster.joinToken, '--data-dir', join(work, arch), '--bind-ip', '127.0.0.1', '--label', `test-arch=${arch}`,
    ]);
    armAgents.push(agent);
    const expected = arch === 'armv7' ? 'arm' : 'arm64';
    const node = async () => {
      const r = await berth(cluster!.server, ['node', 'ls', '--output', 'json']);
      const nodes = (JSON.parse(r.stdout) as { containerInstances: NodeJson[] }).containerInstances;
      return nodes.find((n) => attr(n, 'test-arch') === arch && n.agentConnected);
    };
    const first = await waitFor(`the ${arch} agent to connect`, node, 120_000).catch((err) => {
      throw new Error(`${err.message}\n${agent.tail(40)}`);
    });
    expect(attr(first, 'berth.arch')).toBe(expected);
    expect(attr(first, 'ecs.cpu-architecture')).toBe(expected);
    expect(first.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    // Heartbeats keep coming (the control plane's interval here is 1 s).
    const seen = first.lastHeartbeatAt;
    await waitFor(`a later heartbeat from the ${arch} agent`, async () => ((await node())?.lastHeartbeatAt ?? '') > (seen ?? ''), 30_000);
  });

  it.each(['amd64', 'arm64', 'armv7'])('the %s CLI executable lists the nodes', async (arch) => {
    if (!cluster) return;
    const r = await berth(cluster.server, ['node', 'ls'], executable('berth', arch));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NODE\s+HOSTNAME/);
  });

  it.each(['amd64', 'arm64', 'armv7'])('the %s executables print their version', (arch) => {
    if (!cluster) return;
    const platform = `linux/${arch === 'amd64' ? 'x64' : arch === 'arm64' ? 'arm64' : 'arm'}`;
    const version = (name: string) => {
      const [cmd, ...args] = executable(name, arch);
      return execFileSync(cmd!, [...args, '--version'], { encoding: 'utf8' });
    };
    expect(version('berth-agent')).toMatch(new RegExp(`^berth-agent \\d+\\.\\d+\\.\\d+ \\(protocol \\d+-\\d+, Node v20\\.\\d+\\.\\d+, ${platform}\\)`));
    expect(version('berth')).toMatch(new RegExp(`^berth \\d+\\.\\d+\\.\\d+ \\(Node v20\\.\\d+\\.\\d+, ${platform}\\)`));
    if (arch !== 'armv7') expect(version('berth-control-plane')).toMatch(new RegExp(`^berth-control-plane \\d+\\.\\d+\\.\\d+ \\(agent protocol \\d+-\\d+, Node v20\\.\\d+\\.\\d+, ${platform}\\)`));
  });

  it('the amd64 control-plane executable starts with the embedded store it carries', async () => {
    if (!cluster) return;
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const cp = new BerthProcess('cp-executable', executable('berth-control-plane', 'amd64'), ['--insecure', '--listen', '127.0.0.1', '--grpc-port', String(grpcPort), '--http-port', String(httpPort), '--data-dir', join(work, 'cp')]);
    try {
      const ready = await waitFor('the executable control plane to be ready', async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
        return r?.ok ? ((await r.json()) as { store: string }) : undefined;
      }, 60_000).catch((err) => {
        throw new Error(`${err.message}\n${cp.tail(30)}`);
      });
      expect(ready.store).toBe('pglite');
      expect(existsSync(join(work, 'cp', 'pgdata', 'PG_VERSION'))).toBe(true);
    } finally {
      await cp.stop();
    }
  });
});
