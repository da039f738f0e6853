import { readFileSync } from 'node:fs';
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
  imagePull: 'always' | 'if-not-present' | 'never';
  pauseImage: string;
  statsIntervalMs: number;
  /** Where file secrets are written (a tmpfs). */
  secretsDir: string;
  /** The cluster CA to verify the control plane with ('' = DATA_DIR/ca.crt). */
  caFile: string;
  /** Plaintext to a control plane started with --insecure. */
  insecure: boolean;
  /** A join token, used when the node has no identity yet. */
  token: string;
  /** On SIGTERM, stop every task's containers before exiting. */
  drain: boolean;
  /** The HAProxy binary the node's load balancers run on (a path, or a name looked up on PATH). */
  haproxy: string;
  /** The config file read, if any. */
  configFile?: string;
}

export const DEFAULT_CONFIG_FILE = '/etc/berth/agent.json';
export const DEFAULT_PAUSE_IMAGE = 'berth/pause:1';

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
  --image-pull POLICY       always, if-not-present or never (default if-not-present)
  --pause-image IMAGE       awsvpc namespace holder, built locally when missing (default ${DEFAULT_PAUSE_IMAGE})
  --stats-interval SECONDS  per-container CPU/memory sampling (default 15; 0 off)
  --ca-file FILE            the cluster CA the control plane's certificate must chain to (its
                            DATA_DIR/pki/ca.crt; default DATA_DIR/ca.crt here; BERTH_CA)
  --insecure                plaintext, to a control plane started with --insecure (BERTH_INSECURE=1)
  --token TOKEN             join with this token when the node has no identity yet (BERTH_TOKEN);
                            berth-agent join --server HOST:7400 --token TOKEN joins and exits
  --secrets-dir DIR         where file secrets are written for their containers; keep it on a tmpfs
                            (default /run/berth/secrets when /run is a tmpfs, else /dev/shm/berth-secrets)
  --drain                   on SIGTERM, stop this node's containers (and its HAProxy) before exiting
  --haproxy PATH            the HAProxy binary for this node's load balancers (default haproxy on
                            PATH; Debian/Raspberry Pi OS package haproxy; BERTH_HAPROXY)
  --log-level LEVEL         trace, debug, info, warn, error (default info)
  --config FILE             JSON file with the same keys as these flags, e.g.
                            {"server": "cp.lan", "labels": {"room": "attic"}, "reserved-memory": 512}
                            (default ${DEFAULT_CONFIG_FILE} when it exists; flags win; BERTH_AGENT_CONFIG)
  --version                 print the release, protocol versions and platform, and exit
  -h, --help                this help

SIGTERM or Ctrl-C stops the agent, never its containers nor its HAProxy (unless --drain).
`;

export class ConfigError extends Error {}

type Reader = (path: string) => string;
const defaultReader: Reader = (p) => readFileSync(p, 'utf8');

/** Keys a config file may hold: the long flags (labels as an object). */
const FILE_KEYS = ['server', 'data-dir', 'cluster', 'labels', 'reserved-cpu', 'reserved-memory', 'docker-host', 'bind-ip', 'log-level', 'image-pull', 'pause-image', 'stats-interval', 'secrets-dir', 'ca-file', 'insecure', 'token', 'drain', 'haproxy'];

function readConfigFile(path: string, explicit: boolean, read: Reader): Record<string, unknown> {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`--config: cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`${path}: must be a JSON object`);
  for (const key of Object.keys(doc)) {
    if (!FILE_KEYS.includes(key)) throw new ConfigError(`${path}: unknown key ${JSON.stringify(key)} (allowed: ${FILE_KEYS.join(', ')})`);
  }
  return doc as Record<string, unknown>;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv, read: Reader = defaultReader): AgentConfig | 'help' | 'version' {
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
        'image-pull': { type: 'string' },
        'pause-image': { type: 'string' },
        'stats-interval': { type: 'string' },
        'secrets-dir': { type: 'string' },
        'ca-file': { type: 'string' },
        token: { type: 'string' },
        insecure: { type: 'boolean' },
        drain: { type: 'boolean' },
        haproxy: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  if (v.help) return 'help';
  if (v.version) return 'version';
  const configPath = v.config ?? env.BERTH_AGENT_CONFIG;
  const file = readConfigFile(configPath ?? DEFAULT_CONFIG_FILE, configPath !== undefined, read);
  const fileStr = (key: string): string | undefined => {
    const x = file[key];
    if (x === undefined) return undefined;
    if (typeof x !== 'string' && typeof x !== 'number') throw new ConfigError(`${configPath ?? DEFAULT_CONFIG_FILE}: ${key} must be a string or number`);
    return String(x);
  };
  const pick = (key: string) => (v as Record<string, unknown>)[key] as string | undefined ?? fileStr(key);
  const labels: Record<string, string> = {};
  if (file.labels !== undefined) {
    if (typeof file.labels !== 'object' || file.labels === null || Array.isArray(file.labels)) throw new ConfigError(`${configPath ?? DEFAULT_CONFIG_FILE}: labels must be an object of strings`);
    for (const [k, val] of Object.entries(file.labels)) v.label = [`${k}=${String(val)}`, ...(v.label ?? [])];
  }
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
  const level = pick('log-level') ?? env.BERTH_LOG_LEVEL ?? 'info';
  const imagePull = pick('image-pull') ?? 'if-not-present';
  if (imagePull !== 'always' && imagePull !== 'if-not-present' && imagePull !== 'never') {
    throw new ConfigError(`--image-pull: must be always, if-not-present or never, got ${JSON.stringify(imagePull)}`);
  }
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level)) throw new ConfigError(`--log-level: must be trace, debug, info, warn or error, got ${JSON.stringify(level)}`);
  return {
    server: normalizeTarget(pick('server') ?? env.BERTH_SERVER ?? ''),
    dataDir: pick('data-dir') ?? env.BERTH_AGENT_DATA_DIR ?? join(homedir(), '.local', 'share', 'berth-agent'),
    cluster: pick('cluster') ?? env.BERTH_CLUSTER ?? 'default',
    labels,
    reservedCpu: int('reserved-cpu', pick('reserved-cpu'), 0),
    reservedMemoryMib: int('reserved-memory', pick('reserved-memory'), 256),
    dockerHost: pick('docker-host') ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    bindIp: pick('bind-ip') ?? '0.0.0.0',
    logLevel: level,
    imagePull,
    pauseImage: pick('pause-image') ?? DEFAULT_PAUSE_IMAGE,
    statsIntervalMs: int('stats-interval', pick('stats-interval'), 15) * 1000,
    secretsDir: pick('secrets-dir') ?? '',
    caFile: pick('ca-file') ?? env.BERTH_CA ?? '',
    token: pick('token') ?? env.BERTH_TOKEN ?? '',
    insecure: v.insecure ?? (file.insecure === true || env.BERTH_INSECURE === '1'),
    drain: v.drain ?? file.drain === true,
    haproxy: pick('haproxy') || env.BERTH_HAPROXY || 'haproxy',
    ...(Object.keys(file).length > 0 ? { configFile: configPath ?? DEFAULT_CONFIG_FILE } : {}),
  };
}
