import type { ContainerDefinition } from '@berth/domain';

type Def = Pick<ContainerDefinition, 'name' | 'dependsOn'>;

/**
 * dependsOn levels: 0 for a container that depends on nothing, else one more
 * than its deepest dependency. Cycles are refused at registration; here a
 * cycle (or a missing name) simply stops the recursion.
 */
export function dependencyLevels(defs: Def[]): Map<string, number> {
  const byName = new Map(defs.map((c) => [c.name, c]));
  const levels = new Map<string, number>();
  const visit = (name: string, path: Set<string>): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    if (path.has(name)) return 0;
    path.add(name);
    const deps = (byName.get(name)?.dependsOn ?? []).filter((d) => byName.has(d.containerName));
    const level = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => visit(d.containerName, path)));
    path.delete(name);
    levels.set(name, level);
    return level;
  };
  for (const c of defs) visit(c.name, new Set());
  return levels;
}

/** Container names in an order that starts dependencies first (definition order within a level). */
export function startOrder(defs: Def[]): string[] {
  const levels = dependencyLevels(defs);
  return defs.map((c, i) => ({ name: c.name, i, level: levels.get(c.name) ?? 0 })).sort((a, b) => a.level - b.level || a.i - b.i).map((x) => x.name);
}

/** Levels for shutdown: the engine stops the highest level first (dependents before what they depend on). */
export function stopLevels(defs: Def[]): Map<string, number> {
  return dependencyLevels(defs);
}
