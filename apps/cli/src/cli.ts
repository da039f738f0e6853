import { parseArgs } from 'node:util';
import { normalizeTarget } from '@berth/transport';
import { BERTH_VERSION } from '@berth/proto';
import type { Api } from './client.js';
import { clusterCommands } from './commands/cluster.js';
import { loginCommands } from './commands/login.js';
import { tokenCommands } from './commands/token.js';
import { apiTokenCommands } from './commands/apitoken.js';
import { awsProfileCommands } from './commands/aws-profile.js';
import { eventCommands } from './commands/events.js';
import { logsCommands } from './commands/logs.js';
import { nodeCommands } from './commands/node.js';
import { roleCommands } from './commands/role.js';
import { secretCommands } from './commands/secret.js';
import { lbCommands } from './commands/lb.js';
import { serviceCommands } from './commands/service.js';
import { taskCommands } from './commands/task.js';
import { taskdefCommands } from './commands/taskdef.js';
import type { Command, Io } from './context.js';
import { CliError, describeError, UsageError } from './errors.js';
import { currentContext, type CliContext } from './cli-config.js';
import type { ClientTls } from '@berth/transport';

export const COMMANDS: Record<string, Command> = { ...taskdefCommands, ...taskCommands, ...serviceCommands, ...lbCommands, ...secretCommands, ...roleCommands, ...logsCommands, ...nodeCommands, ...clusterCommands, ...eventCommands, ...loginCommands, ...tokenCommands, ...apiTokenCommands, ...awsProfileCommands };

const GLOBAL_OPTIONS = {
  server: { type: 'string' },
  ca: { type: 'string' },
  token: { type: 'string' },
  insecure: { type: 'boolean' },
  cluster: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export function helpText(): string {
  const verbs = Object.entries(COMMANDS).map(([, c]) => `  ${c.usage}\n      ${c.summary}`);
  return `berth: the Berth command line

Usage: berth NOUN VERB [ARGS] [FLAGS]   (and: berth logs, berth events)

${verbs.join('\n')}

Global flags:
  --server HOST[:PORT]   control plane (default: the current context's, else 127.0.0.1:7400; BERTH_SERVER)
  --ca FILE              the cluster CA to trust (the control plane's DATA_DIR/pki/ca.crt; BERTH_CA)
  --token TOKEN          API token (BERTH_TOKEN; berth login keeps one in the context)
  --insecure             plaintext, for a control plane started with --insecure (BERTH_INSECURE=1)
  --cluster NAME         cluster (default "default"; BERTH_CLUSTER)
  -o, --output FORMAT    table (default) or json
  -h, --help             help for berth or for a command
      --version          print the release and exit
`;
}

/**
 * Runs one command line; returns the exit code. `makeApi` is injected so tests
 * run commands against a fake API.
 */
export async function runCli(argv: string[], io: Io, makeApi: (server: string, tls: ClientTls) => Api, env: NodeJS.ProcessEnv = {}): Promise<number> {
  // First pass: every option any command knows, to find the noun and verb among the positionals.
  const all: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { ...GLOBAL_OPTIONS };
  for (const c of Object.values(COMMANDS)) Object.assign(all, c.options ?? {});
  let server = normalizeTarget(env.BERTH_SERVER ?? '');
  try {
    const loose = parseArgs({ args: argv, options: all, strict: false, allowPositionals: true });
    const [noun, verb, third] = loose.positionals;
    if (!noun && loose.values.version) {
      io.out(`berth ${BERTH_VERSION} (Node ${process.version}, ${process.platform}/${process.arch})\n`);
      return 0;
    }
    if (!noun) {
      io.out(helpText());
      return loose.values.help ? 0 : 2;
    }
    // Commands are one word (events), two (task run) or three (node attribute put).
    const long = `${noun} ${verb} ${third}`;
    const name = COMMANDS[noun] ? noun : COMMANDS[long] ? long : `${noun} ${verb ?? ''}`.trim();
    const command = COMMANDS[name];
    if (!command) {
      const known = [...new Set(Object.keys(COMMANDS).filter((k) => k.startsWith(`${noun} `)).map((k) => k.split(' ')[1]))];
      throw new UsageError(known.length > 0 ? `unknown command "${name}"; ${noun} has: ${known.join(', ')}` : `unknown command "${noun}"`);
    }
    // Second pass: strict, with this command's options only.
    const parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...(command.options ?? {}) }, strict: true, allowPositionals: true });
    const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (v.help) {
      io.out(`${command.usage}\n  ${command.summary}\n`);
      return 0;
    }
    const output = (v.output as string | undefined) ?? 'table';
    if (output !== 'table' && output !== 'json') throw new UsageError(`--output: must be table or json, got ${JSON.stringify(output)}`);
    // Flags, then the environment, then the current context (berth login), then the defaults.
    let context: CliContext | undefined;
    try {
      context = currentContext(env);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    server = normalizeTarget((v.server as string | undefined) ?? env.BERTH_SERVER ?? context?.server ?? '');
    const caFile = (v.ca as string | undefined) ?? env.BERTH_CA;
    let caPem: string | undefined;
    if (caFile) {
      try {
        caPem = io.readFile(caFile);
      } catch (err) {
        throw new UsageError(`--ca: cannot read ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const insecure = v.insecure === true || env.BERTH_INSECURE === '1' || (!caFile && context?.insecure === true);
    const token = (v.token as string | undefined) ?? env.BERTH_TOKEN ?? context?.token;
    const tls: ClientTls = insecure ? { insecure: true } : { caPem: caPem ?? context?.ca, ...(token ? { token } : {}) };
    const api = makeApi(server, tls);
    let code: void | number;
    try {
      const args = parsed.positionals.slice(name.split(' ').length);
      code = await command.run({ api, io, server, tls, env, cluster: (v.cluster as string) ?? env.BERTH_CLUSTER ?? 'default', json: output === 'json', args, flags: v });
    } finally {
      api.close();
    }
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    const { message, code } = describeError(err instanceof TypeError && /ERR_PARSE_ARGS/.test((err as NodeJS.ErrnoException).code ?? '') ? new UsageError(err.message) : err, server);
    io.err(`berth: ${message}\n`);
    return code;
  }
}
