import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskDefinitionSpec } from '@berth/domain';
import { startTestPostgres, type TestPostgres } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bumpGenerations,
  createCluster,
  desiredTasksForNode,
  getTaskDefinition,
  insertTaskDefinition,
  insertTasks,
  listClusters,
  listTaskDefinitions,
  listTasks,
  migrate,
  MIGRATIONS,
  nodeAllocations,
  openDatabase,
  setNodeDisconnected,
  updateTask,
  upsertNode,
  type Database,
} from './index.js';

const spec = (family: string): TaskDefinitionSpec => ({
  family,
  containerDefinitions: [{ name: 'web', image: 'busybox', memory: 64, portMappings: [{ containerPort: 80, hostPort: 8080 }] }],
});

const facts = { hostname: 'pi-1', os: 'linux', osVersion: '12', kernel: '6.1', arch: 'arm64', cpuCores: 4, cpuModel: 'Cortex-A72', memoryMib: 4096, diskTotalMib: 30000, dockerVersion: '20.10' };

interface Backend {
  name: string;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

let pg: TestPostgres | undefined;
const pgliteDir = mkdtempSync(join(tmpdir(), 'berth-pglite-'));
const backends: Backend[] = [
  {
    name: 'postgres 15',
    open: async () => {
      pg = await startTestPostgres();
      if (!pg) throw new Error('skip');
      return openDatabase({ url: pg.url });
    },
    cleanup: async () => pg?.stop(),
  },
  {
    name: 'embedded pglite',
    open: () => openDatabase({ dataDir: pgliteDir }),
    cleanup: async () => rmSync(pgliteDir, { recursive: true, force: true }),
  },
];

describe.each(backends)('store on $name', (backend) => {
  let db: Database | undefined;
  beforeAll(async () => {
    try {
      db = await backend.open();
    } catch (err) {
      if ((err as Error).message !== 'skip') throw err;
    }
  });
  afterAll(async () => {
    await db?.close();
    await backend.cleanup();
  });

  it('applies migrations once, even when two runs race', async () => {
    if (!db) return;
    const [a, b] = await Promise.all([migrate(db.sql), migrate(db.sql)]);
    expect([...a.applied, ...b.applied]).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await migrate(db.sql)).applied).toEqual([]);
    expect((await listClusters(db.sql)).map((c) => c.name)).toContain('default');
  });

  it('refuses a database a newer release migrated, saying what to do (a downgrade without a restore)', async () => {
    if (!db) return;
    const newer = [...MIGRATIONS, { version: 9_000, name: 'from-the-future', sql: 'CREATE TABLE future_feature (id int)' }];
    expect((await migrate(db.sql, newer)).applied).toEqual([9_000]);
    await expect(migrate(db.sql)).rejects.toThrow(/schema is at version 9000, made by a newer Berth release; this control plane knows versions up to \d+/);
    await db.sql`DELETE FROM schema_migrations WHERE version = 9000`;
    await db.sql`DROP TABLE future_feature`;
  });

  it('numbers task-definition revisions per family and lists them by key', async () => {
    if (!db) return;
    const sql = db.sql;
    const revs = await Promise.all([1, 2, 3].map(() => insertTaskDefinition(sql, spec('web'))));
    expect(revs.map((r) => r.revision).sort()).toEqual([1, 2, 3]);
    await insertTaskDefinition(sql, spec('db'));
    expect((await getTaskDefinition(sql, 'web'))?.revision).toBe(3);
    expect((await getTaskDefinition(sql, 'web', 2))?.spec.containerDefinitions[0]?.image).toBe('busybox');
    const page1 = await listTaskDefinitions(sql, { status: 'ACTIVE', limit: 2 });
    expect(page1.map((r) => `${r.family}:${r.revision}`)).toEqual(['db:1', 'web:1']);
    const page2 = await listTaskDefinitions(sql, { status: 'ACTIVE', limit: 10, after: ['web', 1] });
    expect(page2.map((r) => `${r.family}:${r.revision}`)).toEqual(['web:2', 'web:3']);
    expect((await listTaskDefinitions(sql, { status: 'ALL', familyPrefix: 'we', limit: 10 })).length).toBe(3);
  });

  it('keeps tasks, their node allocations and the node desired set', async () => {
    if (!db) return;
    const sql = db.sql;
    await createCluster(sql, 'lab');
    const node = await upsertNode(sql, { id: 'n-1', cluster: 'lab', agentVersion: '0.1.0', protocolVersion: 1, facts, labels: { zone: 'attic' }, registeredCpu: 4096, registeredMemory: 3840, sessionId: 's1' });
    expect(node.agentConnected).toBe(true);
    expect(node.labels).toEqual({ zone: 'attic' });
    const base = { cluster: 'lab', family: 'web', revision: 1, nodeId: 'n-1', desiredStatus: 'RUNNING', lastStatus: 'PENDING', spec: spec('web'), overrides: {}, cpu: 256, memory: 64, containers: [], startedBy: '', group: '' };
    await insertTasks(sql, [
      { ...base, id: 'a'.repeat(32), hostPorts: ['8080/tcp'] },
      { ...base, id: 'b'.repeat(32), hostPorts: [] },
    ]);
    const alloc = (await nodeAllocations(sql, ['n-1'])).get('n-1');
    expect(alloc).toMatchObject({ cpu: 512, memory: 128, ports: ['8080/tcp'], pending: 2 });
    const stopped = await updateTask(sql, 'a'.repeat(32), { lastStatus: 'STOPPED', stoppedAt: new Date(), stopCode: 'UserInitiated' });
    expect(stopped.version).toBe(2);
    expect((await desiredTasksForNode(sql, 'n-1')).map((t) => t.id)).toEqual(['b'.repeat(32)]);
    expect((await listTasks(sql, { cluster: 'lab', limit: 10, family: 'web' })).length).toBe(2);
    expect((await listTasks(sql, { cluster: 'lab', limit: 10, nodeId: 'n-2' })).length).toBe(0);
    await bumpGenerations(sql, ['n-1']);
    expect(await setNodeDisconnected(sql, 'n-1', 'other-session', new Date())).toBe(false);
    expect(await setNodeDisconnected(sql, 'n-1', 's1', new Date())).toBe(true);
  });
});
