import { describe, expect, it } from 'vitest';
import { evaluateClusterQuery, formatClusterQuery, parseClusterQuery, QueryParseError, type QueryContext } from './cluster-query.js';

const node = (attributes: Record<string, string>, over: Partial<QueryContext> = {}): QueryContext => ({
  instanceId: 'n-1',
  attributes: new Map(Object.entries(attributes)),
  taskGroups: new Set(['family:web']),
  agentConnected: true,
  agentVersion: '0.1.0',
  runningTasksCount: 3,
  ...over,
});
const holds = (expr: string, ctx: QueryContext) => evaluateClusterQuery(parseClusterQuery(expr), ctx);

describe('cluster query language', () => {
  const pi = node({ 'ecs.cpu-architecture': 'arm64', zone: 'attic', disk: 'ssd-1tb', gpu: 'none', cores: '4' });

  it.each([
    ['attribute:ecs.cpu-architecture == arm64', true],
    ['attribute:ecs.cpu-architecture equals x86_64', false],
    ['attribute:ecs.cpu-architecture != x86_64', true],
    ['attribute:zone in [kitchen, attic]', true],
    ['attribute:zone not_in [kitchen, attic]', false],
    ['attribute:zone !in [kitchen]', true],
    ['attribute:gpu exists', true],
    ['attribute:tpu exists', false],
    ['attribute:tpu !exists', true],
    ['attribute:tpu not_exists', true],
    ['attribute:disk =~ ssd.*', true],
    ["attribute:disk =~ 'ssd-[0-9]+tb'", true],
    ['attribute:disk matches hdd.*', false],
    ['attribute:disk !~ hdd.*', true],
    ["attribute:zone == 'attic'", true],
    ['attribute:cores > 2', true],
    ['attribute:cores >= 10', false],
    ['attribute:cores < 10', true],
    ['not(attribute:zone == attic)', false],
    ['!(attribute:zone == garage)', true],
    ['attribute:zone == attic and attribute:gpu exists', true],
    ['attribute:zone == attic && attribute:tpu exists', false],
    ['attribute:zone == garage or attribute:disk =~ ssd.*', true],
    ['attribute:zone == garage || (attribute:cores > 2 and not(attribute:tpu exists))', true],
    ['task:group == family:web', true],
    ['task:group == service:db', false],
    ['task:group != service:db', true],
    ['instanceId == n-1', true],
    ['ec2InstanceId in [n-2, n-3]', false],
    ['agentConnected == true', true],
    ['runningTasksCount <= 3', true],
    ['attribute:tpu != x', true], // a missing attribute satisfies negative comparisons only
    ['attribute:tpu == x', false],
  ])('%s -> %s', (expr, expected) => {
    expect(holds(expr, pi)).toBe(expected);
  });

  it('binds and tighter than or', () => {
    // false or (true and false) = false; (false or true) and false would also be false, so use a telling case:
    expect(holds('attribute:zone == attic or attribute:zone == x and attribute:zone == y', pi)).toBe(true);
  });

  it.each([
    ['', 0, 'empty expression'],
    ['attribute:zone', 14, 'expected an operator'],
    ['attribute:zone === attic', 17, 'unexpected character "="'],
    ['attribute:zone in kitchen', 18, 'expected "[" to start a list'],
    ['attribute:zone in [kitchen attic]', 27, 'expected "," or "]"'],
    ['zone == attic', 0, 'unknown subject "zone"'],
    ['attribute: == x', 0, 'expected an attribute name'],
    ['(attribute:zone == attic', 24, 'expected ")"'],
    ['attribute:zone == attic )', 24, 'unexpected ")"'],
    ['not attribute:zone == attic', 4, 'expected "(" after not'],
    ['attribute:disk =~ (', 18, 'expected a value'],
    ["attribute:zone == 'attic", 18, 'unterminated quoted value'],
    ["attribute:disk =~ 'ssd['", 18, 'not a valid pattern'],
    ['attribute:disk =~ ssd[0-9]', 21, 'unexpected "["'], // brackets in a pattern need quotes
    ['attribute:zone == attic and', 27, 'expected a condition'],
  ])('%j fails at character %i: %s', (expr, position, reason) => {
    try {
      parseClusterQuery(expr);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(QueryParseError);
      const e = err as QueryParseError;
      expect(e.reason).toContain(reason);
      expect(e.position).toBe(position);
      expect(e.message).toContain(`at character ${position + 1}`);
    }
  });

  it('prints an expression back', () => {
    expect(formatClusterQuery(parseClusterQuery('not(attribute:a in [x,y]) and task:group exists'))).toBe('(not(attribute:a in [x, y]) and task:group exists)');
  });
});
