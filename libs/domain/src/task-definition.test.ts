import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { parseTaskDefinition, staticHostPorts } from './task-definition.js';

const web = {
  family: 'web',
  containerDefinitions: [{ name: 'web', image: 'nginx:1.27', memory: 128, portMappings: [{ containerPort: 80, hostPort: 8080 }] }],
};

function errorsOf(doc: unknown): string[] {
  try {
    parseTaskDefinition(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).fieldErrors.map((e) => `${e.path}: ${e.rule}${e.value === undefined ? '' : ` (${JSON.stringify(e.value)})`}`);
  }
  throw new Error('expected a validation error');
}

describe('parseTaskDefinition', () => {
  it('accepts a RegisterTaskDefinition request as is', () => {
    const { spec, warnings } = parseTaskDefinition(web);
    expect(spec).toEqual(web);
    expect(warnings).toEqual([]);
  });

  it('accepts the whole describe-task-definition output, ignoring read-only fields', () => {
    const described = {
      taskDefinition: {
        ...web,
        taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123:task-definition/web:7',
        revision: 7,
        status: 'ACTIVE',
        requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' }],
        compatibilities: ['EC2'],
        registeredAt: '2024-01-01T00:00:00Z',
        registeredBy: 'arn:aws:iam::123:user/me',
      },
      tags: [{ key: 'team', value: 'home' }],
    };
    const { spec } = parseTaskDefinition(described);
    expect(spec).toEqual({ ...web, tags: [{ key: 'team', value: 'home' }] });
  });

  it('keeps AWS-only fields and says what Berth does instead', () => {
    const { spec, warnings } = parseTaskDefinition({
      ...web,
      executionRoleArn: 'arn:aws:iam::1:role/exec',
      requiresCompatibilities: ['FARGATE'],
    });
    // A role ARN names a Berth role (which secrets the task may read): kept, no warning.
    expect(spec.executionRoleArn).toBe('arn:aws:iam::1:role/exec');
    expect(warnings.join('\n')).not.toMatch(/executionRoleArn/);
    expect(warnings.join('\n')).toMatch(/requiresCompatibilities: ignored/);
  });

  it('does not warn about empty values', () => {
    expect(parseTaskDefinition({ ...web, taskRoleArn: '', volumes: [] }).warnings).toEqual([]);
  });

  it('warns about container fields this version does not apply yet', () => {
    const { warnings } = parseTaskDefinition({
      family: 'w',
      containerDefinitions: [{ name: 'a', image: 'x', memory: 64, links: ['b'] }],
    });
    expect(warnings).toEqual(['containerDefinitions[0].links: accepted and kept, but not applied by this Berth version']);
  });

  it('reports every problem at once, with path, rule and value', () => {
    const errs = errorsOf({
      family: 'bad family',
      networkMode: 'overlay',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 64 },
        { name: 'a', imagee: 'x', memory: 2, portMappings: [{ containerPort: 70000, protocol: 'sctp' }] },
      ],
    });
    expect(errs).toEqual([
      'family: must be 1-255 letters, digits, hyphens or underscores ("bad family")',
      'networkMode: must be one of bridge, host, awsvpc, none ("overlay")',
      'containerDefinitions[1].imagee: is not a container definition field',
      'containerDefinitions[1].image: is required',
      'containerDefinitions[1].memory: must be an integer number of MiB, at least 6 (2)',
      'containerDefinitions[1].portMappings[0].containerPort: must be 1-65535 (70000)',
      'containerDefinitions[1].portMappings[0].protocol: must be tcp or udp ("sctp")',
      'containerDefinitions[1].name: must be unique within the task definition ("a")',
    ]);
  });

  it('formats the error message as the issue asks', () => {
    expect(() =>
      parseTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'a', image: 'x', memory: 8 }, { name: 'b', image: 'y', memory: 8, portMappings: [{ containerPort: 70000 }] }] }),
    ).toThrow('containerDefinitions[1].portMappings[0].containerPort: must be 1-65535, got 70000');
  });

  it('requires family and containers, and memory when the task sets none', () => {
    expect(errorsOf({})).toEqual(['family: is required', 'containerDefinitions: is required']);
    expect(errorsOf({ family: 'f', containerDefinitions: [] })).toEqual(['containerDefinitions: must be a non-empty array ([])']);
    expect(errorsOf({ family: 'f', containerDefinitions: [{ name: 'a', image: 'x' }] })).toEqual([
      'containerDefinitions[0].memory: is required (or memoryReservation) when the task sets no memory',
    ]);
    expect(parseTaskDefinition({ family: 'f', memory: '1 GB', cpu: '0.5 vCPU', containerDefinitions: [{ name: 'a', image: 'x' }] }).spec).toMatchObject({
      memory: '1024',
      cpu: '512',
    });
  });

  it('rejects documents that are not objects, and unknown top-level fields', () => {
    expect(errorsOf([])).toEqual([': must be a JSON object ([])']);
    expect(errorsOf({ ...web, familly: 'x' })).toEqual(['familly: is not a task definition field']);
  });

  it('needs an essential container, and distinct static host ports', () => {
    expect(errorsOf({ family: 'f', containerDefinitions: [{ name: 'a', image: 'x', memory: 8, essential: false }] })).toEqual([
      'containerDefinitions: must have at least one essential container',
    ]);
    expect(
      errorsOf({
        family: 'f',
        containerDefinitions: [
          { name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 80, hostPort: 80 }] },
          { name: 'b', image: 'x', memory: 8, portMappings: [{ containerPort: 81, hostPort: 80 }] },
        ],
      }),
    ).toEqual(['containerDefinitions[1].portMappings[0].hostPort: is already used by containerDefinitions[0].portMappings[0] (80)']);
  });

  it('requires hostPort == containerPort in host mode, and knows static ports', () => {
    expect(errorsOf({ family: 'f', networkMode: 'host', containerDefinitions: [{ name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 80, hostPort: 81 }] }] })).toEqual([
      'containerDefinitions[0].portMappings[0].hostPort: must equal containerPort in host network mode (81)',
    ]);
    const host = parseTaskDefinition({ family: 'f', networkMode: 'host', containerDefinitions: [{ name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 53, protocol: 'udp' }] }] });
    expect(staticHostPorts(host.spec)).toEqual(['53/udp']);
    const bridge = parseTaskDefinition({ family: 'f', containerDefinitions: [{ name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 80 }, { containerPort: 81, hostPort: 0 }, { containerPort: 82, hostPort: 8082 }] }] });
    expect(staticHostPorts(bridge.spec)).toEqual(['8082/tcp']);
  });
});
