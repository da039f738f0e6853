import { CliError, UsageError } from '../errors.js';
import { configPath, loadConfig, saveContext } from '../cli-config.js';
import type { Command } from '../context.js';
import { table } from '../output/table.js';

/** `berth login` records a control plane (server + CA) as a context; `berth context` lists and switches them. */
export const loginCommands: Record<string, Command> = {
  login: {
    usage: 'berth login --server HOST[:PORT] (--ca FILE [--token TOKEN] | --insecure) [--context NAME]',
    summary: 'check that the control plane answers, then remember it (server, CA and API token) as a context in ~/.config/berth/config.json (0600)',
    options: { context: { type: 'string' } },
    async run({ api, io, server, tls, env, flags }) {
      if (!tls.insecure && !tls.caPem) throw new UsageError('login: give the cluster CA (--ca FILE: the control plane\'s DATA_DIR/pki/ca.crt), or --insecure for a control plane without TLS');
      const name = (flags.context as string | undefined) ?? 'default';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError(`--context: must be 1-64 letters, digits or _.-, got ${JSON.stringify(name)}`);
      const clusters = await api.listClusters({});
      const path = saveContext(env, name, { server, ...(tls.insecure ? { insecure: true } : { ca: tls.caPem, ...(tls.token ? { token: tls.token } : {}) }) });
      io.out(`logged in to ${server} (${clusters.clusterArns.length} cluster(s)) as context ${name}; saved in ${path}\n`);
    },
  },
  'context ls': {
    usage: 'berth context ls',
    summary: 'the contexts berth login saved (* marks the current one)',
    async run({ io, env, json }) {
      const c = loadConfig(env);
      if (json) return void io.out(`${JSON.stringify({ current: c.current, contexts: Object.fromEntries(Object.entries(c.contexts).map(([k, v]) => [k, { server: v.server, tls: !v.insecure }])) })}\n`);
      io.out(table(['', 'NAME', 'SERVER', 'TLS'], Object.entries(c.contexts).map(([k, v]) => [k === c.current ? '*' : '', k, v.server, v.insecure ? 'off' : 'on'])));
    },
  },
  'context use': {
    usage: 'berth context use NAME',
    summary: 'make a saved context the current one',
    async run({ io, env, args }) {
      const name = args[0];
      if (!name) throw new UsageError('context use: which context?');
      const c = loadConfig(env);
      const ctx = c.contexts[name];
      if (!ctx) throw new CliError(`no context ${name} in ${configPath(env)} (known: ${Object.keys(c.contexts).join(', ') || 'none'})`);
      saveContext(env, name, ctx, true);
      io.out(`current context: ${name} (${ctx.server})\n`);
    },
  },
};
