import type { ContainerDefinition } from './task-definition.js';

/**
 * ECS's task healthStatus from its containers': UNHEALTHY when any essential
 * container with a health check is UNHEALTHY, HEALTHY when all of them are
 * HEALTHY, UNKNOWN otherwise (also when no essential container has one).
 */
export function taskHealthStatus(
  defs: Pick<ContainerDefinition, 'name' | 'essential' | 'healthCheck'>[],
  containers: { name: string; healthStatus?: string }[],
): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' {
  const checked = defs.filter((d) => d.essential !== false && d.healthCheck && d.healthCheck.command.length > 0 && d.healthCheck.command[0] !== 'NONE');
  if (checked.length === 0) return 'UNKNOWN';
  const health = checked.map((d) => containers.find((c) => c.name === d.name)?.healthStatus ?? '');
  if (health.includes('UNHEALTHY')) return 'UNHEALTHY';
  return health.every((h) => h === 'HEALTHY') ? 'HEALTHY' : 'UNKNOWN';
}
