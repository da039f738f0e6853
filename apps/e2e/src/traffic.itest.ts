import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort, requireDocker, requireOrSkip, TEST_IMAGE, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, LocalCluster } from './cluster.js';
import { berth, berthJson } from './processes.js';

/**
 * Traffic end to end: the AWS CLI's elbv2 commands against a real control plane, a real agent that
 * runs a real HAProxy, and a service of real containers behind it. A client on 127.0.0.1 sees every
 * request answered through a rolling update; a killed HAProxy is back within a second; bad input gets
 * ELB's error codes.
 */
const AWS_CLI = process.env.AWS_CLI ?? '/usr/bin/aws';
const HAPROXY = process.env.BERTH_TEST_HAPROXY ?? '/usr/sbin/haproxy';
const run =
  requireDocker() &&
  requireOrSkip(`the AWS CLI at ${AWS_CLI}`, existsSync(AWS_CLI), 'apt-get install awscli') &&
  requireOrSkip(`HAProxy at ${HAPROXY}`, existsSync(HAPROXY), 'apt-get install haproxy');

interface Key {
  id: string;
  secret: string;
}

function runAws(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(AWS_CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One HAProxy runtime command on the agent's socket (for diagnostics). */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    let out = '';
    c.on('connect', () => c.write(`${command}\n`));
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => resolve(out));
    c.on('error', (e) => resolve(`(${e.message})`));
  });
}

/** One GET through the load balancer: status and body, or the error. */
function get(port: number, path = '/'): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

describe.runIf(run)('traffic: load balancers on a node, driven by the AWS CLI', () => {
  const cluster = new LocalCluster();
  let nodeId = '';
  let key: Key;
  let awsDir = '';
  let port = 0;
  let tgArn = '';
  let listenerArn = '';

  beforeAll(async () => {
    await cluster.start();
    const nodes = await berthJson<{ containerInstances: { nodeId: string }[] }>(cluster.server, ['node', 'ls']);
    nodeId = nodes.containerInstances[0]!.nodeId;
    const r = await berth(cluster.server, ['apitoken', 'create', 'e2e-traffic', '--role', 'admin', '--aws']);
    key = { id: /^aws_access_key_id = (\S+)$/m.exec(r.stdout)![1]!, secret: /^aws_secret_access_key = (\S+)$/m.exec(r.stdout)![1]! };
    awsDir = join(cluster.work, 'aws');
    mkdirSync(awsDir, { recursive: true });
    writeFileSync(join(awsDir, 'config'), '');
    writeFileSync(join(awsDir, 'credentials'), '');
    port = await freePort();
  });

  afterAll(async () => {
    // The agent leaves HAProxy running when it stops (as it leaves containers): stop it here.
    const pidFile = join(cluster.agentDataDir, 'proxy', 'haproxy.pid');
    await cluster.stop();
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    if (nodeId) for (const id of docker(['ps', '-aq', '--filter', `label=berth.node-id=${nodeId}`]).split('\n').filter(Boolean)) docker(['rm', '-f', '-v', id]);
  });

  const env = (): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
    AWS_CA_BUNDLE: cluster.caFile,
    AWS_ACCESS_KEY_ID: key.id,
    AWS_SECRET_ACCESS_KEY: key.secret,
    AWS_DEFAULT_REGION: 'local',
    AWS_CONFIG_FILE: join(awsDir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'credentials'),
    AWS_PAGER: '',
  });
  const aws = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
    const r = await runAws(['--endpoint-url', `https://127.0.0.1:${cluster.ecsPort}`, '--output', 'json', ...args], env());
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.stderr}${cluster.diagnostics()}`);
    return (r.stdout.trim() ? JSON.parse(r.stdout) : {}) as T;
  };
  const awsFails = async (args: string[]) => runAws(['--endpoint-url', `https://127.0.0.1:${cluster.ecsPort}`, '--output', 'json', ...args], env());

  it('aws elbv2 creates a target group, a load balancer on the node and a listener; HAProxy answers on it', async () => {
    const tg = await aws<{ TargetGroups: { TargetGroupArn: string; HealthCheckIntervalSeconds: number }[] }>([
      'elbv2', 'create-target-group', '--name', 'web', '--protocol', 'HTTP', '--port', '80', '--vpc-id', 'vpc-1', '--target-type', 'instance',
      '--health-check-path', '/', '--health-check-interval-seconds', '5', '--health-check-timeout-seconds', '2', '--healthy-threshold-count', '2', '--unhealthy-threshold-count', '2',
      '--tags', 'Key=app,Value=web',
    ]);
    tgArn = tg.TargetGroups[0]!.TargetGroupArn;
    expect(tgArn).toMatch(/^arn:aws:elasticloadbalancing:[^:]+:\d{12}:targetgroup\/web\/[0-9a-f]{16}$/);
    expect(tg.TargetGroups[0]!.HealthCheckIntervalSeconds).toBe(5);
    const attrs = await aws<{ Attributes: { Key: string; Value: string }[] }>(['elbv2', 'modify-target-group-attributes', '--target-group-arn', tgArn, '--attributes', 'Key=deregistration_delay.timeout_seconds,Value=15']);
    expect(attrs.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '15' });
    const lb = await aws<{ LoadBalancers: { LoadBalancerArn: string; Type: string }[] }>(['elbv2', 'create-load-balancer', '--name', 'front', '--subnets', nodeId, '--type', 'application']);
    const lbArn = lb.LoadBalancers[0]!.LoadBalancerArn;
    const listener = await aws<{ Listeners: { ListenerArn: string; Port: number }[] }>(['elbv2', 'create-listener', '--load-balancer-arn', lbArn, '--protocol', 'HTTP', '--port', String(port), '--default-actions', `Type=forward,TargetGroupArn=${tgArn}`]);
    listenerArn = listener.Listeners[0]!.ListenerArn;
    // No targets yet: HAProxy answers 503 on the listener.
    const first = await waitFor('HAProxy listening', async () => {
      const r = await get(port);
      return 'status' in r ? r : undefined;
    }, 15_000);
    expect(first.status).toBe(503);
    const described = await aws<{ LoadBalancers: { State: { Code: string }; DNSName: string }[] }>(['elbv2', 'describe-load-balancers', '--names', 'front']);
    expect(described.LoadBalancers[0]).toMatchObject({ State: { Code: 'active' }, DNSName: '127.0.0.1' });
    const tags = await aws<{ TagDescriptions: { Tags: { Key: string; Value: string }[] }[] }>(['elbv2', 'describe-tags', '--resource-arns', tgArn]);
    expect(tags.TagDescriptions[0]!.Tags).toEqual([{ Key: 'app', Value: 'web' }]);
  });

  it("bad input answers ELB's error codes and writes nothing", async () => {
    await aws(['elbv2', 'create-rule', '--listener-arn', listenerArn, '--priority', '5', '--conditions', 'Field=path-pattern,Values=/api/*', '--actions', `Type=forward,TargetGroupArn=${tgArn}`]);
    const dup = await awsFails(['elbv2', 'create-rule', '--listener-arn', listenerArn, '--priority', '5', '--conditions', 'Field=host-header,Values=a.lan', '--actions', `Type=forward,TargetGroupArn=${tgArn}`]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/PriorityInUse/);
    const missing = await awsFails(['elbv2', 'describe-target-groups', '--names', 'nope']);
    expect(missing.stderr).toMatch(/TargetGroupNotFound/);
    const bad = await awsFails(['elbv2', 'create-target-group', '--name', 'x', '--protocol', 'HTTP', '--port', '99999', '--vpc-id', 'v']);
    expect(bad.stderr).toMatch(/ValidationError/);
    expect(bad.stderr).toMatch(/Port/);
    const groups = await aws<{ TargetGroups: unknown[] }>(['elbv2', 'describe-target-groups']);
    expect(groups.TargetGroups).toHaveLength(1);
  });

  it('a service behind it: its tasks become healthy targets, and a rolling update fails no request', async () => {
    const td = join(cluster.work, 'web-td.json');
    writeFileSync(td, JSON.stringify({
      family: 'traffic-web',
      containerDefinitions: [{
        name: 'app',
        image: TEST_IMAGE,
        memory: 32,
        essential: true,
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
        command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
        stopTimeout: 5,
      }],
    }));
    await aws(['ecs', 'register-task-definition', '--cli-input-json', `file://${td}`]);
    await aws(['ecs', 'create-service', '--cluster', 'default', '--service-name', 'web', '--task-definition', 'traffic-web', '--desired-count', '2', '--load-balancers', `targetGroupArn=${tgArn},containerName=app,containerPort=8080`]);
    const hosts = new Set<string>();
    await waitFor('two containers answer through the load balancer', async () => {
      const r = await get(port);
      if ('status' in r && r.status === 200) hosts.add(r.body.trim());
      return hosts.size >= 2 ? true : undefined;
    }, 60_000, 100).catch(async (err: Error) => {
      const stat = await haproxyCommand(join(cluster.agentDataDir, 'proxy', 'haproxy.sock'), 'show servers state');
      throw new Error(`${err.message}\nHAProxy servers:\n${stat}${cluster.diagnostics()}`);
    });
    // HAProxy sends a target traffic only once its checks pass; the control plane hears so within a second.
    const health = await waitFor('both targets healthy', async () => {
      const h = await aws<{ TargetHealthDescriptions: { Target: { Id: string }; TargetHealth: { State: string } }[] }>(['elbv2', 'describe-target-health', '--target-group-arn', tgArn]);
      return h.TargetHealthDescriptions.filter((d) => d.TargetHealth.State === 'healthy').length === 2 ? h : undefined;
    }, 10_000, 200);
    expect(health.TargetHealthDescriptions.map((d) => [d.Target.Id, d.TargetHealth.State])).toEqual([[nodeId, 'healthy'], [nodeId, 'healthy']]);

    // A rolling update under load: every request is answered 200.
    let failed = 0;
    let ok = 0;
    const failures: string[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await get(port);
        if ('status' in r && r.status === 200) ok++;
        else {
          failed++;
          if (failures.length < 5) failures.push(JSON.stringify(r));
        }
      }
    })();
    await aws(['ecs', 'update-service', '--cluster', 'default', '--service', 'web', '--force-new-deployment']);
    await waitFor('the deployment completed', async () => {
      const d = await aws<{ services: { deployments: { rolloutState: string }[] }[] }>(['ecs', 'describe-services', '--cluster', 'default', '--services', 'web']);
      const deps = d.services[0]!.deployments;
      return deps.length === 1 && deps[0]!.rolloutState === 'COMPLETED' ? true : undefined;
    }, 120_000, 500).catch(async (err: Error) => {
      loading = false;
      const d = await aws<{ services: { events: { message: string }[]; deployments: unknown[] }[] }>(['ecs', 'describe-services', '--cluster', 'default', '--services', 'web']);
      const h = await aws(['elbv2', 'describe-target-health', '--target-group-arn', tgArn]);
      const stat = await haproxyCommand(join(cluster.agentDataDir, 'proxy', 'haproxy.sock'), 'show servers state');
      throw new Error(`${err.message}\nevents:\n${d.services[0]!.events.slice(0, 15).map((e) => e.message).join('\n')}\ndeployments: ${JSON.stringify(d.services[0]!.deployments)}\ntargets: ${JSON.stringify(h)}\nHAProxy:\n${stat}`);
    });
    // Old tasks drain and stop after the deployment completes: keep the load on until they are gone.
    await waitFor('only two tasks left', async () => {
      const t = await aws<{ taskArns: string[] }>(['ecs', 'list-tasks', '--cluster', 'default', '--service-name', 'web']);
      return t.taskArns.length === 2 ? true : undefined;
    }, 60_000, 500);
    loading = false;
    await load;
    console.log(`rolling update through the load balancer: ${ok} requests answered 200, ${failed} failed`);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(50);
  }, 240_000);

  it('HAProxy killed: the agent has it serving again within a second, from its snapshot', async () => {
    const pid = Number(readFileSync(join(cluster.agentDataDir, 'proxy', 'haproxy.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const killed = Date.now();
    await waitFor('served again', async () => {
      const r = await get(port);
      return 'status' in r && r.status === 200 ? true : undefined;
    }, 10_000, 20);
    const ms = Date.now() - killed;
    console.log(`HAProxy killed: serving again after ${ms} ms`);
    expect(ms).toBeLessThan(3000);
  });
});
