/** Labels on every container Berth starts; a restarted agent finds (adopts) its containers by them. */
export const LABEL_MANAGED = 'berth.managed';
export const LABEL_TASK_ID = 'berth.task-id';
export const LABEL_TASK_ARN = 'berth.task-arn';
export const LABEL_CLUSTER = 'berth.cluster';
export const LABEL_CONTAINER_NAME = 'berth.container-name';
export const LABEL_FAMILY = 'berth.family';
export const LABEL_REVISION = 'berth.revision';
/** The node the container belongs to: agents sharing one engine (tests, a second identity) never touch each other's. */
export const LABEL_NODE_ID = 'berth.node-id';

/** Deterministic, so a second create for the same task container conflicts instead of duplicating. */
export function dockerNameFor(taskId: string, containerName: string): string {
  return `berth-${taskId}-${containerName}`;
}
/** Set on helper containers (the awsvpc namespace holder); task containers have none. */
export const LABEL_ROLE = 'berth.role';
/** The container-name label of the awsvpc namespace holder ('.' cannot appear in an ECS container name). */
export const PAUSE_CONTAINER_NAME = '.pause';

export function pauseNameFor(taskId: string): string {
  return `berth-${taskId}.pause`;
}

/** A task-scoped Docker volume: one per task, removed with it. */
export function taskVolumeName(taskId: string, volume: string): string {
  return `berth-${taskId}-${volume}`;
}
