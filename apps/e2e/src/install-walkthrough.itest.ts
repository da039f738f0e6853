// docs/install.md's homelab steps with the real release files, in a throwaway root: the control
// plane started by its systemd unit's own command line (EnvironmentFile + ExecStart, as systemd
// would), the CLI logged in with the bootstrap token, a join token made, the release served over
// HTTP on 127.0.0.1, the agent installed by install-agent.sh (a stand-in systemctl starts the
// installed unit's ExecStart), then a node in `berth node ls` that runs a task; re-running the
// installer upgrades in place with the same node and the task untouched.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireDocker, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker } from './cluster.js';
import { BerthProcess, repoRoot } from './processes.js';

const dist = join(repoRoot, 'dist');
const root = mkdtempSync(join(tmpdir(), 'berth-walkthrough-'));
const R = (p: string) => join(root, p);
const run = requireDocker();

/** A systemctl for the throwaway root: `restart UNIT` (re)starts the unit's ExecStart in the background. */
const FAKE_SYSTEMCTL = `#!/bin/bash
echo "systemctl $*" >> "$FAKE_ROOT/systemctl.log"
if [ "$1" = restart ]; then
  cmd=$(sed -n 's/^ExecStart=//p' "$FAKE_ROOT/etc/systemd/system/$2.service" | tail -n1)
  if [ -f "$FAKE_ROOT/$2.pid" ]; then kill "$(cat "$FAKE_ROOT/$2.pid")" 2>/dev/null || true; sleep 1; fi
  nohup $cmd >> "$FAKE_ROOT/$2.log" 2>&1 &
  echo $! > "$FAKE_ROOT/$2.pid"
fi
`;

function sh(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, cwd: root });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('docs/install.md, homelab, word for word in a throwaway root', () => {
  let cp: BerthProcess | undefined;
  let http: Server | undefined;
  let httpUrl = '';
  const cliEnv = { BERTH_CONFIG: R('cli-config.json') };
  const berth = (args: string[]) => sh(R('usr/local/bin/berth'), args, cliEnv);
  let grpcPort = 0;

  beforeAll(async () => {
    if (!run) return;
    execFileSync(process.execPath, [join(repoRoot, 'scripts/package/package.mjs'), '--arch', 'amd64'], { cwd: repoRoot, stdio: 'pipe', timeout: 600_000 });
    http = createServer((req, res) => {
      const file = join(dist, (req.url ?? '/').slice(1));
      if (!/^\/[\w.-]+$/.test(req.url ?? '') || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
    httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    grpcPort = await freePort();
  }, 700_000);
  afterAll(async () => {
    const pid = join(root, 'berth-agent.pid');
    if (existsSync(pid)) spawn('kill', [readFileSync(pid, 'utf8').trim()]);
    await cp?.stop();
    http?.close();
    for (const id of docker(['ps', '-aq', '--filter', `label=berth.family=walkthrough-hello`]).split('\n').filter(Boolean)) docker(['rm', '-f', id]);
    rmSync(root, { recursive: true, force: true });
  });

  it('1. the control plane from its unit, the CLI logged in, a join token', async () => {
    if (!run) return;
    // sudo install -m 0755 berth-control-plane-linux-amd64 /usr/local/bin/berth-control-plane (and the CLI, the unit)
    mkdirSync(R('usr/local/bin'), { recursive: true });
    mkdirSync(R('etc/systemd/system'), { recursive: true });
    mkdirSync(R('etc/berth'), { recursive: true });
    for (const [from, to, mode] of [['berth-control-plane-linux-amd64', 'usr/local/bin/berth-control-plane', 0o755], ['berth-linux-amd64', 'usr/local/bin/berth', 0o755], ['berth-control-plane.service', 'etc/systemd/system/berth-control-plane.service', 0o644]] as const) {
      writeFileSync(R(to), readFileSync(join(dist, from)));
      chmodSync(R(to), mode);
    }
    // echo 'BERTH_ADVERTISE_ADDRESS=server.lan' | sudo tee /etc/berth/control-plane.env (here: ports free on this machine, 127.0.0.1 only)
    const httpPort = await freePort();
    writeFileSync(R('etc/berth/control-plane.env'), `BERTH_ADVERTISE_ADDRESS=localhost\nBERTH_LISTEN=127.0.0.1\nBERTH_GRPC_PORT=${grpcPort}\nBERTH_HTTP_PORT=${httpPort}\n`);
    // systemctl enable --now berth-control-plane: EnvironmentFile, StateDirectory, ExecStart.
    const unit = readFileSync(R('etc/systemd/system/berth-control-plane.service'), 'utf8');
    const env = Object.fromEntries(readFileSync(R('etc/berth/control-plane.env'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2) as [string, string]));
    expect(unit).toContain('EnvironmentFile=-/etc/berth/control-plane.env');
    expect(unit).toContain('StateDirectory=berth-control-plane');
    mkdirSync(R('var/lib/berth-control-plane'), { recursive: true });
    const [command, ...args] = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ').map((a) => a.replace(/^\/(usr\/local\/bin|var\/lib)\//, `${root}/$1/`));
    cp = new BerthProcess('control-plane', [command!, ...args], [], env);
    await waitFor('the control plane to be ready', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.ok ?? false, 60_000).catch((err) => {
      throw new Error(`${err.message}\n${cp!.tail(30)}`);
    });
    // sudo cat /var/lib/berth-control-plane/pki/ca.crt > ~/berth-ca.crt; berth login ...; berth token create ...
    writeFileSync(R('berth-ca.crt'), readFileSync(R('var/lib/berth-control-plane/pki/ca.crt')));
    const token = readFileSync(R('var/lib/berth-control-plane/bootstrap-token'), 'utf8').trim();
    const login = await berth(['login', '--server', `localhost:${grpcPort}`, '--ca', R('berth-ca.crt'), '--token', token]);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    const created = await berth(['token', 'create', '--uses', '3', '--ttl', '1h']);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^B10/);
    writeFileSync(R('join-token'), created.stdout.trim());
  });

  it('3. install-agent.sh from the served release joins, installs and starts the agent', async () => {
    if (!run || !cp) return;
    // curl -fsSLO http://server.lan:8080/install-agent.sh
    const pi = R('pi');
    mkdirSync(pi, { recursive: true });
    const script = join(pi, 'install-agent.sh');
    writeFileSync(script, Buffer.from(await (await fetch(`${httpUrl}/install-agent.sh`)).arrayBuffer()));
    writeFileSync(R('systemctl'), FAKE_SYSTEMCTL);
    chmodSync(R('systemctl'), 0o755);
    // sudo bash install-agent.sh --from http://server.lan:8080 --server server.lan:7400 --token B10...
    const r = await sh('bash', [script, '--from', httpUrl, '--server', `localhost:${grpcPort}`, '--token', readFileSync(R('join-token'), 'utf8'), '--label', 'room=attic', '--root', root], { SYSTEMCTL: R('systemctl'), FAKE_ROOT: root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('joining the cluster');
    expect(readFileSync(R('systemctl.log'), 'utf8').trim().split('\n')).toEqual(['systemctl daemon-reload', 'systemctl enable berth-agent', 'systemctl restart berth-agent']);
  });

  it('4. the node is in berth node ls and runs a task; re-running the installer keeps both', async () => {
    if (!run || !cp) return;
    const nodes = async () => JSON.parse((await berth(['node', 'ls', '--output', 'json'])).stdout) as { containerInstances: { nodeId: string; agentConnected: boolean; attributes: { name: string; value: string }[] }[] };
    await waitFor('the node to be connected', async () => (await nodes()).containerInstances.some((n) => n.agentConnected), 60_000).catch((err) => {
      throw new Error(`${err.message}\n${existsSync(R('berth-agent.log')) ? readFileSync(R('berth-agent.log'), 'utf8').slice(-3000) : ''}`);
    });
    const [node] = (await nodes()).containerInstances;
    expect(node!.attributes).toContainEqual({ name: 'room', value: 'attic' });

    const def = JSON.parse(readFileSync(join(repoRoot, 'examples/hello-web.json'), 'utf8')) as { family: string; containerDefinitions: { portMappings?: unknown[] }[] };
    def.family = 'walkthrough-hello';
    // The installed agent publishes on every address (its default); tests publish nothing beyond 127.0.0.1.
    for (const c of def.containerDefinitions) delete c.portMappings;
    writeFileSync(R('hello-web.json'), JSON.stringify(def));
    expect((await berth(['taskdef', 'register', '-f', R('hello-web.json')])).code).toBe(0);
    const ran = await berth(['task', 'run', 'walkthrough-hello', '--output', 'json']);
    expect(ran.code).toBe(0);
    const taskId = (JSON.parse(ran.stdout) as { tasks: { taskArn: string }[] }).tasks[0]!.taskArn.split('/').pop()!;
    const status = async () => (JSON.parse((await berth(['task', 'describe', taskId, '--output', 'json'])).stdout) as { lastStatus: string }).lastStatus;
    await waitFor('the task to run', async () => (await status()) === 'RUNNING', 60_000);
    const container = containersOf(taskId)[0]!;

    // Upgrade in place: the installer again, no settings; same node, the container untouched.
    const again = await sh('bash', [join(R('pi'), 'install-agent.sh'), '--from', httpUrl, '--root', root], { SYSTEMCTL: R('systemctl'), FAKE_ROOT: root });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already joined');
    await waitFor('the node to reconnect', async () => {
      const n = (await nodes()).containerInstances;
      return n.length === 1 && n[0]!.nodeId === node!.nodeId && n[0]!.agentConnected;
    }, 60_000);
    expect(await status()).toBe('RUNNING');
    expect(containersOf(taskId)[0]!.info.State.StartedAt).toBe(container.info.State.StartedAt);
  });
});
