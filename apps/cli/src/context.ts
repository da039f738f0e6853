import type { ClientTls } from '@berth/transport';
import type { Api } from './client.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readFile(path: string): string;
  /** A file's bytes, unchanged (secret put --from-file); default: readFile's text as UTF-8. */
  readFileBytes?(path: string): Buffer;
  /** Standard input read to its end (secret put); absent: there is no stdin to read. */
  readStdin?(): Promise<Buffer>;
  /** Standard input is a terminal: secret put will not read a value from it. */
  stdinIsTTY?: boolean;
  /** Raw bytes to stdout or stderr (logs); resolves when the terminal or pipe can take more. */
  writeBytes?(stream: 'stdout' | 'stderr', data: Uint8Array): void | Promise<void>;
  /** Calls `fn` on Ctrl-C instead of exiting; returns the undo. */
  onInterrupt?(fn: () => void): () => void;
  /** Waits between polls (service --wait; default setTimeout). Tests pass a fake clock with `now`. */
  sleep?(ms: number): Promise<void>;
  /** Milliseconds since the epoch (default Date.now). */
  now?(): number;
}

/** What a command gets: its parsed flags and positionals, the API, where to write. */
export interface CommandContext {
  api: Api;
  io: Io;
  /** The control plane and how it is reached (for `login`, which records them). */
  server: string;
  tls: ClientTls;
  env: NodeJS.ProcessEnv;
  cluster: string;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
}

export interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  /** Resolves with nothing (exit 0) or an exit code; throws for exit 1 and 2 (see errors.ts). */
  run(ctx: CommandContext): Promise<void | number>;
}

/** Pretty JSON for scripts. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
