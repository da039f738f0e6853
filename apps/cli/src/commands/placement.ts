import { UsageError } from '../errors.js';

/**
 * ECS placement flags as users write them, shared by `task run` and the
 * `service` commands: --placement-constraint and --placement-strategy.
 */

export const PLACEMENT_USAGE =
  "[--placement-constraint distinctInstance | 'memberOf:EXPRESSION' ...] [--placement-strategy binpack:memory | spread:attribute:zone | spread:instanceId | random ...]";

export const PLACEMENT_OPTIONS = {
  'placement-constraint': { type: 'string', multiple: true },
  'placement-strategy': { type: 'string', multiple: true },
} as const;

/** "distinctInstance" or "memberOf:EXPRESSION" (ECS's two constraint types). */
export function parseConstraint(v: string): { type: string; expression: string } {
  if (v === 'distinctInstance') return { type: 'distinctInstance', expression: '' };
  const m = /^memberOf:(.+)$/s.exec(v);
  if (!m) throw new UsageError(`--placement-constraint: must be distinctInstance or memberOf:EXPRESSION (e.g. 'memberOf:attribute:ecs.cpu-architecture == arm64'), got ${JSON.stringify(v)}`);
  return { type: 'memberOf', expression: m[1]!.trim() };
}

/** "binpack:memory", "spread:attribute:zone", "spread:instanceId", "random". */
export function parseStrategy(v: string): { type: string; field: string } {
  const i = v.indexOf(':');
  const type = i < 0 ? v : v.slice(0, i);
  if (!['binpack', 'spread', 'random'].includes(type)) {
    throw new UsageError(`--placement-strategy: must be binpack:cpu|memory, spread:instanceId|attribute:NAME or random, got ${JSON.stringify(v)}`);
  }
  return { type, field: i < 0 ? '' : v.slice(i + 1) };
}

/** The placement flags parsed (proto shape: empty expression/field when there is none). */
export function placementFlags(flags: Record<string, unknown>): { placementConstraints: { type: string; expression: string }[]; placementStrategy: { type: string; field: string }[] } {
  return {
    placementConstraints: ((flags['placement-constraint'] as string[] | undefined) ?? []).map(parseConstraint),
    placementStrategy: ((flags['placement-strategy'] as string[] | undefined) ?? []).map(parseStrategy),
  };
}
