#!/usr/bin/env node
// `npm start`: builds, then runs the control plane on the embedded store and one
// local agent, with their logs made readable. Ctrl-C stops both; containers
// keep running (the agent adopts them when it starts again).
import { spawn, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..');
const env = process.env;
const grpcPort = env.BERTH_GRPC_PORT ?? '7400';
const httpPort = env.BERTH_HTTP_PORT ?? '7401';
const ecsPort = env.BERTH_ECS_PORT ?? '7402';
const listen = env.BERTH_LISTEN ?? '127.0.0.1';
const dataDir = env.BERTH_DATA_DIR ?? join(homedir(), '.local', 'share', 'berth');
const agentDataDir = env.BERTH_AGENT_DATA_DIR ?? join(homedir(), '.local', 'share', 'berth-agent');
const color = process.stdout.isTTY;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

console.log(paint(1, 'berth: building (nx build, cached after the first time)...'));
const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', '@berth/control-plane', '@berth/agent', '@berth/cli', '--outputStyle=static'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (build.status !== 0) {
  process.stdout.write(build.stdout);
  console.error('berth: the build failed (output above)');
  process.exit(1);
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

/** pino JSON lines -> "name  level  message key=value". */
function pipeLogs(child, name, tint) {
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      let out = line;
      try {
        const rec = JSON.parse(line);
        const level = LEVELS[rec.level] ?? rec.level;
        const extra = Object.entries(rec)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
          .join(' ');
        const lv = level === 'info' ? level : paint(level === 'warn' ? 33 : 31, level);
        out = `${lv.padEnd(color && level !== 'info' ? 14 : 5)} ${rec.msg ?? ''}${extra ? `  ${paint(2, extra)}` : ''}`;
      } catch {
        // not JSON: print as is
      }
      console.log(`${paint(tint, name.padEnd(13))} ${out}`);
    });
  }
}

const children = [];
function start(name, tint, script, args) {
  const child = spawn(process.execPath, [join(root, script), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  pipeLogs(child, name, tint);
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`berth: ${name} exited (${signal ?? code}); stopping`);
    shutdown(code ?? 1);
  });
  return child;
}

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

// At the first start the control plane makes the first admin API token; it goes into the local user's
// CLI context below (and the file is removed), so it is shown nowhere else.
const bootstrapTokenFile = join(dataDir, 'bootstrap-admin-token');
start('control-plane', 36, 'apps/control-plane/dist/main.js', ['--listen', listen, '--grpc-port', grpcPort, '--http-port', httpPort, '--ecs-port', ecsPort, '--data-dir', dataDir, '--bootstrap-token-file', bootstrapTokenFile]);

// Start the agent once the control plane is ready, then tell the user what to do next.
const readyUrl = `http://127.0.0.1:${httpPort}/readyz`;
const deadline = Date.now() + 60_000;
for (;;) {
  try {
    if ((await fetch(readyUrl)).ok) break;
  } catch {
    // not up yet
  }
  if (stopping) await new Promise(() => {});
  if (Date.now() > deadline) {
    console.error(`berth: the control plane did not become ready at ${readyUrl} within 60 s`);
    shutdown(1);
    await new Promise(() => {});
  }
  await new Promise((r) => setTimeout(r, 200));
}
// TLS with the cluster CA the control plane made at first start: the local agent trusts it, and the
// local user's CLI gets a context for it (0600, as k3s writes its kubeconfig), so `berth` works at once.
const caFile = join(dataDir, 'pki', 'ca.crt');
const configFile = env.BERTH_CONFIG ?? join(homedir(), '.config', 'berth', 'config.json');
let config = { contexts: {} };
try {
  config = JSON.parse(readFileSync(configFile, 'utf8'));
} catch {
  // none yet
}
const previous = config.contexts?.local;
let token = previous?.server === `127.0.0.1:${grpcPort}` ? previous.token : undefined;
if (existsSync(bootstrapTokenFile)) {
  token = readFileSync(bootstrapTokenFile, 'utf8').trim();
  rmSync(bootstrapTokenFile);
}
config.contexts = { ...(config.contexts ?? {}), local: { server: `127.0.0.1:${grpcPort}`, ca: readFileSync(caFile, 'utf8'), ...(token ? { token } : {}) } };
config.current ??= 'local';
mkdirSync(dirname(configFile), { recursive: true, mode: 0o700 });
writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
chmodSync(configFile, 0o600);

// The local agent joins with a one-use token the first time (afterwards its certificate is in its data directory).
const agentArgs = ['--server', `127.0.0.1:${grpcPort}`, '--data-dir', agentDataDir];
if (!existsSync(join(agentDataDir, 'node.crt'))) {
  const made = spawnSync(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'token', 'create', '--uses', '1', '--ttl', '10m'], {
    cwd: root,
    env: { ...env, BERTH_CONFIG: configFile, BERTH_CONTEXT: 'local' },
    encoding: 'utf8',
  });
  if (made.status !== 0) {
    console.error(`berth: could not make a join token for the local agent: ${made.stderr}`);
    shutdown(1);
    await new Promise(() => {});
  }
  agentArgs.push('--token', made.stdout.trim());
}
start('agent', 35, 'apps/agent/dist/main.js', agentArgs);

console.log(`
${paint(1, 'Berth is running.')}
  control plane  gRPC ${listen}:${grpcPort}   health http://127.0.0.1:${httpPort}/readyz
  ECS API        https://${listen}:${ecsPort} (AWS CLI and SDKs: npx berth aws-profile, then aws --profile berth ecs ...)
  embedded store ${dataDir}
  local agent    data in ${agentDataDir}
  TLS            cluster CA ${caFile}; CLI context "local" in ${configFile}${config.current === 'local' ? '' : ` (current: ${config.current}; berth context use local)`}

In another shell, try:
  npx berth node ls
  npx berth taskdef register -f examples/hello-web.json
  npx berth task run hello-web
  npx berth task ls

Ctrl-C stops the control plane and the agent; containers keep running.
`);
