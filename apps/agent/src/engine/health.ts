/** Docker's health -> ECS's container healthStatus ('' when the container has no health check). */
export function containerHealth(h: 'healthy' | 'unhealthy' | 'starting' | undefined): string {
  if (h === 'healthy') return 'HEALTHY';
  if (h === 'unhealthy') return 'UNHEALTHY';
  if (h === 'starting') return 'UNKNOWN';
  return '';
}
