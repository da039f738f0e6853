import { OPERATIONS, operationNames, SHAPES, validateInput, type ShapeDef } from '@berth/ecs-model';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECS_HANDLERS } from './ecs-api/ecs-operations.js';
import { MAX_BODY_BYTES } from './ecs-api/ecs-server.js';
import { BACKENDS, type BackendEnv } from './test-support/backends.js';
import { ECS_TARGET_PREFIX, JSON_11, startEcsControlPlane, type EcsTestPlane, type RawResponse } from './test-support/ecs-client.js';

/**
 * Fuzzing the ECS endpoint for a fixed time per store (BERTH_FUZZ_SECONDS,
 * default 20 in all, split between the stores; BERTH_FUZZ_SEED to replay),
 * with properly signed requests: read-only operations with bodies from the ECS
 * model's input shapes and random JSON, every supported operation with a body
 * whose one field has the wrong type, random bytes, unknown targets,
 * unsupported operations, bodies over the size limit, 10,000-deep nesting,
 * huge strings and wide lists, odd keys (`__proto__`), NUL and lone
 * surrogates. Every answer must be a typed 4xx (JSON with __type and message,
 * x-amzn-ErrorType) or a 200 for a read-only call whose body is valid; never
 * a 5xx. The endpoint keeps answering (a ListClusters after every batch), and
 * nothing changes: only reads and invalid writes are sent.
 */

const log = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
const TOTAL_SECONDS = Number(process.env.BERTH_FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ARN = 'arn:aws:ecs:local:000000000000';
const BATCH = 40;
const CONCURRENCY = 8;

const IMPLEMENTED = operationNames().filter((op) => Object.hasOwn(ECS_HANDLERS, op));
const READS = IMPLEMENTED.filter((op) => OPERATIONS[op].readonly);
const UNSUPPORTED = operationNames().filter((op) => !Object.hasOwn(ECS_HANDLERS, op));
/** Names and ARNs of what exists, so generated reads also find things. */
const KNOWN = ['fz', 'default', 'fz-svc', 'fz-td', 'fz-td:1', `${ARN}:cluster/fz`, `${ARN}:service/fz/fz-svc`, `${ARN}:task-definition/fz-td:1`, 'container-instance', 'TAGS', 'RUNNING', 'STOPPED'];

type Kind = 'read-shape' | 'read-json' | 'write-json' | 'wrong-type' | 'bytes' | 'unknown-target' | 'unsupported' | 'too-large' | 'deep' | 'huge-string' | 'wide' | 'odd-keys' | 'odd-text';

interface FuzzRequest {
  kind: Kind;
  op: string;
  /** The whole X-Amz-Target when it is not the prefix and op. */
  target?: string;
  body: Buffer;
  /** What must come back: a 200 is only fine for a valid read. */
  expect: { types?: string[]; status?: number; mayPass: boolean };
  /** The field made wrong (wrong-type). */
  field?: string;
}

// ---- bodies from the model's shapes ----------------------------------------------------------------------

const shapeOf = (name: string): ShapeDef => (SHAPES as Record<string, ShapeDef>)[name]!;

/** An arbitrary value of a shape, within its constraints (small: lists of at most 3, strings of at most 24). */
function arbitraryOf(shapeName: string, depth = 0): fc.Arbitrary<unknown> {
  const s = shapeOf(shapeName);
  switch (s.type) {
    case 'structure': {
      if (s.document) return fc.jsonValue({ maxDepth: 2 });
      const required = new Set(s.required ?? []);
      // Deep optional members are left out (ECS shapes nest up to 14 levels).
      const members = Object.entries(s.members).filter(([m]) => required.has(m) || depth < 5);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [m, target] of members) record[m] = arbitraryOf(target, depth + 1);
      return fc.record(record, { requiredKeys: [...required].filter((m) => m in record) });
    }
    case 'list': {
      const min = s.min ?? 0;
      return fc.array(arbitraryOf(s.member, depth + 1), { minLength: min, maxLength: Math.max(min, Math.min(s.max ?? 3, 3)) });
    }
    case 'map': {
      const min = s.min ?? 0;
      return fc.dictionary(arbitraryOf(s.key, depth + 1) as fc.Arbitrary<string>, arbitraryOf(s.value, depth + 1), { minKeys: min, maxKeys: Math.max(min, Math.min(s.max ?? 3, 3)) });
    }
    case 'string': {
      if (s.enum) return fc.constantFrom(...s.enum);
      const min = s.min ?? 0;
      const max = Math.max(min, Math.min(s.max ?? 24, 24));
      return fc.oneof({ arbitrary: fc.string({ minLength: min, maxLength: max }), weight: 3 }, { arbitrary: fc.constantFrom(...KNOWN.filter((k) => k.length >= min && k.length <= (s.max ?? Infinity))), weight: 2 });
    }
    case 'integer':
    case 'long':
      return fc.integer({ min: s.min ?? (s.type === 'integer' ? -(2 ** 31) : -1e9), max: s.max ?? (s.type === 'integer' ? 2 ** 31 - 1 : 1e9) });
    case 'double':
    case 'float':
      return fc.double({ min: s.min ?? -1e9, max: s.max ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'timestamp':
      return fc.oneof(fc.integer({ min: 0, max: 4e9 }), fc.constant('2024-05-01T10:00:00Z'));
    case 'blob':
      return fc.base64String({ maxLength: 16 });
  }
}

/** A value of the wrong JSON type for a shape (never null: null counts as absent). */
function wrongFor(s: ShapeDef, pick: number): unknown {
  const choices: Record<ShapeDef['type'], unknown[]> = {
    structure: [[], 1, 'a string', true],
    list: ['a string', {}, 7, false],
    map: [[], 'a string', 3, true],
    string: [123, {}, [], true],
    integer: ['ten', 1.5, {}, true],
    long: ['ten', 0.25, [], false],
    double: ['ten', {}, [], true],
    float: ['ten', {}, [], true],
    boolean: ['yes', 1, {}, []],
    timestamp: [true, {}, [], 'not a date'],
    blob: [1, {}, [], true],
  };
  const c = choices[s.type];
  return c[pick % c.length];
}

/** Every path in a generated value with its shape: [path, parent, key, shape]. */
function pathsOf(value: unknown, shapeName: string, path = ''): { path: string; parent: Record<string, unknown> | unknown[]; key: string | number; shape: ShapeDef }[] {
  const s = shapeOf(shapeName);
  const out: ReturnType<typeof pathsOf> = [];
  if (s.type === 'structure' && !s.document && value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [m, target] of Object.entries(s.members)) {
      const v = (value as Record<string, unknown>)[m];
      if (v === undefined) continue;
      const p = path ? `${path}.${m}` : m;
      const ts = shapeOf(target);
      if (!(ts.type === 'structure' && ts.document)) out.push({ path: p, parent: value as Record<string, unknown>, key: m, shape: ts });
      out.push(...pathsOf(v, target, p));
    }
  } else if (s.type === 'list' && Array.isArray(value)) {
    value.forEach((v, i) => {
      const ts = shapeOf(s.member);
      const p = `${path}[${i}]`;
      if (!(ts.type === 'structure' && ts.document)) out.push({ path: p, parent: value, key: i, shape: ts });
      out.push(...pathsOf(v, s.member, p));
    });
  }
  return out;
}

// ---- requests --------------------------------------------------------------------------------------------

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const READ_TYPES_OK = { mayPass: true };

function requestArbitrary(): fc.Arbitrary<FuzzRequest | undefined> {
  const readShape = fc.constantFrom(...READS).chain((op) =>
    arbitraryOf(OPERATIONS[op].input!).map((body): FuzzRequest => ({ kind: 'read-shape', op, body: json(body), expect: READ_TYPES_OK })),
  );
  const readJson = fc.tuple(fc.constantFrom(...READS), fc.oneof(fc.jsonValue(), fc.object())).map(([op, body]): FuzzRequest => ({ kind: 'read-json', op, body: json(body), expect: READ_TYPES_OK }));
  // Random JSON for any supported operation, writes included, kept only when the ECS model refuses it.
  const writeJson = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.oneof(fc.jsonValue(), fc.object())).map(([op, body]): FuzzRequest | undefined =>
    validateInput(op, body).ok ? undefined : { kind: 'write-json', op, body: json(body), expect: { types: ['InvalidParameterException'], mayPass: false } },
  );
  const wrongType = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.nat(), fc.nat()).chain(([op, a, b]) =>
    arbitraryOf(OPERATIONS[op].input!).map((base): FuzzRequest | undefined => {
      if (!validateInput(op, base).ok) return undefined; // the generator's own slip: not this test's subject
      const paths = pathsOf(base, OPERATIONS[op].input!);
      if (paths.length === 0) return { kind: 'wrong-type', op, body: json([base]), expect: { types: ['InvalidParameterException'], mayPass: false }, field: '(document)' };
      const p = paths[a % paths.length]!;
      (p.parent as Record<string | number, unknown>)[p.key] = wrongFor(p.shape, b);
      if (validateInput(op, base).ok) return undefined;
      return { kind: 'wrong-type', op, body: json(base), expect: { types: ['InvalidParameterException'], mayPass: false }, field: p.path };
    }),
  );
  const bytes = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([op, b]): FuzzRequest => {
    let body = Buffer.from(b);
    try {
      JSON.parse(body.toString('utf8'));
      body = Buffer.concat([Buffer.from('{'), body]); // parsed: make it not JSON
    } catch {
      // not JSON, as meant
    }
    return { kind: 'bytes', op, body, expect: { types: ['SerializationException'], mayPass: false } };
  });
  const unknownTarget = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }).map((name) => `${ECS_TARGET_PREFIX}.${name}`),
    fc.string({ minLength: 0, maxLength: 80 }),
    fc.constantFrom(...operationNames()).map((op) => `${ECS_TARGET_PREFIX}.${op.toLowerCase()}`),
    fc.constantFrom(...operationNames()).map((op) => `AmazonEC2ContainerServiceV20141112.${op}`),
    fc.constantFrom('AmazonEC2ContainerServiceV20141113.__proto__', 'AmazonEC2ContainerServiceV20141113.constructor', 'AmazonEC2ContainerServiceV20141113.hasOwnProperty', `${ECS_TARGET_PREFIX}.`),
  ).filter((t) => {
    const op = t.startsWith(`${ECS_TARGET_PREFIX}.`) ? t.slice(ECS_TARGET_PREFIX.length + 1) : undefined;
    return !(op !== undefined && (operationNames() as readonly string[]).includes(op)) && /^[\x20-\x7e]*$/.test(t) && t.trim() === t;
  }).chain((target) =>
    fc.jsonValue().map((body): FuzzRequest => ({ kind: 'unknown-target', op: '', target, body: json(body), expect: { types: ['UnknownOperationException'], mayPass: false } })),
  );
  const unsupported = fc.tuple(fc.constantFrom(...UNSUPPORTED), fc.jsonValue()).map(([op, body]): FuzzRequest => ({ kind: 'unsupported', op, body: json(body), expect: { types: ['UnsupportedFeatureException'], mayPass: false } }));
  const tooLarge = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.integer({ min: 1, max: 1024 * 1024 })).map(([op, extra]): FuzzRequest => ({
    kind: 'too-large',
    op,
    body: json({ cluster: 'x'.repeat(MAX_BODY_BYTES + extra) }),
    expect: { types: ['RequestEntityTooLargeException'], status: 413, mayPass: false },
  }));
  const deep = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.constantFrom('object', 'array', 'member')).map(([op, how]): FuzzRequest => {
    const n = 10_000;
    const text = how === 'array' ? `${'['.repeat(n)}1${']'.repeat(n)}` : how === 'object' ? `${'{"a":'.repeat(n)}1${'}'.repeat(n)}` : `{"cluster":${'['.repeat(n)}${']'.repeat(n)}}`;
    return { kind: 'deep', op, body: Buffer.from(text), expect: { types: ['InvalidParameterException', 'SerializationException'], mayPass: false } };
  });
  const hugeString = fc.tuple(fc.constantFrom(...READS), fc.integer({ min: 10_000, max: 900_000 }), fc.constantFrom('cluster', 'taskDefinition', 'resourceArn', 'nextToken', 'familyPrefix', 'service')).map(
    ([op, n, field]): FuzzRequest => ({ kind: 'huge-string', op, body: json({ [field]: 'é'.repeat(n / 2) }), expect: READ_TYPES_OK }),
  );
  const wide = fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.integer({ min: 100_001, max: 400_000 })).map(([op, n]): FuzzRequest => ({
    // Over the model check's 100,000 values: refused whatever the member.
    kind: 'wide',
    op,
    body: Buffer.from(`{"clusters":[${Array.from({ length: n }, () => '0').join(',')}]}`),
    expect: { types: ['InvalidParameterException'], mayPass: false },
  }));
  const ODD = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
  const odd = (key: string) => `"${key}":{"cluster":"fz","isAdmin":true,"__proto__":{"polluted":1}}`;
  // Odd keys beside a wrong-typed field (never valid, so never a write), or alone in a read.
  const oddKeys = fc.oneof(
    fc.tuple(wrongType, fc.constantFrom(...ODD)).map(([r, key]): FuzzRequest | undefined => {
      if (!r || r.body[0] !== 0x7b) return undefined;
      const rest = r.body.subarray(1).toString('utf8');
      return { ...r, kind: 'odd-keys', body: Buffer.from(`{${odd(key)}${rest === '}' ? '' : ','}${rest}`) };
    }),
    fc.tuple(fc.constantFrom(...READS), fc.constantFrom(...ODD)).map(([op, key]): FuzzRequest => ({ kind: 'odd-keys', op, body: Buffer.from(`{${odd(key)}}`), expect: READ_TYPES_OK })),
  );
  const oddText = fc.tuple(fc.constantFrom(...READS), fc.constantFrom('cluster', 'taskDefinition', 'resourceArn', 'familyPrefix'), fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\u202e', '%00', '../../etc', "' OR 1=1 --", '\\u0000', '\ufeff')).map(
    ([op, field, text]): FuzzRequest => ({ kind: 'odd-text', op, body: json({ [field]: text }), expect: READ_TYPES_OK }),
  );
  return fc.oneof(
    { arbitrary: readShape, weight: 6 },
    { arbitrary: readJson, weight: 3 },
    { arbitrary: writeJson, weight: 3 },
    { arbitrary: wrongType, weight: 6 },
    { arbitrary: bytes, weight: 2 },
    { arbitrary: unknownTarget, weight: 2 },
    { arbitrary: unsupported, weight: 1 },
    { arbitrary: oddKeys, weight: 1 },
    { arbitrary: oddText, weight: 1 },
    { arbitrary: tooLarge, weight: 1 },
    { arbitrary: hugeString, weight: 1 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: wide, weight: 1 },
  );
}

/** What is wrong with an answer, or undefined. */
function problemWith(req: FuzzRequest, r: RawResponse): string | undefined {
  if (r.status >= 500) return `server error ${r.status}`;
  if (r.headers['content-type'] !== JSON_11) return `content-type ${r.headers['content-type']}`;
  if (!r.headers['x-amzn-requestid']) return 'no x-amzn-RequestId';
  if (r.status === 200) {
    if (!req.expect.mayPass) return 'accepted (200) a request that must fail';
    if (!validateInput(req.op, JSON.parse(req.body.toString('utf8'))).ok) return 'accepted (200) a body the ECS model refuses';
    return r.body && typeof r.body === 'object' && !Array.isArray(r.body) ? undefined : 'a 200 without a JSON object';
  }
  if (r.status !== (req.expect.status ?? 400)) return `status ${r.status}`;
  if (typeof r.type !== 'string' || !/^[A-Za-z]+Exception$/.test(r.type)) return 'no __type';
  if (typeof r.message !== 'string' || r.message === '') return 'no message';
  if (r.headers['x-amzn-errortype'] !== r.type) return `x-amzn-ErrorType ${r.headers['x-amzn-errortype']} is not __type ${r.type}`;
  if (r.type === 'ServerException' || (r.type === 'UnknownOperationException' && req.target === undefined)) return `${r.type}`;
  if (req.expect.types && !req.expect.types.includes(r.type)) return `${r.type}, expected ${req.expect.types.join(' or ')}`;
  if (req.kind === 'wrong-type' && req.field && !r.message.includes(req.field)) return `the message does not name ${req.field}`;
  return undefined;
}

describe.each(BACKENDS)('ECS endpoint fuzz on $name', (backend) => {
  let env: BackendEnv | undefined;
  let e: EcsTestPlane;

  beforeAll(async () => {
    env = await backend.setup();
    if (!env) return;
    e = await startEcsControlPlane(env, log);
    const must = async (op: string, body: unknown) => {
      const r = await e.call(op, body);
      if (r.status !== 200) throw new Error(`${op}: ${r.status} ${r.text}`);
      return r.body!;
    };
    await must('CreateCluster', { clusterName: 'fz', tags: [{ key: 'k', value: 'v' }] });
    await must('CreateCluster', { clusterName: 'default' });
    await must('RegisterTaskDefinition', { family: 'fz-td', containerDefinitions: [{ name: 'app', image: 'busybox', memory: 8 }] });
    await must('CreateService', { cluster: 'fz', serviceName: 'fz-svc', taskDefinition: 'fz-td', desiredCount: 0 });
    await must('RunTask', { cluster: 'fz', taskDefinition: 'fz-td', count: 2 });
  });
  afterAll(async () => {
    if (!env) return;
    await e?.close();
    await env.cleanup();
  });

  /** Everything a request could change, through the endpoint and in the store. */
  const snapshot = async () => {
    const list = async (op: string, body: Record<string, unknown>, field: string) => {
      const out: string[] = [];
      let nextToken: string | undefined;
      do {
        const r = await e.call(op, { ...body, nextToken });
        expect(r.status, r.text).toBe(200);
        out.push(...(r.body![field] as string[]));
        nextToken = r.body!.nextToken as string | undefined;
      } while (nextToken);
      return out;
    };
    const clusters = await list('ListClusters', {}, 'clusterArns');
    const perCluster: Record<string, unknown> = {};
    for (const c of clusters) {
      perCluster[c] = {
        services: await list('ListServices', { cluster: c }, 'serviceArns'),
        running: await list('ListTasks', { cluster: c }, 'taskArns'),
        stopped: await list('ListTasks', { cluster: c, desiredStatus: 'STOPPED' }, 'taskArns'),
        tags: (await e.call('ListTagsForResource', { resourceArn: c })).body?.tags,
      };
    }
    const rows: Record<string, number> = {};
    for (const t of ['clusters', 'nodes', 'task_definitions', 'tasks', 'services', 'deployments', 'resource_tags', 'api_tokens', 'secrets', 'roles']) {
      rows[t] = Number((await e.cp.db.sql`SELECT count(*)::int AS n FROM ${e.cp.db.sql(t)}`)[0]!.n);
    }
    return {
      clusters,
      perCluster,
      taskDefinitions: await list('ListTaskDefinitions', {}, 'taskDefinitionArns'),
      inactive: await list('ListTaskDefinitions', { status: 'INACTIVE' }, 'taskDefinitionArns'),
      families: await list('ListTaskDefinitionFamilies', { status: 'ALL' }, 'families'),
      rows,
      services: await e.cp.db.sql`SELECT cluster, name, status, desired_count, spec FROM services ORDER BY cluster, name`,
      tasks: await e.cp.db.sql`SELECT id, cluster, desired_status, last_status, stop_code FROM tasks ORDER BY id`,
      tags: await e.cp.db.sql`SELECT * FROM resource_tags ORDER BY 1, 2`,
    };
  };

  it(`answers every fuzzed request with a typed 4xx (or 200 for a valid read), keeps answering, and changes nothing (${TOTAL_SECONDS} s over ${BACKENDS.length} stores; seed printed)`, async () => {
    if (!env) return;
    const seconds = TOTAL_SECONDS / BACKENDS.length;
    // Each store gets its own stream of requests (the seed and the store's name), replayable with BERTH_FUZZ_SEED.
    const seed = SEED + backend.name.length;
    console.log(`ECS fuzz on ${backend.name}: seed ${SEED} (BERTH_FUZZ_SEED=${SEED} to replay), ${seconds} s`);
    const before = await snapshot();
    const arb = requestArbitrary();
    const counts: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    const problems: string[] = [];
    const deadline = Date.now() + seconds * 1000;
    let batch = 0;
    let requests = 0;
    while (Date.now() < deadline) {
      const reqs = fc.sample(arb, { seed: seed + batch * 7919, numRuns: BATCH }).filter((r): r is FuzzRequest => r !== undefined);
      batch++;
      let next = 0;
      const worker = async () => {
        while (next < reqs.length) {
          const req = reqs[next++]!;
          counts[req.kind] = (counts[req.kind] ?? 0) + 1;
          let r: RawResponse;
          try {
            r = await e.call(req.op, req.body, req.target === undefined ? {} : { target: req.target });
          } catch (err) {
            problems.push(`${req.kind} ${req.op || req.target}: no answer (${(err as Error).message}); body ${preview(req.body)}`);
            continue;
          }
          requests++;
          const key = `${r.status} ${r.type ?? ''}`.trim();
          statuses[key] = (statuses[key] ?? 0) + 1;
          const p = problemWith(req, r);
          if (p && problems.length < 50) problems.push(`${req.kind} ${req.op || JSON.stringify(req.target)}: ${p}; body ${preview(req.body)}; answer ${r.status} ${r.text.slice(0, 300)}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      // Still answering after every batch.
      const health = await e.call('ListClusters', {});
      expect(health.status, `after batch ${batch}: ${health.text}`).toBe(200);
    }
    const after = await snapshot();
    console.log(`ECS fuzz on ${backend.name}: ${requests} requests (+${batch} health checks) in ${batch} batches; kinds ${JSON.stringify(counts)}; answers ${JSON.stringify(sortedCounts(statuses))}`);
    expect(problems, `seed ${SEED}`).toEqual([]);
    expect(after).toEqual(before);
    expect(requests).toBeGreaterThan(100);
  });
});

const preview = (b: Buffer) => (b.length > 200 ? `${JSON.stringify(b.subarray(0, 160).toString('utf8'))}... (${b.length} bytes)` : JSON.stringify(b.toString('utf8')));
const sortedCounts = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]));
