import { CreateJoinTokenResponse, ListJoinTokensResponse, type JoinTokenInfo } from '@berth/proto';
import { UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { age } from '../output/format.js';
import { table } from '../output/table.js';
import { parseTimeout } from './service.js';

function usesText(t: JoinTokenInfo): string {
  return t.unlimited ? 'any' : String(t.usesLeft);
}

/** Join tokens (berth-agent join --token) and revoking a node's identity. */
export const tokenCommands: Record<string, Command> = {
  'token create': {
    usage: 'berth token create [--ttl 1h] [--uses N] [--label KEY=VALUE ...]',
    summary: 'a join token for new nodes (shown once; it carries the cluster CA\'s hash): berth-agent join --server HOST:7400 --token TOKEN',
    options: { ttl: { type: 'string' }, uses: { type: 'string' }, label: { type: 'string', multiple: true } },
    async run({ api, io, json, flags, cluster }) {
      const ttlSeconds = flags.ttl === undefined ? 3600 : Math.round(parseTimeout(flags.ttl as string) / 1000);
      const uses = flags.uses === undefined ? 0 : Number(flags.uses);
      if (flags.uses !== undefined && (!Number.isInteger(uses) || uses < 1)) throw new UsageError(`--uses: must be a whole number, 1 or more, got ${JSON.stringify(flags.uses)}`);
      const labels: Record<string, string> = {};
      for (const l of (flags.label as string[] | undefined) ?? []) {
        const i = l.indexOf('=');
        if (i <= 0) throw new UsageError(`--label: must be KEY=VALUE, got ${JSON.stringify(l)}`);
        labels[l.slice(0, i)] = l.slice(i + 1);
      }
      const r = await api.createJoinToken({ cluster, ttlSeconds, uses, labels });
      if (json) return printJson(io, CreateJoinTokenResponse.toJSON(r));
      io.out(`${r.token}\n`);
      io.err(`join token ${r.info!.id}: ${usesText(r.info!)} use(s), expires ${r.info!.expiresAt!.toISOString()}; on the node: berth-agent join --server HOST:7400 --token <token>\n`);
    },
  },
  'token ls': {
    usage: 'berth token ls',
    summary: 'join tokens that have not expired (never their secrets)',
    async run({ api, io, json }) {
      const r = await api.listJoinTokens({});
      if (json) return printJson(io, ListJoinTokensResponse.toJSON(r));
      io.out(table(['ID', 'CLUSTER', 'USES LEFT', 'EXPIRES', 'LABELS'], r.tokens.map((t) => [t.id, t.cluster, usesText(t), t.expiresAt ? `in ${age(new Date(), t.expiresAt)}` : '-', Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(',')])));
    },
  },
  'token rm': {
    usage: 'berth token rm ID',
    summary: 'revoke a join token (nodes that joined with it stay)',
    async run({ api, io, args }) {
      if (!args[0]) throw new UsageError('token rm: which token id?');
      await api.deleteJoinToken({ id: args[0] });
      io.out(`join token ${args[0]} deleted\n`);
    },
  },
  'node revoke': {
    usage: 'berth node revoke ID',
    summary: 'end the node\'s session and refuse its certificate from now on (it must join again with a new token)',
    async run({ api, io, args, cluster }) {
      if (!args[0]) throw new UsageError('node revoke: which node?');
      const r = await api.revokeNode({ cluster, containerInstance: args[0] });
      io.out(`node ${args[0]} revoked (${r.certificatesRevoked} certificate(s))\n`);
    },
  },
};
