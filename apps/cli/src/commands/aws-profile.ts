import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Command } from '../context.js';

/**
 * `berth aws-profile`: an AWS CLI profile for the ECS endpoint, so
 * `aws --profile berth ecs list-clusters` works on this machine. It makes an
 * AWS access key (role operator unless told), and writes the profile into
 * ~/.aws/config (region, endpoint_url, ca_bundle) and ~/.aws/credentials
 * (0600), replacing a profile of the same name and keeping the others.
 */

/** An INI file with one section replaced (or added); other sections kept as they are. */
export function upsertIniSection(text: string, section: string, lines: string[]): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    const m = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (m) skipping = m[1]!.trim() === section;
    if (!skipping) out.push(line);
  }
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return `${out.length > 0 ? `${out.join('\n')}\n\n` : ''}[${section}]\n${lines.join('\n')}\n`;
}

/** Where the ECS endpoint of a control plane is: its host, port 7402 (TLS unless the CLI talks plaintext). */
export function ecsEndpointFor(server: string, insecure: boolean, port = 7402): string {
  const host = server.replace(/:\d+$/, '');
  return `${insecure ? 'http' : 'https'}://${host}:${port}`;
}

export const awsProfileCommands: Record<string, Command> = {
  'aws-profile': {
    usage: 'berth aws-profile [--profile berth] [--role operator|admin|viewer] [--region local] [--endpoint URL] [--aws-dir ~/.aws]',
    summary: 'make an AWS access key and write an AWS CLI profile (endpoint, credentials, CA bundle) for the ECS endpoint',
    options: { profile: { type: 'string' }, role: { type: 'string' }, region: { type: 'string' }, endpoint: { type: 'string' }, 'aws-dir': { type: 'string' }, 'only-cluster': { type: 'string' } },
    async run({ api, io, server, tls, env, flags }) {
      const profile = (flags.profile as string | undefined) ?? 'berth';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(profile)) throw new UsageError(`--profile: must be 1-64 letters, digits or _.-, got ${JSON.stringify(profile)}`);
      const role = (flags.role as string | undefined) ?? 'operator';
      const region = (flags.region as string | undefined) ?? 'local';
      const endpoint = (flags.endpoint as string | undefined) ?? ecsEndpointFor(server, !!tls.insecure);
      if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) throw new UsageError(`--endpoint: must be http(s)://HOST:PORT, got ${JSON.stringify(endpoint)}`);
      const dir = (flags['aws-dir'] as string | undefined) ?? env.AWS_CONFIG_DIR ?? join(env.HOME ?? homedir(), '.aws');
      const r = await api.createApiToken({ name: `aws-profile-${profile}@${hostname()}`.slice(0, 64).replace(/[^A-Za-z0-9_.@-]/g, '-'), role, ttlSeconds: 0, cluster: (flags['only-cluster'] as string | undefined) ?? '', aws: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const config: string[] = [`region = ${region}`, `endpoint_url = ${endpoint}`, 'output = json'];
      if (!tls.insecure && tls.caPem) {
        const caFile = join(dir, `berth-${profile}-ca.crt`);
        writeFileSync(caFile, tls.caPem, { mode: 0o644 });
        config.push(`ca_bundle = ${caFile}`);
      }
      const configFile = join(dir, 'config');
      const credentialsFile = join(dir, 'credentials');
      const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
      writeFileSync(configFile, upsertIniSection(read(configFile), profile === 'default' ? 'default' : `profile ${profile}`, config));
      writeFileSync(credentialsFile, upsertIniSection(read(credentialsFile), profile, [`aws_access_key_id = ${r.accessKeyId}`, `aws_secret_access_key = ${r.secretAccessKey}`]), { mode: 0o600 });
      chmodSync(credentialsFile, 0o600);
      io.out(`AWS profile ${profile}: access key ${r.accessKeyId} (role ${role}), endpoint ${endpoint}; written to ${configFile} and ${credentialsFile}\n`);
      io.err(`try: aws --profile ${profile} ecs list-clusters   (AWS CLI before 2.13 / botocore 1.31 ignores endpoint_url in profiles: add --endpoint-url ${endpoint})\n`);
    },
  },
};
