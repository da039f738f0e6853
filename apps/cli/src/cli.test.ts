import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Api } from './client.js';
import { runCli } from './cli.js';
import { parseSince, parseTail } from './commands/logs.js';
import { jsonProblem } from './commands/taskdef.js';
import { describeError } from './errors.js';
import { age, ports } from './output/format.js';
import { table } from './output/table.js';

const ARN = 'arn:aws:ecs:local:000000000000';
const taskId = 'a'.repeat(32);

function fakeApi(over: Partial<Api> = {}): Api {
  const task = {
    taskArn: `${ARN}:task/default/${taskId}`,
    clusterArn: `${ARN}:cluster/default`,
    taskDefinitionArn: `${ARN}:task-definition/web:2`,
    containerInstanceArn: `${ARN}:container-instance/default/n-1`,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    cpu: '128',
    memory: '32',
    containers: [{ containerArn: '', taskArn: '', name: 'web', image: 'x', runtimeId: 'abcdef1234567890', lastStatus: 'RUNNING', exitCode: undefined, reason: '', networkBindings: [{ bindIp: '0.0.0.0', containerPort: 80, hostPort: 32768, protocol: 'tcp' }], healthStatus: '', cpu: '', memory: '', memoryReservation: '' }],
    startedBy: '',
    group: 'family:web',
    stopCode: '',
    stoppedReason: '',
    createdAt: new Date(Date.now() - 120_000),
    version: 3,
    overridesJson: '{}',
  } as never;
  return {
    close: () => {},
    registerTaskDefinition: async () => ({ taskDefinition: { taskDefinitionArn: `${ARN}:task-definition/web:2`, family: 'web', revision: 2, status: 'ACTIVE', taskDefinitionJson: '{}', registeredAt: new Date() }, warnings: ['executionRoleArn: ignored'] }),
    listTasks: async () => ({ taskArns: [`${ARN}:task/default/${taskId}`], nextToken: '' }),
    describeTasks: async () => ({ tasks: [task], failures: [] }),
    runTask: async () => ({ tasks: [], failures: [{ arn: '', reason: 'RESOURCE:MEMORY', detail: 'no node met all requirements' }] }),
    ...over,
  } as Api;
}

async function run(argv: string[], api: Api = fakeApi(), files: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), readFile: (p) => {
    if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return files[p]!;
  } }, () => api, {});
  return { code, out, err };
}

describe('berth cluster update', () => {
  it('sends the grace as an ECS cluster setting in seconds', async () => {
    let asked: unknown;
    const api = fakeApi({
      updateClusterSettings: async (req) => {
        asked = req;
        return { cluster: { clusterArn: '', clusterName: 'lab', status: 'ACTIVE', registeredContainerInstancesCount: 0, runningTasksCount: 0, pendingTasksCount: 0, activeServicesCount: 0, settings: [{ name: 'nodeLostGraceSeconds', value: '120' }] } };
      },
    });
    const r = await run(['cluster', 'update', 'lab', '--node-lost-grace', '2m'], api);
    expect(r.out).toBe('cluster lab: node lost after 120 s out of contact\n');
    expect(asked).toEqual({ cluster: 'lab', settings: [{ name: 'nodeLostGraceSeconds', value: '120' }] });
    expect((await run(['cluster', 'update', 'lab', '--node-lost-grace', 'soon'], api)).err).toMatch(/--node-lost-grace: must be seconds/);
  });
});

describe('berth events', () => {
  const event = (id: number, kind: string, message: string) => ({ id, at: new Date('2026-11-25T10:00:00.123Z'), cluster: 'default', kind, subject: 's', message, dataJson: '{}' });

  it('starts with the newest 20 events and prints one line each', async () => {
    let asked: unknown;
    const api = fakeApi({
      watchEvents: async (req, onEvent) => {
        asked = req;
        onEvent(event(7, 'task.status', 'task abc PENDING -> RUNNING'));
      },
    });
    const r = await run(['events'], api);
    expect(r.code).toBe(0);
    expect(asked).toEqual({ cluster: 'default', afterId: 0, last: 20, follow: false });
    expect(r.out).toBe('     7  2026-11-25T10:00:00Z  task.status        task abc PENDING -> RUNNING\n');
  });

  it('resumes after an id and follows with -f', async () => {
    let asked: unknown;
    const api = fakeApi({ watchEvents: async (req) => void (asked = req) });
    expect((await run(['events', '-f', '--since', '41', '--cluster', 'lab'], api)).code).toBe(0);
    expect(asked).toEqual({ cluster: 'lab', afterId: 41, last: 0, follow: true });
  });

  it('refuses bad flags with the reason', async () => {
    expect((await run(['events', '--since', 'yesterday'])).err).toBe('berth: --since: must be an event id (a whole number), got "yesterday" (see berth --help)\n');
    expect((await run(['events', '--since', '1', '--last', '5'])).err).toBe('berth: events: give --since or --last, not both (see berth --help)\n');
  });
});

describe('berth logs', () => {
  const chunk = (stream: string, text: string) => ({ data: Buffer.from(text), stream, containerName: 'web' });

  it('asks for the task container logs and writes stdout and stderr frames to their own streams', async () => {
    let asked: unknown;
    const api = fakeApi({
      getTaskLogs: async (req, onChunk) => {
        asked = req;
        await onChunk(chunk('stdout', 'hello\n'));
        await onChunk(chunk('stderr', 'oops\n'));
        await onChunk(chunk('stdout', 'bye\n'));
      },
    });
    const r = await run(['logs', taskId], api);
    expect(r).toEqual({ code: 0, out: 'hello\nbye\n', err: 'oops\n' });
    expect(asked).toEqual({ cluster: 'default', task: taskId, containerName: '', tail: undefined, since: undefined, follow: false, timestamps: false });
  });

  it('passes -f, --container, --tail, --since and --timestamps', async () => {
    let asked: { since?: Date } & Record<string, unknown> = {};
    const api = fakeApi({ getTaskLogs: async (req) => void (asked = req as typeof asked) });
    const before = Date.now();
    expect((await run(['logs', taskId, '-f', '--container', 'sidecar', '--tail', '100', '--since', '10m', '--timestamps', '--cluster', 'lab'], api)).code).toBe(0);
    expect(asked).toMatchObject({ cluster: 'lab', task: taskId, containerName: 'sidecar', tail: 100, follow: true, timestamps: true });
    expect(before - 600_000 - asked.since!.getTime()).toBeLessThanOrEqual(0);
    expect(Date.now() - 600_000 - asked.since!.getTime()).toBeGreaterThanOrEqual(0);
    await run(['logs', taskId, '--since', '2026-01-02T03:04:05Z', '--tail', 'all'], api);
    expect(asked).toMatchObject({ since: new Date('2026-01-02T03:04:05Z'), tail: undefined });
  });

  it('reads --since as a duration back from now or as a time', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    expect(parseSince('30s', now)).toEqual(new Date('2026-11-25T11:59:30Z'));
    expect(parseSince('10m', now)).toEqual(new Date('2026-11-25T11:50:00Z'));
    expect(parseSince('2h', now)).toEqual(new Date('2026-11-25T10:00:00Z'));
    expect(parseSince('1h30m', now)).toEqual(new Date('2026-11-25T10:30:00Z'));
    expect(parseSince('1d', now)).toEqual(new Date('2026-11-24T12:00:00Z'));
    expect(parseSince('2026-11-25T11:00:00+01:00', now)).toEqual(new Date('2026-11-25T10:00:00Z'));
    expect(parseSince('2026-11-20', now)).toEqual(new Date('2026-11-20T00:00:00Z'));
    for (const bad of ['10', 'yesterday', '10 minutes', '-5m', '2026-13-45', '']) expect(() => parseSince(bad, now)).toThrow(/--since: must be a duration/);
    expect(parseTail('0')).toBe(0);
    expect(parseTail(undefined)).toBeUndefined();
    expect(() => parseTail('-1')).toThrow('--tail: must be a whole number of lines (or all), got "-1"');
  });

  it('refuses bad usage with the reason', async () => {
    expect(await run(['logs'])).toMatchObject({ code: 2, err: 'berth: logs: name the task (its id or ARN) (see berth --help)\n' });
    expect((await run(['logs', taskId, taskId])).err).toContain('logs: one task at a time, got 2');
    expect((await run(['logs', taskId, '--since', 'soon'])).err).toContain('--since: must be a duration (30s, 10m, 2h, 1h30m) or a time');
    expect((await run(['logs', taskId, '--tail', 'ten'])).code).toBe(2);
    expect((await run(['logs', taskId, '--follow-me'])).code).toBe(2);
    expect((await run(['logs', taskId, '-o', 'json'])).err).toContain('logs: --output json is not supported');
  });

  it('reports why the logs cannot be read', async () => {
    const api = fakeApi({
      getTaskLogs: async () => Promise.reject(Object.assign(new Error('x'), { code: status.FAILED_PRECONDITION, details: 'node n-1 (pi) is disconnected; logs are on that machine' })),
    });
    expect(await run(['logs', taskId], api)).toMatchObject({ code: 1, err: 'berth: node n-1 (pi) is disconnected; logs are on that machine\n' });
  });

  it('ends cleanly on Ctrl-C: the stream is told to stop and the exit code is 0', async () => {
    let interrupt: (() => void) | undefined;
    let signal: AbortSignal | undefined;
    const bytes: string[] = [];
    const api = fakeApi({
      getTaskLogs: (_req, onChunk, s) =>
        new Promise<void>((resolve) => {
          signal = s;
          void onChunk(chunk('stdout', 'tick\n'));
          s!.addEventListener('abort', () => resolve());
          setTimeout(() => interrupt!(), 5);
        }),
    });
    const io = {
      out: () => {},
      err: (t: string) => bytes.push(`err:${t}`),
      readFile: () => '',
      writeBytes: (stream: 'stdout' | 'stderr', data: Uint8Array) => void bytes.push(`${stream}:${Buffer.from(data).toString()}`),
      onInterrupt: (fn: () => void) => {
        interrupt = fn;
        return () => (interrupt = undefined);
      },
    };
    expect(await runCli(['logs', taskId, '-f'], io, () => api, {})).toBe(0);
    expect(signal!.aborted).toBe(true);
    expect(bytes).toEqual(['stdout:tick\n']);
    expect(interrupt).toBeUndefined();
  });
});

describe('berth', () => {
  it('registers a task definition file and prints warnings on stderr', async () => {
    const r = await run(['taskdef', 'register', '-f', 'td.json'], fakeApi(), { 'td.json': '{"family":"web"}' });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`registered web:2  ${ARN}:task-definition/web:2\n`);
    expect(r.err).toBe('warning: executionRoleArn: ignored\n');
  });

  it('catches broken JSON locally, naming line and column', async () => {
    const r = await run(['taskdef', 'register', '-f', 'td.json'], fakeApi(), { 'td.json': '{\n  "family": "web",\n  oops\n}' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^berth: td.json: invalid JSON at line 3 column 3: /);
    expect((await run(['taskdef', 'register', '-f', 'missing.json'])).err).toBe('berth: missing.json: no such file\n');
  });

  it('lists tasks as a table', async () => {
    const r = await run(['task', 'ls']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^TASK\s+DEFINITION\s+DESIRED\s+LAST\s+NODE\s+PORTS\s+AGE$/);
    expect(r.out).toContain(`${taskId}  web:2       RUNNING  RUNNING  n-1   32768->80/tcp  2m`);
  });

  it('prints JSON with ECS field names for scripts', async () => {
    const r = await run(['task', 'describe', taskId, '-o', 'json']);
    expect(JSON.parse(r.out)).toMatchObject({ taskArn: `${ARN}:task/default/${taskId}`, lastStatus: 'RUNNING', containers: [{ name: 'web' }] });
  });

  it('fails with a reason when no task could start', async () => {
    const r = await run(['task', 'run', 'web']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('failure: RESOURCE:MEMORY no node met all requirements');
    expect(r.err).toContain('berth: no task was started: RESOURCE:MEMORY');
  });

  it('answers usage mistakes with exit 2 and a hint', async () => {
    expect(await run(['task', 'explode'])).toMatchObject({ code: 2, err: 'berth: unknown command "task explode"; task has: run, ls, describe, stop (see berth --help)\n' });
    expect((await run(['task', 'ls', '--bogus'])).code).toBe(2);
    expect((await run(['task', 'run', 'web', '--count', 'lots'])).err).toContain('--count: must be a whole number');
    expect((await run(['task', 'ls', '-o', 'yaml'])).err).toContain('--output: must be table or json');
    expect((await run([])).code).toBe(2);
    expect((await run(['--help'])).code).toBe(0);
  });

  it('runs three-word commands and passes their arguments', async () => {
    let sent: unknown;
    const api = fakeApi({ putAttributes: async (r) => ((sent = r), { attributes: r.attributes as never }) });
    const r = await run(['node', 'attribute', 'put', 'n-1', 'zone=attic', 'gpu'], api);
    expect(r).toMatchObject({ code: 0, out: 'node n-1: zone=attic, gpu=\n' });
    expect(sent).toMatchObject({ cluster: 'default', attributes: [{ name: 'zone', value: 'attic', targetId: 'n-1' }, { name: 'gpu', value: '', targetId: 'n-1' }] });
    expect((await run(['node', 'attribute', 'put', 'n-1'], api)).code).toBe(2);
  });

  it('drains nodes and reports the ones it could not', async () => {
    const api = fakeApi({
      updateContainerInstancesState: async () => ({ containerInstances: [{ nodeId: 'n-1', status: 'DRAINING' } as never], failures: [{ arn: 'n-2', reason: 'MISSING', detail: '' }] }),
    });
    expect(await run(['node', 'drain', 'n-1', 'n-2'], api)).toMatchObject({ code: 0, out: 'node n-1 DRAINING\n', err: 'failure: n-2 MISSING \n' });
  });

  it('reports server errors as one reason', async () => {
    const api = fakeApi({ runTask: async () => Promise.reject(Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'task definition family nope not found' })) });
    expect(await run(['task', 'run', 'nope'], api)).toMatchObject({ code: 1, err: 'berth: task definition family nope not found\n' });
  });
});

describe('errors, tables and formats', () => {
  it('maps gRPC status to a sentence', () => {
    expect(describeError({ code: status.UNAVAILABLE, details: 'x' }, '127.0.0.1:7400').message).toMatch(/^cannot reach the control plane at 127\.0\.0\.1:7400 \(is it running\? start it with npm start; if it runs, check TLS: give its CA with --ca/);
    expect(describeError({ code: status.INVALID_ARGUMENT, details: 'a: b\n  c: d' }, '').message).toBe('a: b\n  c: d');
    expect(describeError({ code: status.INTERNAL, details: 'boom' }, '').message).toBe('INTERNAL: boom');
  });
  it('aligns columns and fills empty cells', () => {
    expect(table(['A', 'LONGER'], [['xx', undefined], ['y', 'z']])).toBe('A   LONGER\nxx  -\ny   z\n');
  });
  it('formats ports and ages', () => {
    expect(ports([{ bindIp: '', containerPort: 80, hostPort: 8080, protocol: 'tcp' }])).toBe('8080->80/tcp');
    const now = new Date('2026-01-01T01:00:00Z');
    expect(age(new Date('2026-01-01T00:59:30Z'), now)).toBe('30s');
    expect(age(new Date('2025-12-30T01:00:00Z'), now)).toBe('2d');
  });
  it('locates a JSON error', () => {
    let err: Error | undefined;
    const text = '{"a": 1,\n "b" 2}';
    try {
      JSON.parse(text);
    } catch (e) {
      err = e as Error;
    }
    expect(jsonProblem(text, err!)).toMatch(/^invalid JSON at line 2 column 6: /);
    let err2: Error | undefined;
    try {
      JSON.parse('{"b": }');
    } catch (e) {
      err2 = e as Error;
    }
    expect(jsonProblem('{"b": }', err2!)).toBe("invalid JSON: Unexpected token '}'");
  });
});

describe('task run placement flags', () => {
  it('reads ECS constraints and strategies the way users write them', async () => {
    const { parseConstraint, parseStrategy } = await import('./commands/task.js');
    expect(parseConstraint('distinctInstance')).toEqual({ type: 'distinctInstance', expression: '' });
    expect(parseConstraint('memberOf:attribute:arch == arm64')).toEqual({ type: 'memberOf', expression: 'attribute:arch == arm64' });
    expect(() => parseConstraint('arch == arm64')).toThrow(/--placement-constraint: must be distinctInstance or memberOf:EXPRESSION/);
    expect(parseStrategy('spread:attribute:zone')).toEqual({ type: 'spread', field: 'attribute:zone' });
    expect(parseStrategy('binpack:memory')).toEqual({ type: 'binpack', field: 'memory' });
    expect(parseStrategy('random')).toEqual({ type: 'random', field: '' });
    expect(() => parseStrategy('fill:memory')).toThrow(/--placement-strategy: must be/);
  });
});

describe('TLS settings and contexts', () => {
  const io = () => {
    const out: string[] = [];
    return { io: { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t), readFile: (p: string) => (p === '/ca.pem' ? 'CA-PEM' : (() => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); })()) } as never, out };
  };
  it('uses --ca, else BERTH_CA, else the current context; --insecure for plaintext; login saves a 0600 context', async () => {
    const { mkdtempSync, readFileSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
    const env = { BERTH_CONFIG: join(dir, 'config.json') };
    const seen: unknown[] = [];
    const api = (server: string, tls: unknown) => {
      seen.push([server, tls]);
      return { listClusters: async () => ({ clusterArns: ['a'], nextToken: '' }), close: () => {} } as never;
    };
    const a = io();
    expect(await runCli(['login', '--server', 'cp.lan:7400', '--ca', '/ca.pem', '--context', 'home'], a.io, api, env)).toBe(0);
    expect(a.out.join('')).toMatch(/^logged in to cp\.lan:7400 \(1 cluster\(s\)\) as context home/);
    expect(statSync(env.BERTH_CONFIG).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(env.BERTH_CONFIG, 'utf8'))).toEqual({ current: 'home', contexts: { home: { server: 'cp.lan:7400', ca: 'CA-PEM' } } });
    // Later commands use the context.
    await runCli(['context', 'ls'], io().io, api, env);
    expect(seen.at(-1)).toEqual(['cp.lan:7400', { caPem: 'CA-PEM' }]);
    await runCli(['context', 'ls', '--insecure', '--server', 'other:1'], io().io, api, env);
    expect(seen.at(-1)).toEqual(['other:1', { insecure: true }]);
    const b = io();
    expect(await runCli(['login', '--server', 'x:1', '--ca', '/missing.pem'], b.io, api, env)).toBe(2);
    expect(b.out.join('')).toMatch(/--ca: cannot read \/missing\.pem: ENOENT/);
    const c = io();
    expect(await runCli(['login', '--server', 'x:1'], c.io, api, { BERTH_CONFIG: join(dir, 'none.json') })).toBe(2);
    expect(c.out.join('')).toMatch(/login: give the cluster CA/);
  });
});
