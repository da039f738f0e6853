import type { GetTaskLogsRequest } from '@berth/proto';
import { UsageError } from '../errors.js';
import type { Command, CommandContext } from '../context.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * --since: a duration back from now (30s, 10m, 2h, 1d, 1h30m) or a time
 * (2026-01-02T15:04:05Z, 2026-01-02T15:04:05+01:00, 2026-01-02).
 */
export function parseSince(flag: string, now: Date): Date {
  const text = flag.trim();
  if (/^(\d+[smhd])+$/.test(text)) {
    let seconds = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(n) * UNIT_SECONDS[unit!]!;
    return new Date(now.getTime() - seconds * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--since: must be a duration (30s, 10m, 2h, 1h30m) or a time (2026-01-02T15:04:05Z), got ${JSON.stringify(flag)}`);
}

/** --tail: how many of the last lines (a whole number), or "all". */
export function parseTail(flag: string | undefined): number | undefined {
  if (flag === undefined || flag === 'all') return undefined;
  if (!/^\d+$/.test(flag) || Number(flag) > 0xffff_ffff) throw new UsageError(`--tail: must be a whole number of lines (or all), got ${JSON.stringify(flag)}`);
  return Number(flag);
}

/** The GetTaskLogs request for a command line (`now` anchors --since durations). */
export function logsRequest(ctx: Pick<CommandContext, 'args' | 'flags' | 'cluster'>, now: Date): Partial<GetTaskLogsRequest> {
  const { args, flags, cluster } = ctx;
  if (args.length !== 1) throw new UsageError(args.length === 0 ? 'logs: name the task (its id or ARN)' : `logs: one task at a time, got ${args.length}`);
  const since = flags.since as string | undefined;
  return {
    cluster,
    task: args[0]!,
    containerName: (flags.container as string | undefined) ?? '',
    tail: parseTail(flags.tail as string | undefined),
    since: since === undefined ? undefined : parseSince(since, now),
    follow: flags.follow === true,
    timestamps: flags.timestamps === true,
  };
}

export const logsCommands: Record<string, Command> = {
  logs: {
    usage: 'berth logs TASK [-f] [--container NAME] [--tail N] [--since 10m|TIME] [--timestamps]',
    summary: "print a task container's output (stdout to stdout, stderr to stderr; default: its first essential container); -f keeps following",
    options: {
      follow: { type: 'boolean', short: 'f' },
      container: { type: 'string' },
      tail: { type: 'string' },
      since: { type: 'string' },
      timestamps: { type: 'boolean' },
    },
    async run({ api, io, json, cluster, args, flags }) {
      if (json) throw new UsageError('logs: --output json is not supported; logs are printed as the container wrote them');
      const req = logsRequest({ args, flags, cluster }, new Date());
      // Ctrl-C ends the stream (the node stops reading) and the command, quietly.
      const interrupted = new AbortController();
      const stopListening = io.onInterrupt?.(() => interrupted.abort());
      try {
        await api.getTaskLogs(
          req,
          (c) => {
            const stream = c.stream === 'stderr' ? 'stderr' : 'stdout';
            if (io.writeBytes) return io.writeBytes(stream, c.data);
            (stream === 'stderr' ? io.err : io.out)(Buffer.from(c.data).toString('utf8'));
          },
          interrupted.signal,
        );
      } finally {
        stopListening?.();
      }
    },
  },
};
