import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from './services/context.js';
import { registerTaskDefinitionOp, resolveTaskDefinition, toTaskDefinition } from './services/task-definitions.js';
import { startControlPlane, type ControlPlane } from './server.js';
import { DEFAULT_ARN_CONTEXT, systemClock } from '@berth/domain';

/** Every task definition in the public ECS examples registers, and what describe prints registers again unchanged. */
const examplesPath = join(import.meta.dirname, '..', 'test-fixtures', 'aws-api-models', 'ecs.examples-1.json');
const examples = JSON.parse(readFileSync(examplesPath, 'utf8')).examples as Record<string, { input: unknown; output?: { taskDefinition?: unknown } }[]>;
const documents: { name: string; json: unknown }[] = [
  ...(examples.RegisterTaskDefinition ?? []).map((e, i) => ({ name: `RegisterTaskDefinition input ${i}`, json: e.input })),
  ...(examples.DescribeTaskDefinition ?? []).map((e, i) => ({ name: `DescribeTaskDefinition output ${i}`, json: e.output })),
];

describe('ECS example task definitions', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-examples-'));
  let cp: ControlPlane;
  let ctx: AppContext;
  beforeAll(async () => {
    const log = pino({ level: 'silent' });
    cp = await startControlPlane({ listen: '127.0.0.1', grpcPort: 0, httpPort: 0, dataDir, heartbeatIntervalMs: 1000, resyncIntervalMs: 60_000, random: { next: Math.random, bytes: (n) => randomBytes(n) }, log });
    ctx = { db: cp.db, arn: DEFAULT_ARN_CONTEXT, clock: systemClock, random: { next: Math.random, bytes: (n) => randomBytes(n) }, log, nodesChanged: () => {} };
  });
  afterAll(async () => {
    await cp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('has examples to check', () => {
    expect(documents.length).toBeGreaterThanOrEqual(2);
  });

  it.each(documents)('$name registers and round-trips through describe', async ({ json }) => {
    const first = await registerTaskDefinitionOp(ctx, JSON.stringify(json));
    const described = toTaskDefinition(ctx, await resolveTaskDefinition(ctx, `${first.record.family}:${first.record.revision}`));
    // Register exactly what describe printed (the describe-task-definition shape).
    const second = await registerTaskDefinitionOp(ctx, JSON.stringify({ taskDefinition: described }));
    expect(second.record.revision).toBe(first.record.revision + 1);
    expect(second.record.spec).toEqual(first.record.spec);
    expect(second.warnings).toEqual(first.warnings);
  });
});
