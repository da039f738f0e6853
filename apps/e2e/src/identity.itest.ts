import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { requireDocker, waitFor } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from './cluster.js';
import { berth } from './processes.js';

/**
 * Node identity with real processes: the agent joined with a token (LocalCluster
 * does it) keeps its key 0600, renews its certificate at two thirds of the
 * lifetime (here 90 s, so about a minute) and stays connected; a revoked node
 * is cut off and cannot come back.
 */
const run = requireDocker();

describe.runIf(run)('node identity', () => {
  const cluster = new LocalCluster([], undefined, 'apps/agent/dist/main.js', ['--node-cert-lifetime', '90s']);
  beforeAll(() => cluster.start());
  afterAll(() => cluster.stop());

  const cert = () => new X509Certificate(readFileSync(join(cluster.agentDataDir, 'node.crt')));

  it('joined with a token: the key stays on the node (0600); the certificate names the node', async () => {
    expect(statSync(join(cluster.agentDataDir, 'node.key')).mode & 0o777).toBe(0o600);
    const nodes = JSON.parse((await berth(cluster.server, ['node', 'ls', '-o', 'json'])).stdout) as { containerInstanceArn: string }[] | { containerInstances: { containerInstanceArn: string }[] };
    const arn = (Array.isArray(nodes) ? nodes : nodes.containerInstances)[0]!.containerInstanceArn;
    expect(cert().subject).toContain(`CN=${arn.split('/').pop()}`);
  });

  it('renews its certificate before it expires, and stays connected', async () => {
    const first = cert().serialNumber;
    await waitFor('a renewed certificate', () => (cert().serialNumber !== first ? true : undefined), 90_000, 1000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}`);
    });
    await waitFor('the agent connected with it', () => (/"msg":"node certificate renewed"/.test(cluster.agent!.output) ? true : undefined), 10_000);
    await cluster.connected();
    const events = await cluster.events();
    expect(events.some((e) => e.kind === 'node.certificate-renewed')).toBe(true);
  });

  it('a revoked node is cut off and refused when it comes back', async () => {
    const id = cert().subject.match(/CN=(\S+)/)![1]!;
    expect((await berth(cluster.server, ['node', 'revoke', id])).code).toBe(0);
    await waitFor('the refusal in the agent log', () => (/revoked/.test(cluster.agent!.output) ? true : undefined), 20_000);
    // (JSON output leaves out false booleans, as proto3 JSON does.)
    await waitFor('the node disconnected', async () => (!/"agentConnected":\s*true/.test((await berth(cluster.server, ['node', 'ls', '-o', 'json'])).stdout) ? true : undefined), 15_000).catch((err) => {
      throw new Error(`${err.message}${cluster.diagnostics()}`);
    });
    // It keeps trying, and keeps being refused.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await berth(cluster.server, ['node', 'ls', '-o', 'json'])).stdout).not.toMatch(/"agentConnected":\s*true/);
    expect(cluster.agent!.output).toMatch(/is revoked; join again with a new token/);
  });
});
