import { randomBytes } from 'node:crypto';
import { systemClock } from '@berth/domain';
import type { AgentServiceClient, ControlServiceClient, DesiredTask } from '@berth/proto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from './server.js';
import type { AppContext } from './services/context.js';
import { deleteSecretOp, listSecretsOp, putRoleOp, putSecretOp } from './services/secrets.js';
import { registerTaskDefinitionOp } from './services/task-definitions.js';
import { describeTasksOp, runTaskOp } from './services/tasks.js';
import { BACKENDS, controlCall, startOnBackend, type BackendEnv } from './test-support/backends.js';
import { hello, ScriptedAgent } from './test-support/scripted-agent.js';

const log = pino({ level: 'silent' });
const VALUE = 'correct-horse-battery-staple-7f3a';

/** Secrets and roles on both stores: sealed at rest, checked against roles, sent only to the node starting the task. */
describe.each(BACKENDS)('secrets on $name', (backend) => {
  let env: BackendEnv | undefined;
  let cp: ControlPlane;
  let agents: AgentServiceClient;
  let control: ControlServiceClient;
  let ctx: AppContext;
  const keyA = randomBytes(32).toString('base64');
  const keyB = randomBytes(32).toString('base64');
  const start = async (keys: string) => {
    ({ cp, agents, control } = await startOnBackend(env!, log, { secretsKeys: keys }));
    ctx = { db: cp.db, arn: { region: 'local', account: '000000000000' }, clock: systemClock, random: { next: Math.random, bytes: (n) => randomBytes(n) }, log, keyring: cp.keyring, nodesChanged: (ids) => cp.sessions.nodesChanged(ids) };
  };
  const stop = async () => {
    agents.close();
    control.close();
    await cp.close();
  };

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    await start(keyA);
  });
  afterAll(async () => {
    if (!env) return;
    await stop();
    await env.cleanup();
  });

  const app = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      family: 'app',
      executionRoleArn: 'arn:aws:iam::123456789012:role/app',
      containerDefinitions: [
        {
          name: 'app',
          image: 'busybox',
          memory: 32,
          secrets: [
            { name: 'DB_PASSWORD', valueFrom: 'berth:secret/db-password' },
            { name: '/run/secrets/db', valueFrom: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password' },
          ],
        },
      ],
      ...over,
    });

  it('writes versions, lists names only, keeps no plain value in the database, and refuses bad names', async () => {
    if (!env) return;
    expect(await putSecretOp(ctx, { name: 'db-password', value: Buffer.from('old') })).toEqual({ name: 'db-password', version: 1 });
    expect(await putSecretOp(ctx, { name: 'db-password', value: Buffer.from(VALUE) })).toEqual({ name: 'db-password', version: 2 });
    const page = await listSecretsOp(ctx, {});
    expect(page.items.map((s) => [s.name, s.latestVersion, s.versions])).toEqual([['db-password', 2, 2]]);
    expect(JSON.stringify(page)).not.toContain(VALUE);
    const rows = await cp.db.sql`SELECT * FROM secrets`;
    expect(JSON.stringify(rows)).not.toContain(VALUE);
    expect(rows.some((r) => (r.ciphertext as Buffer).includes(Buffer.from(VALUE)))).toBe(false);
    for (const bad of ['../etc/passwd', 'a/b', '..', '.x', '']) {
      await expect(putSecretOp(ctx, { name: bad, value: Buffer.from('x') })).rejects.toThrow(/^name: must be 1-255 letters/);
    }
    await expect(putSecretOp(ctx, { name: 'empty', value: Buffer.alloc(0) })).rejects.toThrow('value: must not be empty');
    await expect(putSecretOp(ctx, { name: 'big', value: Buffer.alloc(65 * 1024) })).rejects.toThrow(/value: must be at most 65536 bytes/);
    await putSecretOp(ctx, { name: 'gone', value: Buffer.from('x') });
    expect(await deleteSecretOp(ctx, 'gone')).toEqual({ name: 'gone', versions: 1 });
    await expect(deleteSecretOp(ctx, 'gone')).rejects.toThrow('secret gone not found');
  });

  it('a task definition naming secrets needs a role that allows them', async () => {
    if (!env) return;
    await expect(registerTaskDefinitionOp(ctx, app({ executionRoleArn: undefined }))).rejects.toThrow(
      /^containerDefinitions\[0\]\.secrets\[0\]\.valueFrom: secret db-password needs a role that allows it/,
    );
    await expect(registerTaskDefinitionOp(ctx, app())).rejects.toThrow('executionRoleArn: role app not found');
    await putRoleOp(ctx, { name: 'app', secrets: ['api-*'] });
    await expect(registerTaskDefinitionOp(ctx, app())).rejects.toThrow('containerDefinitions[0].secrets[0].valueFrom: role app does not allow secret db-password');
    await putRoleOp(ctx, { name: 'app', secrets: ['db-*'] });
    const { record } = await registerTaskDefinitionOp(ctx, app());
    expect(record.revision).toBe(1);
    await expect(putRoleOp(ctx, { name: 'bad role', secrets: [] })).rejects.toThrow(/^name: must be 1-64/);
    await expect(putRoleOp(ctx, { name: 'r', secrets: ['../x'] })).rejects.toThrow(/^secrets\[0\]: must be a secret name/);
  });

  it('sends the values to the node only while the task starts, and nowhere else', async () => {
    if (!env) return;
    await cp.db.sql`INSERT INTO clusters (name) VALUES ('sec') ON CONFLICT DO NOTHING`;
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ cluster: 'sec' }) });
    const { nodeId } = await agent.next('welcome');
    const [task] = (await runTaskOp(ctx, { cluster: 'sec', taskDefinition: 'app' })).tasks;
    const withTask = await agent.next('desiredState', (d) => d.tasks.length === 1);
    const sent = withTask.tasks[0]! as DesiredTask;
    expect(sent.secretsError).toBe('');
    expect(sent.secrets.map((s) => [s.containerName, s.kind, s.target, s.value])).toEqual([
      ['app', 'env', 'DB_PASSWORD', VALUE],
      ['app', 'file', '/run/secrets/db', VALUE],
    ]);
    // Once RUNNING, the desired state carries no value any more.
    agent.send({ $case: 'taskStatus', value: { tasks: [{ taskId: task!.id, lastStatus: 'RUNNING', stopCode: '', stoppedReason: '', at: new Date(), containers: [], warnings: [], healthStatus: '' }] } });
    await new Promise((r) => setTimeout(r, 300));
    cp.sessions.nodesChanged([nodeId]);
    const later = await agent.next('desiredState', (d) => d.tasks.length === 1 && d.tasks[0]!.secrets.length === 0);
    expect(later.tasks[0]!.secrets).toEqual([]);
    // Not in describe, not in events, not in the task row.
    const described = JSON.stringify(await describeTasksOp(ctx, { cluster: 'sec', tasks: [task!.id] }));
    expect(described).not.toContain(VALUE);
    expect(described).toContain('berth:secret/db-password');
    expect(JSON.stringify(await cp.db.sql`SELECT * FROM events`)).not.toContain(VALUE);
    expect(JSON.stringify(await cp.db.sql`SELECT * FROM tasks`)).not.toContain(VALUE);
    const call = controlCall(() => control);
    expect(JSON.stringify(await call('listSecrets', {}))).not.toContain(VALUE);
    agent.end();
  });

  it('a secret deleted (or no longer allowed) before its task starts: the node is told why instead', async () => {
    if (!env) return;
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ cluster: 'sec' }) });
    await agent.next('welcome');
    await expect(runTaskOp(ctx, { cluster: 'sec', taskDefinition: 'app', count: 1 })).resolves.toBeDefined();
    await putRoleOp(ctx, { name: 'app', secrets: [] });
    const id = (await cp.db.sql`SELECT id, node_id FROM tasks WHERE cluster = 'sec' AND last_status = 'PENDING' ORDER BY created_at DESC LIMIT 1`)[0]!;
    cp.sessions.nodesChanged([id.node_id as string]);
    const d = await agent.next('desiredState', (x) => x.tasks.some((t) => t.taskId === id.id && t.secretsError !== ''));
    expect(d.tasks.find((t) => t.taskId === id.id)!.secretsError).toBe('containerDefinitions[0].secrets[0].valueFrom: role app does not allow secret db-password');
    await expect(runTaskOp(ctx, { cluster: 'sec', taskDefinition: 'app' })).rejects.toThrow('role app does not allow secret db-password');
    await putRoleOp(ctx, { name: 'app', secrets: ['db-*'] });
    await putRoleOp(ctx, { name: 'other', secrets: ['*'] });
    await registerTaskDefinitionOp(ctx, app({ executionRoleArn: 'other', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 32, secrets: [{ name: 'X', valueFrom: 'berth:secret/missing' }] }] }));
    await expect(runTaskOp(ctx, { cluster: 'sec', taskDefinition: 'app' })).rejects.toThrow('containerDefinitions[0].secrets[0].valueFrom: secret missing not found (berth secret put missing)');
    agent.end();
  });

  it('rotates keys: sealed again with the new first key at start; the old key can then go', async () => {
    if (!env) return;
    await stop();
    await start(`${keyB},${keyA}`);
    const [row] = await cp.db.sql`SELECT DISTINCT key_id FROM secrets`;
    await stop();
    await start(keyB);
    expect((await cp.db.sql`SELECT DISTINCT key_id FROM secrets`).map((r) => r.key_id)).toEqual([row!.key_id]);
    const agent = new ScriptedAgent(agents);
    agent.send({ $case: 'hello', value: hello({ cluster: 'sec' }) });
    await agent.next('welcome');
    await putRoleOp(ctx, { name: 'app', secrets: ['db-*'] });
    await runTaskOp(ctx, { cluster: 'sec', taskDefinition: 'app:1' });
    const d = await agent.next('desiredState', (x) => x.tasks.some((t) => t.secrets.length > 0));
    expect(d.tasks.find((t) => t.secrets.length > 0)!.secrets[0]!.value).toBe(VALUE);
    agent.end();
  });
});
