import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_GRPC_PORT, normalizeTarget } from '@berth/transport';

export interface AgentConfig {
  server: string;
  dataDir: string;
  cluster: string;
  labels: Record<string, string>;
  reservedCpu: number;
  reservedMemoryMib: number;
  dockerHost: string;
  bindIp: string;
  logLevel: string;
}

export const HELP = `berth-agent: the Berth node agent

Options:
  --server HOST[:PORT]      control plane (default 127.0.0.1:${DEFAULT_GRPC_PORT}; BERTH_SERVER)
  --data-dir DIR            local state (default ~/.local/share/berth-agent; BERTH_AGENT_DATA_DIR)
  --cluster NAME            cluster to join (default "default")
  --label KEY=VALUE         a node label, repeatable (e.g. --label room=attic)
  --reserved-cpu UNITS      CPU units kept for the OS (1024 per core; default 0)
  --reserved-memory MIB     memory kept for the OS (default 256)
  --docker-host HOST        Docker engine (default DOCKER_HOST or unix:///var/run/docker.sock)
  --bind-ip ADDR            where published container ports bind (default 0.0.0.0)
  --log-level LEVEL         trace, debug, info, warn, error (default info)
  -h, --help                this help

SIGTERM or Ctrl-C stops the agent, never its containers.
`;

export class ConfigError extends Error {}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig | 'help' {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        'data-dir': { type: 'string' },
        cluster: { type: 'string' },
        label: { type: 'string', multiple: true },
        'reserved-cpu': { type: 'string' },
        'reserved-memory': { type: 'string' },
        'docker-host': { type: 'string' },
        'bind-ip': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  if (v.help) return 'help';
  const labels: Record<string, string> = {};
  for (const l of v.label ?? []) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.\-/]{0,127})=(.{0,256})$/.exec(l);
    if (!m) throw new ConfigError(`--label: must be key=value (key: letters, digits, ._-/), got ${JSON.stringify(l)}`);
    labels[m[1]!] = m[2]!;
  }
  const int = (name: string, raw: string | undefined, dflt: number) => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name}: must be a whole number, 0 or more, got ${JSON.stringify(raw)}`);
    return n;
  };
  const level = v['log-level'] ?? env.BERTH_LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level)) throw new ConfigError(`--log-level: must be trace, debug, info, warn or error, got ${JSON.stringify(level)}`);
  return {
    server: normalizeTarget(v.server ?? env.BERTH_SERVER ?? ''),
    dataDir: v['data-dir'] ?? env.BERTH_AGENT_DATA_DIR ?? join(homedir(), '.local', 'share', 'berth-agent'),
    cluster: v.cluster ?? env.BERTH_CLUSTER ?? 'default',
    labels,
    reservedCpu: int('reserved-cpu', v['reserved-cpu'], 0),
    reservedMemoryMib: int('reserved-memory', v['reserved-memory'], 256),
    dockerHost: v['docker-host'] ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    bindIp: v['bind-ip'] ?? '0.0.0.0',
    logLevel: level,
  };
}
