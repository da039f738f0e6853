#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { runCli } from './cli.js';
import { grpcApi } from './client.js';
import { quietTlsServerNameWarning } from '@berth/transport';

quietTlsServerNameWarning();

// Output piped into something that stopped reading (`berth logs -f TASK | head`): end quietly.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// No top-level await: the single executable runs this file as CommonJS.
void runCli(
  process.argv.slice(2),
  {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readFile: (p) => readFileSync(p, 'utf8'),
    readFileBytes: (p) => readFileSync(p),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    stdinIsTTY: isatty(0),
    writeBytes: (stream, data) => {
      const s = stream === 'stderr' ? process.stderr : process.stdout;
      if (!s.write(data)) return new Promise<void>((resolve) => s.once('drain', () => resolve()));
    },
    onInterrupt: (fn) => {
      process.once('SIGINT', fn);
      return () => process.off('SIGINT', fn);
    },
  },
  grpcApi,
  process.env,
).then((code) => {
  process.exitCode = code;
});
