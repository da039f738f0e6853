import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireDocker, requireOrSkip, TEST_IMAGE } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, LocalCluster } from './cluster.js';
import { berth, berthJson, repoRoot } from './processes.js';

/**
 * The AWS CLI (Debian's awscli 2.9.19 at /usr/bin/aws, as CI installs it)
 * against the ECS endpoint of a real control plane and agent, through the
 * scripts in apps/e2e/scripts/: ecs-awscli.sh (task definitions from JSON
 * files and from describe-task-definition output, a task and a service
 * through the CLI's waiters) and ecs-deploy-flow.sh (the describe / register /
 * update / wait / check / deregister flow of ECS CI tools, and a broken
 * revision the circuit breaker rolls back). Also: a viewer key may read but
 * not register, and a profile written by `berth aws-profile` works.
 */
const AWS_CLI = process.env.AWS_CLI ?? '/usr/bin/aws';
const run = requireDocker() && requireOrSkip(`the AWS CLI at ${AWS_CLI}`, existsSync(AWS_CLI), 'apt-get install awscli (Debian 12: aws-cli 2.9.19)');

const SCRIPTS = join(repoRoot, 'apps/e2e/scripts');
const FIXTURES = join(repoRoot, 'apps/e2e/fixtures/ecs');
/** How long one script may run before it is killed (its output is kept); the test allows a minute more. */
const SCRIPT_LIMIT_MS = 7 * 60_000;

interface Key {
  id: string;
  secret: string;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (killed past the limit): exit code, stdout and stderr interleaved, stderr alone. */
function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, limitMs = SCRIPT_LIMIT_MS): Promise<Ran> {
  return new Promise((resolve) => {
    const started = Date.now();
    const p = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      output += `\n[killed after ${limitMs / 1000}s]\n`;
      p.kill('SIGTERM');
    }, limitMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, stderr, ms: Date.now() - started });
    });
  });
}

function parseKey(stdout: string): Key {
  const id = /^aws_access_key_id = (\S+)$/m.exec(stdout)?.[1];
  const secret = /^aws_secret_access_key = (\S+)$/m.exec(stdout)?.[1];
  if (!id || !secret) throw new Error(`no AWS key pair in the output of apitoken create --aws:\n${stdout}`);
  return { id, secret };
}

describe.runIf(run)('the AWS CLI against the ECS endpoint', () => {
  const cluster = new LocalCluster();
  let nodeId = '';
  let admin: Key;
  let viewer: Key;
  let awsDir = '';

  beforeAll(async () => {
    await cluster.start();
    const nodes = await berthJson<{ containerInstances: { nodeId: string }[] }>(cluster.server, ['node', 'ls']);
    nodeId = nodes.containerInstances[0]!.nodeId;
    const key = async (name: string, role: string) => {
      const r = await berth(cluster.server, ['apitoken', 'create', name, '--role', role, '--aws']);
      if (r.code !== 0) throw new Error(`apitoken create ${name} --aws failed (${r.code}): ${r.stderr}`);
      return parseKey(r.stdout);
    };
    admin = await key('e2e-awscli-admin', 'admin');
    viewer = await key('e2e-awscli-viewer', 'viewer');
    // No ~/.aws of whoever runs the tests: empty config and credentials files of our own.
    awsDir = join(cluster.work, 'aws');
    mkdirSync(awsDir, { recursive: true });
    writeFileSync(join(awsDir, 'config'), '');
    writeFileSync(join(awsDir, 'credentials'), '');
  });

  afterAll(async () => {
    await cluster.stop();
    // Service tasks the scripts left (on a failure): every container our agent started carries its node id.
    if (nodeId) {
      for (const id of docker(['ps', '-aq', '--filter', `label=berth.node-id=${nodeId}`]).split('\n').filter(Boolean)) docker(['rm', '-f', '-v', id]);
    }
  });

  const endpoint = () => `https://127.0.0.1:${cluster.ecsPort}`;

  /** The environment the scripts and the CLI get: none of the caller's AWS_* settings, ours instead. */
  function awsEnv(key: Key, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    return {
      ...env,
      ECS_ENDPOINT: endpoint(),
      AWS_CA_BUNDLE: cluster.caFile,
      AWS_ACCESS_KEY_ID: key.id,
      AWS_SECRET_ACCESS_KEY: key.secret,
      AWS_DEFAULT_REGION: 'local',
      AWS_CONFIG_FILE: join(awsDir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'credentials'),
      AWS_PAGER: '',
      AWS_CLI,
      IMAGE: TEST_IMAGE,
      ...extra,
    };
  }

  const aws = (key: Key, args: string[]) => runCommand(AWS_CLI, ['--endpoint-url', endpoint(), ...args], awsEnv(key), 60_000);

  async function script(name: string): Promise<void> {
    const r = await runCommand('bash', [join(SCRIPTS, name)], awsEnv(admin));
    console.log(`${name}: exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${(r.ms / 1000).toFixed(1)}s`);
    if (r.code !== 0) {
      expect.fail(`${name} exited ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${(r.ms / 1000).toFixed(1)}s\n--- ${name} ---\n${r.output}${cluster.diagnostics()}`);
    }
  }

  it('a viewer key reads but may not register a task definition (AccessDeniedException)', async () => {
    const listed = await aws(viewer, ['ecs', 'list-clusters', '--query', 'clusterArns', '--output', 'text']);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain(':cluster/default');

    const file = join(cluster.work, 'viewer-td.json');
    writeFileSync(file, readFileSync(join(FIXTURES, 'awscli-sleeper.json'), 'utf8').replaceAll('@IMAGE@', TEST_IMAGE));
    const refused = await aws(viewer, ['ecs', 'register-task-definition', '--cli-input-json', `file://${file}`]);
    // 254: the service answered with an error (255 from CLIs that do not tell the two apart).
    expect([254, 255], refused.output).toContain(refused.code);
    expect(refused.stderr).toMatch(/AccessDeniedException/);
    expect(refused.stderr).toMatch(/RegisterTaskDefinition/);

    // The same call with the admin key goes through (the refusal was the role, not the request).
    const registered = await aws(admin, ['ecs', 'register-task-definition', '--cli-input-json', `file://${file}`, '--query', 'taskDefinition.status', '--output', 'text']);
    expect(registered.code, registered.output).toBe(0);
    expect(registered.output.trim()).toBe('ACTIVE');
  });

  it('a profile written by `berth aws-profile` works with the CLI (its ca_bundle; the endpoint given on the command line)', async () => {
    const dir = join(cluster.work, 'aws-profile');
    const r = await berth(cluster.server, ['aws-profile', '--profile', 'berth-e2e', '--role', 'viewer', '--endpoint', endpoint(), '--aws-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    const env = awsEnv(admin, { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_PROFILE: 'berth-e2e' });
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_CA_BUNDLE', 'AWS_DEFAULT_REGION']) delete env[k];
    // AWS CLI 2.9.19 ignores endpoint_url in the profile: --endpoint-url still has to be given.
    const listed = await runCommand(AWS_CLI, ['--endpoint-url', endpoint(), 'ecs', 'list-clusters', '--query', 'clusterArns', '--output', 'text'], env, 60_000);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain(':cluster/default');
  });

  it('ecs-awscli.sh: task definitions from files and from describe output, a task and a service through the waiters', async () => {
    await script('ecs-awscli.sh');
  }, SCRIPT_LIMIT_MS + 60_000);

  it('ecs-deploy-flow.sh: the CI deploy flow succeeds, and a broken revision fails and is rolled back', async () => {
    await script('ecs-deploy-flow.sh');
  }, SCRIPT_LIMIT_MS + 60_000);
});
