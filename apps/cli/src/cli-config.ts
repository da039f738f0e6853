import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The CLI's contexts (as kubectl's kubeconfig): per context a server, the
 * cluster CA it trusts, and (later) a token. One file, 0600, at
 * ~/.config/berth/config.json (BERTH_CONFIG to move it).
 */
export interface CliContext {
  server: string;
  /** The cluster CA, PEM. */
  ca?: string;
  insecure?: boolean;
  /** The API token (berth login --token). */
  token?: string;
}

export interface CliConfig {
  current?: string;
  contexts: Record<string, CliContext>;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return env.BERTH_CONFIG ?? join(env.HOME ?? homedir(), '.config', 'berth', 'config.json');
}

export function loadConfig(env: NodeJS.ProcessEnv): CliConfig {
  const path = configPath(env);
  if (!existsSync(path)) return { contexts: {} };
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as CliConfig;
    return { current: c.current, contexts: c.contexts ?? {} };
  } catch (err) {
    throw new Error(`${path}: not a Berth CLI config (${(err as Error).message}); fix it or remove it and log in again`);
  }
}

export function saveContext(env: NodeJS.ProcessEnv, name: string, ctx: CliContext, makeCurrent = true): string {
  const path = configPath(env);
  const config = loadConfig(env);
  config.contexts[name] = ctx;
  if (makeCurrent || !config.current) config.current = name;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** The context in use: BERTH_CONTEXT, else the current one. */
export function currentContext(env: NodeJS.ProcessEnv): CliContext | undefined {
  const config = loadConfig(env);
  const name = env.BERTH_CONTEXT ?? config.current;
  return name ? config.contexts[name] : undefined;
}
