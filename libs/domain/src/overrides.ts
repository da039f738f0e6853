import type { FieldError } from './errors.js';
import { validationFailed } from './errors.js';
import { parseCpuUnits, parseMemoryMib } from './resources.js';
import type { KeyValuePair, TaskDefinitionSpec } from './task-definition.js';

/** ECS TaskOverride / ContainerOverride, the fields RunTask accepts. */
export interface ContainerOverride {
  name: string;
  command?: string[];
  environment?: KeyValuePair[];
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
}

export interface TaskOverride {
  containerOverrides?: ContainerOverride[];
  cpu?: string;
  memory?: string;
}

/**
 * The effective definition a task runs: the registered one with the RunTask
 * overrides applied (environment merged by name, the rest replaced).
 * Throws a BerthError naming every override that does not fit.
 */
export function applyOverrides(spec: TaskDefinitionSpec, overrides: TaskOverride | undefined): TaskDefinitionSpec {
  if (!overrides) return spec;
  const errors: FieldError[] = [];
  const out: TaskDefinitionSpec = { ...spec, containerDefinitions: spec.containerDefinitions.map((c) => ({ ...c })) };
  if (overrides.cpu) {
    const v = parseCpuUnits(overrides.cpu);
    if (typeof v === 'string') errors.push({ path: 'overrides.cpu', rule: v, value: overrides.cpu });
    else out.cpu = String(v);
  }
  if (overrides.memory) {
    const v = parseMemoryMib(overrides.memory);
    if (typeof v === 'string') errors.push({ path: 'overrides.memory', rule: v, value: overrides.memory });
    else out.memory = String(v);
  }
  (overrides.containerOverrides ?? []).forEach((o, i) => {
    const at = `overrides.containerOverrides[${i}]`;
    const c = out.containerDefinitions.find((d) => d.name === o.name);
    if (!c) {
      const known = spec.containerDefinitions.map((d) => d.name).join(', ');
      errors.push({ path: `${at}.name`, rule: `must name a container of the task definition (${known})`, value: o.name });
      return;
    }
    if (o.command && o.command.length > 0) c.command = [...o.command];
    if (o.environment && o.environment.length > 0) {
      const env = new Map((c.environment ?? []).map((kv) => [kv.name, kv.value]));
      for (const kv of o.environment) env.set(kv.name, kv.value);
      c.environment = [...env].map(([name, value]) => ({ name, value }));
    }
    if (o.cpu !== undefined) c.cpu = o.cpu;
    if (o.memory !== undefined) {
      if (o.memory < 6) errors.push({ path: `${at}.memory`, rule: 'must be at least 6 MiB', value: o.memory });
      c.memory = o.memory;
    }
    if (o.memoryReservation !== undefined) c.memoryReservation = o.memoryReservation;
  });
  if (errors.length > 0) throw validationFailed('invalid overrides', errors);
  return out;
}
