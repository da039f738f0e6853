// deploy/docker and deploy/compose: the control-plane and agent images build (from a Node base
// image made here, as no registry is reachable), the control plane runs on a real Postgres 15
// and turns healthy by its own health check, and the agent container, started with the very
// script compose.yaml gives it, joins and registers this host. Host networking keeps all
// traffic on 127.0.0.1.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, requireDocker, requireOrSkip, startTestPostgres, waitFor, type TestPostgres } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from './cluster.js';
import { repoRoot } from './processes.js';

const BASE = 'berth-test/node:20';
const CP_IMAGE = 'berth-test/control-plane:local';
const AGENT_IMAGE = 'berth-test/agent:local';
const suffix = Math.random().toString(36).slice(2, 8);
const names = { cp: `berth-test-cp-${suffix}`, agent: `berth-test-agent-${suffix}`, cpVolume: `berth-test-cp-${suffix}`, agentVolume: `berth-test-agent-${suffix}` };

/** A Node base image with no registry: the busybox test image plus this machine's node and the libraries it links. */
function buildNodeBase(): void {
  const ctx = mkdtempSync(join(tmpdir(), 'berth-node-base-'));
  try {
    const rootfs = join(ctx, 'rootfs');
    const libs = execFileSync('ldd', [process.execPath], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1])
      .filter((p): p is string => !!p);
    for (const lib of libs) {
      mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
      cpSync(lib, join(rootfs, lib), { dereference: true });
    }
    mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
    cpSync(process.execPath, join(rootfs, 'usr/local/bin/node'), { dereference: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM berth-test/busybox:1\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/bin\n');
    execFileSync('docker', ['build', '-q', '-t', BASE, ctx], { stdio: 'pipe' });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

function build(dockerfile: string, tag: string): void {
  const r = spawnSync('docker', ['build', '-f', join(repoRoot, dockerfile), '--build-arg', `NODE_IMAGE=${BASE}`, '-t', tag, repoRoot], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  if (r.status !== 0) throw new Error(`docker build -f ${dockerfile} failed:\n${r.stdout}\n${r.stderr}`);
}

/** The agent service's start script from compose.yaml, as the container's shell gets it. */
function composeAgentScript(grpcPort: number): string {
  const compose = readFileSync(join(repoRoot, 'deploy/compose/compose.yaml'), 'utf8');
  const agent = compose.slice(compose.indexOf('\n  agent:'));
  const block = /command:\n\s+- \|\n((?:\s{8}.*\n)+)/.exec(agent)?.[1];
  if (!block) throw new Error('compose.yaml: the agent service has no command block');
  return block
    .split('\n')
    .map((l) => l.slice(8))
    .join('\n')
    .replaceAll('$$', '$')
    .replaceAll('127.0.0.1:7400', `127.0.0.1:${grpcPort}`);
}

const run = requireDocker();

describe('the container images and the compose file', () => {
  let pg: TestPostgres | undefined;
  let grpcPort = 0;
  let httpPort = 0;

  beforeAll(async () => {
    if (!run) return;
    pg = await startTestPostgres();
    execFileSync(process.execPath, [join(repoRoot, 'scripts/package/bundle.mjs')], { cwd: repoRoot, stdio: 'pipe' });
    buildNodeBase();
    build('deploy/docker/control-plane.Dockerfile', CP_IMAGE);
    build('deploy/docker/agent.Dockerfile', AGENT_IMAGE);
    grpcPort = await freePort();
    httpPort = await freePort();
  }, 600_000);
  afterAll(async () => {
    if (!run) return;
    spawnSync('docker', ['rm', '-f', '-v', names.agent, names.cp]);
    spawnSync('docker', ['volume', 'rm', names.cpVolume, names.agentVolume]);
    spawnSync('docker', ['rmi', CP_IMAGE, AGENT_IMAGE]);
    await pg?.stop();
  });

  it('compose.yaml is a valid compose file', () => {
    const compose = spawnSync('docker-compose', ['--version']);
    if (!requireOrSkip('docker-compose', compose.status === 0, 'apt-get install -y docker-compose')) return;
    const r = spawnSync('docker-compose', ['-f', join(repoRoot, 'deploy/compose/compose.yaml'), 'config', '-q'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the control-plane image runs on Postgres and its health check turns healthy', async () => {
    if (!run || !pg) return;
    docker([
      'run', '-d', '--name', names.cp, '--network', 'host', '-v', `${names.cpVolume}:/var/lib/berth`,
      '-e', `DATABASE_URL=${pg.url}`, '-e', `BERTH_GRPC_PORT=${grpcPort}`, '-e', `BERTH_HTTP_PORT=${httpPort}`, '-e', 'BERTH_LISTEN=127.0.0.1',
      CP_IMAGE, '--bootstrap-token-file', '/var/lib/berth/bootstrap-token',
    ]);
    await waitFor('the control-plane container to be healthy', () => docker(['inspect', '--format', '{{.State.Health.Status}}', names.cp]) === 'healthy', 120_000).catch((err) => {
      throw new Error(`${err.message}\n${spawnSync('docker', ['logs', '--tail', '40', names.cp], { encoding: 'utf8' }).stderr}`);
    });
    expect(docker(['inspect', '--format', '{{.Config.User}}', names.cp])).toBe('1000:1000');
    const ready = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { store: string };
    expect(ready.store).toBe('postgres');
  });

  it("the agent image, started with compose.yaml's agent script, joins and registers this host", async () => {
    if (!run || !pg) return;
    docker([
      'run', '-d', '--name', names.agent, '--network', 'host',
      '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', '/run/berth:/run/berth',
      '-v', `${names.agentVolume}:/var/lib/berth-agent`, '-v', `${names.cpVolume}:/var/lib/berth:ro`,
      '--entrypoint', '/bin/sh', AGENT_IMAGE, '-c', composeAgentScript(grpcPort),
    ]);
    const cli = (args: string[]) =>
      spawnSync('docker', ['exec', names.agent, 'sh', '-c', `node /opt/berth/berth.cjs --server 127.0.0.1:${grpcPort} --ca /var/lib/berth/pki/ca.crt --token "$(cat /var/lib/berth/bootstrap-token)" ${args.join(' ')}`], { encoding: 'utf8' });
    await waitFor('the agent container to register', () => /"agentConnected":\s*true/.test(cli(['node', 'ls', '--output', 'json']).stdout), 120_000).catch((err) => {
      throw new Error(`${err.message}\n${spawnSync('docker', ['logs', '--tail', '40', names.agent], { encoding: 'utf8' }).stdout}`);
    });
    const nodes = JSON.parse(cli(['node', 'ls', '--output', 'json']).stdout) as { containerInstances: { attributes: { name: string; value: string }[] }[] };
    expect(nodes.containerInstances).toHaveLength(1);
    expect(nodes.containerInstances[0]!.attributes).toContainEqual({ name: 'berth.arch', value: 'amd64' });
    // Restarted, the container keeps its identity (its volume) instead of joining again.
    docker(['restart', names.agent]);
    await waitFor('the agent to reconnect', () => /"agentConnected":\s*true/.test(cli(['node', 'ls', '--output', 'json']).stdout), 120_000);
    expect((JSON.parse(cli(['node', 'ls', '--output', 'json']).stdout) as { containerInstances: unknown[] }).containerInstances).toHaveLength(1);
  });
});
