import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireDocker, requireRegistry, startTestRegistry, TEST_IMAGE, waitFor, type TestRegistry } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOf, docker, LocalCluster } from './cluster.js';
import { berth, berthJson } from './processes.js';

/**
 * Secrets on the real engine: a task reads one from its environment and from a
 * file (its output proves it), and the value appears nowhere else: not in the
 * processes' logs, describe, events, or the agent's data directory. Private
 * registry credentials are secrets too: the right ones pull, wrong ones stop
 * the task with the reason.
 */
const run = requireDocker() && requireRegistry();
const VALUE = `s3cret-${randomBytes(12).toString('hex')}`;
const REGISTRY_PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const secretsDir = `/dev/shm/berth-e2e-secrets-${process.pid}`;

/** Every file under a directory, read as text. */
function readAll(dir: string): string {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out += readAll(p);
    else if (e.isFile() && statSync(p).size < 50_000_000) out += readFileSync(p, 'latin1');
  }
  return out;
}

describe.runIf(run)('secrets on the real engine', () => {
  const cluster = new LocalCluster(['--secrets-dir', secretsDir]);
  let registry: TestRegistry;
  const dockerConfig = join('/tmp', `berth-e2e-docker-config-${process.pid}`);

  beforeAll(async () => {
    await cluster.start();
    registry = await startTestRegistry({ auth: { username: 'berth', password: REGISTRY_PASSWORD } });
    // Push two private images with a throwaway Docker CLI config (the node's own has no credentials).
    mkdirSync(dockerConfig, { recursive: true });
    execFileSync('docker', ['--config', dockerConfig, 'login', '-u', 'berth', '--password-stdin', registry.host], { input: REGISTRY_PASSWORD, stdio: ['pipe', 'ignore', 'pipe'] });
    for (const name of ['private/ok:1', 'private/denied:1']) {
      docker(['tag', TEST_IMAGE, `${registry.host}/${name}`]);
      execFileSync('docker', ['--config', dockerConfig, 'push', `${registry.host}/${name}`], { stdio: 'ignore' });
      docker(['rmi', `${registry.host}/${name}`]);
    }
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    await registry?.stop();
    rmSync(dockerConfig, { recursive: true, force: true });
    rmSync(secretsDir, { recursive: true, force: true });
    // Only the image the good credentials pulled is on the node.
    if (registry) execFileSync('docker', ['rmi', '-f', `${registry.host}/private/ok:1`], { stdio: 'ignore' });
  });

  const putSecret = async (name: string, value: string) => {
    const file = join(cluster.work, `secret-${name}`);
    writeFileSync(file, value, { mode: 0o600 });
    const r = await berth(cluster.server, ['secret', 'put', name, '--from-file', file]);
    rmSync(file);
    if (r.code !== 0) throw new Error(`secret put failed: ${r.stderr}`);
    expect(r.stdout + r.stderr).not.toContain(value);
  };

  it('a task reads a secret from its environment and from a file; the value is nowhere else', async () => {
    await putSecret('db-password', VALUE);
    expect((await berth(cluster.server, ['role', 'put', 'app', '--secret', 'db-*'])).code).toBe(0);
    const td = await cluster.register({
      family: 'secret-reader',
      executionRoleArn: 'arn:aws:iam::123456789012:role/app',
      containerDefinitions: [
        {
          name: 'app',
          image: TEST_IMAGE,
          memory: 16,
          stopTimeout: 1,
          command: ['sh', '-c', 'echo "env:$DB_PASSWORD"; echo "file:$(cat /run/secrets/db)"; ls -l /run/secrets/db; exec sleep 3600'],
          secrets: [
            { name: 'DB_PASSWORD', valueFrom: 'berth:secret/db-password' },
            { name: '/run/secrets/db', valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password' },
          ],
        },
      ],
    });
    const id = await cluster.run(td);
    await cluster.until(id, 'RUNNING', (t) => t.lastStatus === 'RUNNING');
    const logs = await waitFor('the secret in the output', async () => {
      const r = await berth(cluster.server, ['logs', id]);
      return r.stdout.includes('file:') ? r.stdout : undefined;
    }, 20_000);
    expect(logs).toContain(`env:${VALUE}`);
    expect(logs).toContain(`file:${VALUE}`);
    expect(logs).toMatch(/-r--------/);
    // The file lives on the tmpfs while the task runs.
    expect(readAll(join(secretsDir, id))).toContain(VALUE);

    const describe = await berth(cluster.server, ['task', 'describe', id, '-o', 'json']);
    expect(describe.code).toBe(0);
    expect(describe.stdout).not.toContain(VALUE);
    expect(JSON.stringify(await cluster.events())).not.toContain(VALUE);
    expect((await berth(cluster.server, ['secret', 'ls', '-o', 'json'])).stdout).not.toContain(VALUE);
    expect(cluster.cp!.output).not.toContain(VALUE);
    expect(cluster.agent!.output).not.toContain(VALUE);
    expect(readAll(cluster.agentDataDir)).not.toContain(VALUE);
    expect(readAll(join(cluster.work, 'cp'))).not.toContain(VALUE);

    // Stopped: its secret files are gone from the node.
    await berth(cluster.server, ['task', 'stop', id]);
    await cluster.until(id, 'STOPPED', (t) => t.lastStatus === 'STOPPED');
    await waitFor('the secret files removed', () => {
      try {
        readdirSync(join(secretsDir, id));
        return undefined;
      } catch {
        return true;
      }
    }, 10_000);
  });

  it('pulls a private image with registry credentials from a secret, and stops the task with the reason when they are wrong', async () => {
    await putSecret('registry-ok', JSON.stringify({ username: 'berth', password: REGISTRY_PASSWORD }));
    await putSecret('registry-bad', JSON.stringify({ username: 'berth', password: 'not-the-password' }));
    expect((await berth(cluster.server, ['role', 'put', 'puller', '--secret', 'registry-*'])).code).toBe(0);
    const def = (family: string, image: string, secret: string) => ({
      family,
      executionRoleArn: 'puller',
      containerDefinitions: [{ name: 'app', image, memory: 16, stopTimeout: 1, command: ['sleep', '3600'], repositoryCredentials: { credentialsParameter: `berth:secret/${secret}` } }],
    });
    const ok = await cluster.run(await cluster.register(def('private-ok', `${registry.host}/private/ok:1`, 'registry-ok')));
    await cluster.until(ok, 'RUNNING', (t) => t.lastStatus === 'RUNNING');
    expect(containersOf(ok)).toHaveLength(1);

    const denied = await cluster.run(await cluster.register(def('private-denied', `${registry.host}/private/denied:1`, 'registry-bad')));
    const t = await cluster.until(denied, 'STOPPED', (x) => x.lastStatus === 'STOPPED');
    expect(t.stopCode).toBe('TaskFailedToStart');
    expect(t.stoppedReason).toMatch(/^CannotPullContainerError: .*private\/denied:1/);
    expect(t.stoppedReason).toMatch(/unauthorized|authentication required|no basic auth/i);
    const all = JSON.stringify(await berthJson(cluster.server, ['task', 'describe', denied])) + cluster.agent!.output + cluster.cp!.output;
    expect(all).not.toContain(REGISTRY_PASSWORD);
    await berth(cluster.server, ['task', 'stop', ok]);
  });
});
