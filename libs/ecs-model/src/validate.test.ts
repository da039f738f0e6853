import { describe, expect, it } from 'vitest';
import { validateInput } from './validate.js';
import type { InputError } from './validate.js';

const taskDef = (container: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  family: 'web',
  containerDefinitions: [{ name: 'app', image: 'nginx:1.27', memory: 256, ...container }],
  ...extra,
});

function errorsOf(op: string, body: unknown): InputError[] {
  const r = validateInput(op, body);
  if (r.ok) throw new Error(`expected errors, got ${JSON.stringify(r.value)}`);
  return r.errors;
}

describe('validateInput: the body', () => {
  it.each([
    ['null', null],
    ['an array', [{ family: 'web' }]],
    ['a string', '{"family":"web"}'],
    ['a number', 42],
    ['undefined', undefined],
    ['a Date', new Date()],
  ])('rejects %s at path ""', (_what, body) => {
    expect(errorsOf('RegisterTaskDefinition', body)).toEqual([{ path: '', rule: 'the request body must be a JSON object', value: body }]);
  });

  it('rejects an unknown operation without throwing', () => {
    expect(errorsOf('runTask', {})).toEqual([{ path: '', rule: 'is not an ECS operation', value: 'runTask' }]);
    expect(errorsOf('toString', {})).toEqual([{ path: '', rule: 'is not an ECS operation', value: 'toString' }]);
  });

  it('accepts an empty body where nothing is required', () => {
    expect(validateInput('ListClusters', {})).toEqual({ ok: true, value: {}, ignored: [] });
  });

  it('returns a typed value', () => {
    const r = validateInput('RegisterTaskDefinition', taskDef());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.containerDefinitions[0].image).toBe('nginx:1.27');
  });
});

describe('validateInput: JSON types', () => {
  it('names the path of a wrong type deep in a task definition', () => {
    const body = taskDef({ portMappings: [{ containerPort: 80 }, { containerPort: 443, hostPort: '443' }] });
    expect(errorsOf('RegisterTaskDefinition', body)).toEqual([
      { path: 'containerDefinitions[0].portMappings[1].hostPort', rule: 'must be an integer', value: '443' },
    ]);
  });

  it('reports every problem at once', () => {
    const body = {
      family: 7,
      containerDefinitions: [{ name: 'a', image: 'x', essential: 'yes', command: 'echo hi', environment: [{ name: 'A', value: 1 }] }, 'oops'],
      volumes: {},
    };
    expect(errorsOf('RegisterTaskDefinition', body)).toEqual([
      { path: 'family', rule: 'must be a string', value: 7 },
      { path: 'containerDefinitions[0].essential', rule: 'must be true or false', value: 'yes' },
      { path: 'containerDefinitions[0].command', rule: 'must be an array', value: 'echo hi' },
      { path: 'containerDefinitions[0].environment[0].value', rule: 'must be a string', value: 1 },
      { path: 'containerDefinitions[1]', rule: 'must be an object', value: 'oops' },
      { path: 'volumes', rule: 'must be an array', value: {} },
    ]);
  });

  it('wants a string for task-level cpu and memory, as ECS clients send them', () => {
    expect(errorsOf('RegisterTaskDefinition', taskDef({}, { cpu: 256, memory: '512' }))).toEqual([{ path: 'cpu', rule: 'must be a string', value: 256 }]);
  });

  it('wants integers to be integers, within 32 bits unless the model says otherwise', () => {
    expect(errorsOf('RegisterTaskDefinition', taskDef({ cpu: 0.5 }))).toEqual([{ path: 'containerDefinitions[0].cpu', rule: 'must be an integer', value: 0.5 }]);
    expect(errorsOf('RegisterTaskDefinition', taskDef({ memory: 2 ** 31 }))).toEqual([
      { path: 'containerDefinitions[0].memory', rule: 'must be an integer from -2147483648 to 2147483647', value: 2 ** 31 },
    ]);
    expect(validateInput('RegisterTaskDefinition', taskDef({ memory: 2 ** 31 - 1 })).ok).toBe(true);
  });

  it('treats JSON null as absent, except for required members', () => {
    const r = validateInput('RegisterTaskDefinition', taskDef({ cpu: null, portMappings: null }, { taskRoleArn: null }));
    expect(r.ok && r.value.containerDefinitions[0]).toEqual({ name: 'app', image: 'nginx:1.27', memory: 256 });
    expect(errorsOf('RegisterTaskDefinition', { family: null, containerDefinitions: [] })).toEqual([{ path: 'family', rule: 'is required' }]);
  });

  it('rejects null inside a list', () => {
    expect(errorsOf('DescribeTasks', { tasks: ['a', null] })).toEqual([{ path: 'tasks[1]', rule: 'must be a string', value: null }]);
  });

  it('checks map values and keeps odd keys safely', () => {
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
    const labels = '{"__proto__":"p","com.example.team":"web","n":1}';
    const body = JSON.parse(`{"family":"web","containerDefinitions":[{"name":"app","dockerLabels":${labels}}]}`);
    expect(errorsOf('RegisterTaskDefinition', body)).toEqual([{ path: 'containerDefinitions[0].dockerLabels.n', rule: 'must be a string', value: 1 }]);
    delete body.containerDefinitions[0].dockerLabels.n;
    const r = validateInput('RegisterTaskDefinition', body);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const out = r.value.containerDefinitions[0].dockerLabels!;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'com.example.team']);
    expect(out['com.example.team']).toBe('web');
  });
});

describe('validateInput: required members', () => {
  it('reports missing required members with their path', () => {
    expect(errorsOf('RegisterTaskDefinition', {})).toEqual([
      { path: 'family', rule: 'is required' },
      { path: 'containerDefinitions', rule: 'is required' },
    ]);
    expect(errorsOf('RegisterTaskDefinition', taskDef({ logConfiguration: { options: {} } }))).toEqual([
      { path: 'containerDefinitions[0].logConfiguration.logDriver', rule: 'is required' },
    ]);
  });

  it('does not make up requirements the model lacks (ContainerDefinition requires nothing)', () => {
    expect(validateInput('RegisterTaskDefinition', { family: 'f', containerDefinitions: [{}] }).ok).toBe(true);
  });
});

describe('validateInput: enums and constraints', () => {
  it('checks enums exactly as the model spells them and names the allowed values', () => {
    expect(errorsOf('RunTask', { taskDefinition: 'web', launchType: 'fargate' })).toEqual([
      { path: 'launchType', rule: 'must be one of EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES', value: 'fargate' },
    ]);
    expect(errorsOf('RegisterTaskDefinition', taskDef({ portMappings: [{ containerPort: 80, protocol: 'TCP' }] }))).toEqual([
      { path: 'containerDefinitions[0].portMappings[0].protocol', rule: 'must be one of tcp, udp', value: 'TCP' },
    ]);
    expect(validateInput('RunTask', { taskDefinition: 'web', launchType: 'EC2' }).ok).toBe(true);
  });

  it('checks string lengths in characters (code points)', () => {
    expect(errorsOf('TagResource', { resourceArn: 'arn', tags: [{ key: '', value: 'v' }] })).toEqual([
      { path: 'tags[0].key', rule: 'must be 1 to 128 characters long', value: '' },
    ]);
    expect(validateInput('TagResource', { resourceArn: 'arn', tags: [{ key: '😀'.repeat(128) }] }).ok).toBe(true);
    expect(errorsOf('TagResource', { resourceArn: 'arn', tags: [{ key: 'k'.repeat(129) }] })[0].rule).toBe('must be 1 to 128 characters long');
  });

  it('checks list counts', () => {
    const tags = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect(errorsOf('TagResource', { resourceArn: 'arn', tags })).toEqual([{ path: 'tags', rule: 'must have 0 to 50 items', value: 51 }]);
  });

  it('checks number ranges', () => {
    const body = { cluster: 'c', capacityProviders: ['cp'], defaultCapacityProviderStrategy: [{ capacityProvider: 'cp', weight: 1001, base: -1 }] };
    expect(errorsOf('PutClusterCapacityProviders', body)).toEqual([
      { path: 'defaultCapacityProviderStrategy[0].weight', rule: 'must be an integer from 0 to 1000', value: 1001 },
      { path: 'defaultCapacityProviderStrategy[0].base', rule: 'must be an integer from 0 to 100000', value: -1 },
    ]);
  });
});

describe('validateInput: timestamps', () => {
  it('accepts epoch seconds, ISO 8601 and the documented "yyyy-MM-dd HH:mm:ss.SSSSSS" form, giving Dates', () => {
    const r = validateInput('ListServiceDeployments', {
      service: 'web',
      createdAt: { after: 1714557600.5, before: '2024-05-01T12:00:00Z' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.createdAt?.after).toEqual(new Date(1714557600500));
    expect(r.value.createdAt?.before).toEqual(new Date('2024-05-01T12:00:00Z'));
    const spaced = validateInput('ListServiceDeployments', { service: 'web', createdAt: { after: '2024-05-01 10:00:00.123456' } });
    expect(spaced.ok && spaced.value.createdAt?.after).toEqual(new Date('2024-05-01T10:00:00.123Z'));
  });

  it('keeps every millisecond of fractional epoch seconds (no truncation)', () => {
    // 536945045.035 * 1000 is 536945045034.99994: Date would truncate it to ...034.
    const r = validateInput('SubmitTaskStateChange', { pullStartedAt: 536945045.035 });
    expect(r.ok && (r.value.pullStartedAt as Date).getTime()).toBe(536945045035);
  });

  it.each([['yesterday'], ['1714557600'], [true], [{}], ['2024-13-45']])('rejects %j', (v) => {
    expect(errorsOf('ListServiceDeployments', { service: 'web', createdAt: { after: v } })).toEqual([
      { path: 'createdAt.after', rule: 'must be a timestamp: epoch seconds or an ISO 8601 date-time', value: v },
    ]);
  });
});

describe('validateInput: unknown members', () => {
  it('ignores them, reports their paths and drops them from the value', () => {
    const body = taskDef({ nmae: 'typo', portMappings: [{ containerPort: 80, hostPot: 8080 }] }, { compatibilities: ['EC2'], 'odd key': 1 });
    const r = validateInput('RegisterTaskDefinition', body);
    expect(r).toEqual({
      ok: true,
      value: { family: 'web', containerDefinitions: [{ name: 'app', image: 'nginx:1.27', memory: 256, portMappings: [{ containerPort: 80 }] }] },
      ignored: ['containerDefinitions[0].nmae', 'containerDefinitions[0].portMappings[0].hostPot', 'compatibilities', '["odd key"]'],
    });
  });

  it('reports them also when the request fails', () => {
    const r = validateInput('RegisterTaskDefinition', { family: 'web', extra: true });
    expect(r).toEqual({ ok: false, errors: [{ path: 'containerDefinitions', rule: 'is required' }], ignored: ['extra'] });
  });

  it('does not mistake Object.prototype names for members', () => {
    const r = validateInput('DescribeTasks', JSON.parse('{"tasks":["t"],"constructor":1,"toString":2,"__proto__":{"x":1}}'));
    expect(r).toEqual({ ok: true, value: { tasks: ['t'] }, ignored: ['constructor', 'toString', '__proto__'] });
  });
});

describe('validateInput: documents', () => {
  it('passes free-form hookDetails through', () => {
    const hookDetails = { any: ['json', 1, null, { deep: true }] };
    const r = validateInput('CreateService', { serviceName: 's', deploymentConfiguration: { lifecycleHooks: [{ hookTargetArn: 'arn', hookDetails }] } });
    expect(r.ok && r.value.deploymentConfiguration?.lifecycleHooks?.[0].hookDetails).toEqual(hookDetails);
  });
});

describe('validateInput: abuse', () => {
  function nested(levels: number, leaf: unknown = {}): unknown {
    let v: unknown = leaf;
    for (let i = 0; i < levels; i++) v = { a: v };
    return v;
  }

  it('returns an error for 10,000 levels of nesting in an unknown member', () => {
    expect(errorsOf('RegisterTaskDefinition', { family: 'f', deep: nested(10_000) })).toEqual([
      { path: `deep${'.a'.repeat(31)}`, rule: 'nests deeper than 32 levels' },
    ]);
  });

  it('returns an error for 10,000 levels of nesting in arrays and in a document', () => {
    let arr: unknown = [];
    for (let i = 0; i < 10_000; i++) arr = [arr];
    expect(errorsOf('DescribeTasks', { tasks: arr })[0].rule).toBe('nests deeper than 32 levels');
    const body = { serviceName: 's', deploymentConfiguration: { lifecycleHooks: [{ hookDetails: nested(10_000) }] } };
    expect(errorsOf('CreateService', body)[0].rule).toBe('nests deeper than 32 levels');
  });

  it('accepts nesting up to the limit', () => {
    expect(validateInput('DescribeTasks', { tasks: [], x: nested(30) }).ok).toBe(true);
    expect(validateInput('DescribeTasks', { tasks: [], x: nested(31) }).ok).toBe(false);
    expect(validateInput('DescribeTasks', { tasks: [], x: nested(40) }, { maxDepth: 64 }).ok).toBe(true);
  });

  it('returns an error for a huge body', () => {
    const tasks = Array.from({ length: 200_000 }, (_, i) => `t${i}`);
    expect(errorsOf('DescribeTasks', { tasks })).toEqual([{ path: '', rule: 'the request has more than 100000 values' }]);
    expect(validateInput('DescribeTasks', { tasks: tasks.slice(0, 50_000) }).ok).toBe(true);
  });

  it('caps the number of errors', () => {
    const tasks = Array.from({ length: 1000 }, (_, i) => i);
    const errors = errorsOf('DescribeTasks', { tasks });
    expect(errors).toHaveLength(101);
    expect(errors[100]).toEqual({ path: '', rule: 'and 900 more problems' });
  });

  it('survives a cyclic object (a programming error) with a clean error', () => {
    const body: Record<string, unknown> = { tasks: [] };
    body.self = body;
    expect(errorsOf('DescribeTasks', body)[0].rule).toMatch(/nests deeper than 32 levels|more than/);
  });
});
