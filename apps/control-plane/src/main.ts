#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BERTH_VERSION, MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION } from '@berth/proto';
import { isTypeFetchCutOff, type EmbeddedStoreFiles } from '@berth/store';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT } from '@berth/transport';
import { pino } from 'pino';
import { startControlPlane } from './server.js';
import { DEFAULT_ECS_PORT } from './ecs-api/ecs-server.js';

const HELP = `berth-control-plane: the Berth control plane

Options:
  --listen ADDR              address to listen on (default 0.0.0.0; BERTH_LISTEN)
  --grpc-port PORT           gRPC API and agent port (default ${DEFAULT_GRPC_PORT}; BERTH_GRPC_PORT)
  --http-port PORT           health endpoints /healthz, /readyz (default ${DEFAULT_HTTP_PORT}; BERTH_HTTP_PORT)
  --ecs-port PORT|off        the ECS API (AWS JSON 1.1, SigV4: the AWS CLI and SDKs) (default ${DEFAULT_ECS_PORT};
                             BERTH_ECS_PORT); off: no ECS endpoint
  --ecs-rate-limit N         calls per second per AWS access key on the ECS endpoint (default 100)
  --region NAME              the region in ARNs (default local; BERTH_REGION): set it to the region your
                             AWS tools are configured with
  --account-id ID            the 12-digit account id in ARNs (default 000000000000; BERTH_ACCOUNT_ID)
  --database-url URL         Postgres URL (DATABASE_URL); without it the embedded store is used
  --data-dir DIR             embedded store directory (default ~/.local/share/berth; BERTH_DATA_DIR)
  --secrets-key-file FILE    AES-256 keys for secrets, one per line, the first encrypts (default
                             DATA_DIR/secrets.key, made at first start; or BERTH_SECRETS_KEYS)
  --heartbeat-interval SECS  how often agents report (default 5)
  --reconnect-allowance SECS after a start, how long agents get to reconnect before any node's
                             grace counts (default 30: the agents' longest reconnect backoff)
  --insecure                 gRPC without TLS (a warning is logged); by default TLS with the cluster
                             PKI made at first start in DATA_DIR/pki
  --advertise-address ADDR   a name or address agents and users dial, added to the server certificate
                             (repeatable, or comma-separated in BERTH_ADVERTISE_ADDRESS; loopback, the
                             hostname and the host's addresses are always in)
  --tls-san NAME             another name or address for the server certificate (repeatable)
  --node-cert-lifetime D     how long node certificates last (default 365d; e.g. 90d, 12h); agents
                             renew at two thirds of it
  --bootstrap-token-file F   at the first start (no API token yet), also write the first admin token
                             there (0600) besides printing it once
  --log-level LEVEL          trace, debug, info, warn, error (default info; BERTH_LOG_LEVEL)
  --version                  print the release, agent protocol versions and platform, and exit
  -h, --help                 this help
`;

/**
 * In the single executable the embedded store's files (PGlite's WebAssembly and data) are
 * assets inside it; elsewhere they are found beside PGlite's code (or the bundle).
 */
function embeddedStoreFiles(): EmbeddedStoreFiles | undefined {
  let sea: { isSea(): boolean; getRawAsset(key: string): ArrayBuffer } | undefined;
  try {
    sea = createRequire(import.meta.url)('node:sea') as typeof sea;
  } catch {
    return undefined; // Node before 20.12: no single executables with assets
  }
  if (!sea?.isSea()) return undefined;
  const asset = (key: string) => new Uint8Array(sea.getRawAsset(key));
  return { pgliteWasm: asset('pglite.wasm'), initdbWasm: asset('initdb.wasm'), pgliteData: asset('pglite.data') };
}

function fail(message: string): never {
  process.stderr.write(`berth-control-plane: ${message}\n`);
  process.exit(2);
}

function port(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name}: must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return n;
}

// One async start (no top-level await): the bundle is also built as CommonJS.
async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        listen: { type: 'string' },
        'grpc-port': { type: 'string' },
        'http-port': { type: 'string' },
        'ecs-port': { type: 'string' },
        'ecs-rate-limit': { type: 'string' },
        region: { type: 'string' },
        'account-id': { type: 'string' },
        'database-url': { type: 'string' },
        'data-dir': { type: 'string' },
        'secrets-key-file': { type: 'string' },
        insecure: { type: 'boolean' },
        'advertise-address': { type: 'string', multiple: true },
        'tls-san': { type: 'string', multiple: true },
        'bootstrap-token-file': { type: 'string' },
        'node-cert-lifetime': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'reconnect-allowance': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${(err as Error).message} (see --help)`);
  }
  if (args.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (args.version) {
    process.stdout.write(`berth-control-plane ${BERTH_VERSION} (agent protocol ${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION}, Node ${process.version}, ${process.platform}/${process.arch})\n`);
    process.exit(0);
  }

  const env = process.env;

  /** --node-cert-lifetime 365d | 12h | 90s -> days. */
  function lifetimeDays(v: string | undefined): number | undefined {
    if (v === undefined) return undefined;
    const m = /^(\d+)(d|h|m|s)$/.exec(v.trim());
    const seconds = m ? Number(m[1]) * { d: 86_400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'] : NaN;
    if (!(seconds >= 60 && seconds <= 10 * 365 * 86_400)) fail(`--node-cert-lifetime: must be a duration from 60s to 3650d (e.g. 365d, 12h), got ${JSON.stringify(v)}`);
    return seconds / 86_400;
  }
  const hb = Number(args['heartbeat-interval'] ?? '5');
  if (!(hb >= 1 && hb <= 300)) fail(`--heartbeat-interval: must be 1-300 seconds, got ${args['heartbeat-interval']}`);
  const allowance = Number(args['reconnect-allowance'] ?? '30');
  if (!(Number.isInteger(allowance) && allowance >= 0 && allowance <= 3600)) fail(`--reconnect-allowance: must be 0-3600 seconds, got ${args['reconnect-allowance']}`);
  const log = pino({ level: args['log-level'] ?? env.BERTH_LOG_LEVEL ?? 'info', base: { component: 'control-plane' }, redact: { paths: ['secrets', '*.secrets', '*.*.secrets', 'value', '*.value'], censor: '[redacted]' } });
  const listen = args.listen ?? env.BERTH_LISTEN ?? '0.0.0.0';
  // A Postgres connection cut while postgres.js reads its types is a rejection nothing awaits (upstream);
  // it must not end the control plane. Any other unhandled rejection still does, as Node's default.
  process.on('unhandledRejection', (reason) => {
    if (isTypeFetchCutOff(reason)) return void log.warn({ reason: (reason as Error).message }, 'a database connection was cut while it opened; it is retried');
    log.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });
  const ecsPortArg = args['ecs-port'] ?? env.BERTH_ECS_PORT ?? String(DEFAULT_ECS_PORT);
  const ecsPort = ecsPortArg === 'off' ? undefined : port('ecs-port', ecsPortArg);
  const ecsRate = Number(args['ecs-rate-limit'] ?? '100');
  if (!(Number.isInteger(ecsRate) && ecsRate >= 1 && ecsRate <= 1_000_000)) fail(`--ecs-rate-limit: must be 1-1000000 calls per second, got ${args['ecs-rate-limit']}`);
  const region = args.region ?? env.BERTH_REGION ?? 'local';
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(region)) fail(`--region: must be 1-32 lower-case letters, digits and hyphens (e.g. us-east-1, local), got ${JSON.stringify(region)}`);
  const account = args['account-id'] ?? env.BERTH_ACCOUNT_ID ?? '000000000000';
  if (!/^\d{12}$/.test(account)) fail(`--account-id: must be 12 digits, got ${JSON.stringify(account)}`);

  try {
    const cp = await startControlPlane({
      listen,
      grpcPort: port('grpc-port', args['grpc-port'] ?? env.BERTH_GRPC_PORT ?? String(DEFAULT_GRPC_PORT)),
      httpPort: port('http-port', args['http-port'] ?? env.BERTH_HTTP_PORT ?? String(DEFAULT_HTTP_PORT)),
      ecsPort,
      ecsRateLimit: ecsRate,
      arn: { region, account },
      databaseUrl: args['database-url'] ?? env.DATABASE_URL,
      embeddedStoreFiles: embeddedStoreFiles(),
      secretsKeyFile: args['secrets-key-file'] ?? env.BERTH_SECRETS_KEY_FILE,
      tls: !(args.insecure ?? env.BERTH_INSECURE === '1'),
      nodeCertDays: lifetimeDays(args['node-cert-lifetime']),
      tlsNames: [
        ...(args['advertise-address'] ?? (env.BERTH_ADVERTISE_ADDRESS ?? '').split(',').map((a) => a.trim()).filter(Boolean)),
        ...(args['tls-san'] ?? []),
      ],
      onBootstrapToken: (token) => {
        // Printed once, not logged: logs are kept and shipped; this is the key to the cluster.
        process.stderr.write(`\nberth: the first admin API token (shown once, stored only as a hash):\n\n    ${token}\n\n  berth login --server HOST:${args['grpc-port'] ?? DEFAULT_GRPC_PORT} --ca DATA_DIR/pki/ca.crt --token ${token.slice(0, 12)}...\n\n`);
        const file = args['bootstrap-token-file'];
        if (file) writeFileSync(file, `${token}\n`, { mode: 0o600 });
      },
      secretsKeys: env.BERTH_SECRETS_KEYS,
      dataDir: args['data-dir'] ?? env.BERTH_DATA_DIR ?? join(homedir(), '.local', 'share', 'berth'),
      heartbeatIntervalMs: hb * 1000,
      reconnectAllowanceMs: allowance * 1000,
      resyncIntervalMs: 5 * 60_000,
      random: { next: Math.random, bytes: (n) => randomBytes(n) },
      log,
    });
    log.info({ grpc: `${listen}:${cp.grpcPort}`, http: `${listen}:${cp.httpPort}`, ecs: cp.ecsPort === undefined ? 'off' : `${listen}:${cp.ecsPort}`, store: cp.db.kind }, 'control plane ready');
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down (agents and their containers keep running)');
      cp.close().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.debug({ err }, 'control plane failed to start');
    if (e.code === 'EADDRINUSE') fail(`cannot start: a port is already in use (${e.message}); is another control plane running? Use --grpc-port / --http-port / --ecs-port`);
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND') fail(`cannot start: the database is unreachable (${e.message}); check DATABASE_URL`);
    fail(`cannot start: ${e.message}`);
  }
}
void main();
