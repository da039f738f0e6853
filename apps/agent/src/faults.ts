import type { ContainerRuntime } from './runtime/container-runtime.js';

/**
 * Fault injection for the fault suite (apps/e2e/src/engine-faults.itest.ts). Off unless the
 * environment variable BERTH_AGENT_FAULT names a point; nothing else reads it.
 *
 *   exit-after-create   the agent SIGKILLs itself right after the engine created a container,
 *                       before it is started: the crash that leaves a container "created", which
 *                       the next agent must adopt (start), never create again.
 *
 * An unknown name is refused at start, so a typo cannot pass for a test of nothing.
 */
export const FAULT_ENV = 'BERTH_AGENT_FAULT';
export const FAULT_POINTS = ['exit-after-create'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Arms the named fault on the runtime (wrapping its verbs); returns the point armed, if any. */
export function injectFaults(
  runtime: Pick<ContainerRuntime, 'create'>,
  fault: string | undefined,
  die: () => void = () => process.kill(process.pid, 'SIGKILL'),
): FaultPoint | undefined {
  if (!fault) return undefined;
  if (!(FAULT_POINTS as readonly string[]).includes(fault)) {
    throw new Error(`${FAULT_ENV}: unknown fault ${JSON.stringify(fault)} (known: ${FAULT_POINTS.join(', ')})`);
  }
  const create = runtime.create.bind(runtime);
  runtime.create = async (spec) => {
    const id = await create(spec);
    die();
    return id;
  };
  return fault as FaultPoint;
}
