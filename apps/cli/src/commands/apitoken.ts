import { CreateApiTokenResponse, ListApiTokensResponse } from '@berth/proto';
import { UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { age } from '../output/format.js';
import { table } from '../output/table.js';
import { parseTimeout } from './service.js';

/** API tokens: who may call the control API, with which role. */
export const apiTokenCommands: Record<string, Command> = {
  'apitoken create': {
    usage: 'berth apitoken create NAME --role admin|operator|viewer [--ttl 90d] [--only-cluster NAME] [--aws]',
    summary: 'an API token (printed once): admin (everything), operator (tasks, services, secrets write-only), viewer (read only); --aws: an AWS access key pair for the ECS endpoint instead',
    options: { role: { type: 'string' }, ttl: { type: 'string' }, 'only-cluster': { type: 'string' }, aws: { type: 'boolean' } },
    async run({ api, io, json, args, flags }) {
      if (!args[0]) throw new UsageError('apitoken create: who is it for? (a NAME)');
      if (!flags.role) throw new UsageError('--role: admin, operator or viewer');
      const ttl = flags.ttl as string | undefined;
      const aws = flags.aws === true;
      const r = await api.createApiToken({ name: args[0], role: flags.role as string, ttlSeconds: ttl ? Math.round(parseTimeout(ttl) / 1000) : 0, cluster: (flags['only-cluster'] as string | undefined) ?? '', aws });
      if (json) return printJson(io, CreateApiTokenResponse.toJSON(r));
      if (aws) {
        io.out(`aws_access_key_id = ${r.accessKeyId}\naws_secret_access_key = ${r.secretAccessKey}\n`);
        io.err(`AWS access key ${r.accessKeyId} for ${r.info!.name}, role ${r.info!.role}${r.info!.cluster !== '*' ? ` in cluster ${r.info!.cluster}` : ''}; the secret is shown once (berth aws-profile writes a whole AWS CLI profile)\n`);
        return;
      }
      io.out(`${r.token}\n`);
      io.err(`API token ${r.info!.id} for ${r.info!.name}, role ${r.info!.role}${r.info!.cluster !== '*' ? ` in cluster ${r.info!.cluster}` : ''}${r.info!.expiresAt ? `, expires ${r.info!.expiresAt.toISOString()}` : ''}; shown once\n`);
    },
  },
  'apitoken ls': {
    usage: 'berth apitoken ls',
    summary: 'API tokens: id, who for, role, last use (never their secrets)',
    async run({ api, io, json }) {
      const r = await api.listApiTokens({});
      if (json) return printJson(io, ListApiTokensResponse.toJSON(r));
      io.out(table(['ID', 'KIND', 'NAME', 'ROLE', 'CLUSTER', 'CREATED', 'LAST USED', 'EXPIRES'], r.tokens.map((t) => [t.id, t.kind || 'token', t.name, t.role, t.cluster, `${age(t.createdAt)} ago`, t.lastUsedAt ? `${age(t.lastUsedAt)} ago` : 'never', t.expiresAt ? t.expiresAt.toISOString() : 'never'])));
    },
  },
  'apitoken rm': {
    usage: 'berth apitoken rm ID',
    summary: 'revoke an API token',
    async run({ api, io, args }) {
      if (!args[0]) throw new UsageError('apitoken rm: which token id?');
      await api.deleteApiToken({ id: args[0] });
      io.out(`API token ${args[0]} deleted\n`);
    },
  },
};
