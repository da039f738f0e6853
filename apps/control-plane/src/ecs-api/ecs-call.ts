import type { EcsOperationName, EcsOperationTypes } from '@berth/ecs-model';
import { clusterOfArn, resourceId } from '@berth/domain';
import { decodeToken, encodeToken } from '@berth/store';
import type { AppContext } from '../services/context.js';
import { ecsError } from './ecs-errors.js';

/** What an operation handler gets beside its input. */
export interface EcsCall {
  ctx: AppContext;
  requestId: string;
  /** Who calls (the access key's name), for the log. */
  caller: string;
}

/** An operation's input, typed from the ECS model (already checked against it). */
export type In<Op extends EcsOperationName> = EcsOperationTypes[Op]['input'];

/** Responses are plain objects: `toWire` shapes them by the model (timestamps, unknown members). */
export type Json = Record<string, unknown>;

export type EcsHandler<Op extends EcsOperationName> = (input: In<Op>, call: EcsCall) => Promise<Json>;

export type EcsHandlers = { [Op in EcsOperationName]?: EcsHandler<Op> };

/**
 * The cluster an operation acts on: the one named, else the one in the first
 * resource ARN (a task ARN names its cluster), else the default cluster.
 */
export function clusterFor(cluster: string | undefined, refs: readonly (string | undefined)[] = []): string | undefined {
  const named = cluster ? resourceId(cluster) : undefined;
  let found: string | undefined;
  for (const r of refs) {
    const c = r ? clusterOfArn(r) : undefined;
    if (!c) continue;
    // An ARN of another cluster must not act on a same-named resource of this one.
    if ((named ?? found) !== undefined && c !== (named ?? found)) {
      throw ecsError('InvalidParameterException', `${r} is in cluster ${c}, not ${named ?? found}: name one cluster`);
    }
    found ??= c;
  }
  return cluster || found;
}

/** ECS's page sizes: the default when maxResults is absent, and the most it may ask for. */
export function ecsPageSize(maxResults: number | undefined, defaults: { default: number; max: number }): number {
  if (maxResults === undefined || maxResults === null) return defaults.default;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > defaults.max) {
    throw ecsError('InvalidParameterException', `maxResults: must be 1-${defaults.max}, got ${maxResults}`);
  }
  return maxResults;
}

/** A page of a list held in memory (small lists: clusters, attributes), with ECS's opaque nextToken. */
export function pageOf<T>(items: readonly T[], keyOf: (t: T) => string, nextToken: string | undefined, limit: number): { items: T[]; nextToken?: string } {
  const after = decodeToken(nextToken);
  if (after !== undefined && !(after.length === 1 && typeof after[0] === 'string')) throw ecsError('InvalidParameterException', 'nextToken: not a token this list returned');
  const from = after ? items.filter((t) => keyOf(t) > (after[0] as string)) : [...items];
  const page = from.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page, nextToken: from.length > limit && last ? encodeToken([keyOf(last)]) : undefined };
}
