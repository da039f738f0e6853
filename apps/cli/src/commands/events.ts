import { Event } from '@berth/proto';
import { UsageError } from '../errors.js';
import type { Command } from '../context.js';

/** Without --since, how many of the newest events to start with. */
export const DEFAULT_LAST_EVENTS = 20;

/** One line per event: id, time, kind, subject, message. */
export function eventLine(e: Event): string {
  const at = e.at ? e.at.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
  return `${String(e.id).padStart(6)}  ${at}  ${e.kind.padEnd(17)}  ${e.message}\n`;
}

export const eventCommands: Record<string, Command> = {
  events: {
    usage: 'berth events [-f] [--since ID | --last N]',
    summary: `print the cluster's events (the newest ${DEFAULT_LAST_EVENTS} unless --since/--last); -f keeps following`,
    options: {
      follow: { type: 'boolean', short: 'f' },
      since: { type: 'string' },
      last: { type: 'string' },
    },
    async run({ api, io, json, cluster, flags }) {
      const since = flags.since as string | undefined;
      const lastFlag = flags.last as string | undefined;
      if (since !== undefined && lastFlag !== undefined) throw new UsageError('events: give --since or --last, not both');
      if (since !== undefined && !/^\d+$/.test(since)) throw new UsageError(`--since: must be an event id (a whole number), got ${JSON.stringify(since)}`);
      if (lastFlag !== undefined && !/^\d+$/.test(lastFlag)) throw new UsageError(`--last: must be a whole number, got ${JSON.stringify(lastFlag)}`);
      const afterId = since !== undefined ? Number(since) : 0;
      // --since 0 means everything kept; no flag means the newest few.
      const last = since !== undefined ? 0 : lastFlag !== undefined ? Number(lastFlag) : DEFAULT_LAST_EVENTS;
      if (since === undefined && last === 0) throw new UsageError('--last: must be at least 1 (use --since 0 for every event kept)');
      await api.watchEvents({ cluster, afterId, last, follow: flags.follow === true }, (e) =>
        io.out(json ? `${JSON.stringify(Event.toJSON(e))}\n` : eventLine(e)),
      );
    },
  },
};
