import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { parseCreateService, parseUpdateService } from './service.js';

const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).fieldErrors.map((e) => e.path);
  }
  throw new Error('expected an error');
};

describe('parseCreateService', () => {
  it('takes an ECS CreateService body with ECS defaults', () => {
    const { spec, warnings } = parseCreateService({ cluster: 'home', serviceName: 'web', taskDefinition: 'web:3', desiredCount: 4 });
    expect(spec).toMatchObject({
      serviceName: 'web',
      taskDefinition: 'web:3',
      desiredCount: 4,
      schedulingStrategy: 'REPLICA',
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: false, rollback: false } },
      healthCheckGracePeriodSeconds: 0,
    });
    expect(warnings).toEqual([]);
  });
  it('DAEMON defaults to 0/100 and ignores desiredCount', () => {
    const { spec, warnings } = parseCreateService({ serviceName: 'agent', taskDefinition: 'mon', schedulingStrategy: 'DAEMON', desiredCount: 3 });
    expect(spec.deploymentConfiguration).toMatchObject({ minimumHealthyPercent: 0, maximumPercent: 100 });
    expect(spec.desiredCount).toBe(0);
    expect(warnings[0]).toMatch(/^desiredCount: ignored/);
  });
  it('reports AWS-only fields and keeps them', () => {
    const { spec, warnings } = parseCreateService({
      serviceName: 'web',
      taskDefinition: 'web',
      desiredCount: 1,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
      loadBalancers: [{ targetGroupArn: 'arn:x', containerName: 'web', containerPort: 80 }],
      deploymentConfiguration: { alarms: { alarmNames: ['a'], enable: true, rollback: true } },
    });
    expect(warnings.map((w) => w.split(':')[0])).toEqual(['deploymentConfiguration.alarms', 'launchType', 'networkConfiguration']);
    expect(spec.kept.launchType).toBe('FARGATE');
    expect(spec.loadBalancers).toEqual([{ targetGroupArn: 'arn:x', containerName: 'web', containerPort: 80 }]);
  });
  it('checks loadBalancers as ECS does, every problem at once', () => {
    expect(() =>
      parseCreateService({
        serviceName: 'web',
        taskDefinition: 'web',
        desiredCount: 1,
        loadBalancers: [{ loadBalancerName: 'classic', containerName: 'web', containerPort: 80 }, { targetGroupArn: 'arn:tg', containerName: '', containerPort: 70000, port: 1 }],
      }),
    ).toThrow(/loadBalancers\[0\]\.targetGroupArn: is required: Classic Load Balancers[\s\S]*loadBalancers\[1\]\.port: is not a load balancer field[\s\S]*loadBalancers\[1\]\.containerName: is required[\s\S]*loadBalancers\[1\]\.containerPort: is required, 1-65535/);
  });
  it('accepts describe-services output, read-only fields ignored, cluster from clusterArn', () => {
    const out = parseCreateService({
      services: [
        {
          serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/web',
          clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
          serviceName: 'web',
          taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7',
          desiredCount: 2,
          runningCount: 2,
          status: 'ACTIVE',
          deployments: [],
          events: [],
          launchType: 'EC2',
        },
      ],
    });
    expect(out.cluster).toBe('prod');
    expect(out.warnings).toEqual([]);
  });
  it('names every bad field at once', () => {
    expect(
      problems(() =>
        parseCreateService({
          serviceName: 'bad name',
          desiredCount: -1,
          schedulingStrategy: 'SOMETIMES',
          deploymentConfiguration: { minimumHealthyPercent: 150, maximumPercent: 50, deploymentCircuitBreaker: { enable: 'yes' }, strategy: 'BLUE_GREEN' },
          placementConstraints: [{ expression: 'x' }],
          deploymentController: { type: 'CODE_DEPLOY' },
          nonsense: 1,
        }),
      ),
    ).toEqual([
      'nonsense',
      'serviceName',
      'schedulingStrategy',
      'taskDefinition',
      'desiredCount',
      'deploymentConfiguration.strategy',
      'deploymentConfiguration.minimumHealthyPercent',
      'deploymentConfiguration.maximumPercent',
      'deploymentConfiguration.deploymentCircuitBreaker.enable',
      'deploymentConfiguration.deploymentCircuitBreaker.rollback',
      'deploymentController.type',
      'placementConstraints[0].type',
    ]);
  });
  it('a REPLICA service needs desiredCount; a DAEMON takes no strategy', () => {
    expect(problems(() => parseCreateService({ serviceName: 'w', taskDefinition: 'w' }))).toEqual(['desiredCount']);
    expect(problems(() => parseCreateService({ serviceName: 'w', taskDefinition: 'w', schedulingStrategy: 'DAEMON', placementStrategy: [{ type: 'spread', field: 'instanceId' }] }))).toEqual(['placementStrategy']);
  });
});

describe('parseUpdateService', () => {
  it('takes the fields given and nothing else', () => {
    const { update } = parseUpdateService({ service: 'web', desiredCount: 6, forceNewDeployment: true, deploymentConfiguration: { minimumHealthyPercent: 50 } });
    expect(update).toMatchObject({ service: 'web', desiredCount: 6, forceNewDeployment: true, deploymentConfiguration: { minimumHealthyPercent: 50 } });
    expect(update.taskDefinition).toBeUndefined();
    expect(update.deploymentConfiguration?.maximumPercent).toBeUndefined();
  });
  it('refuses fields that are not UpdateService fields', () => {
    expect(problems(() => parseUpdateService({ service: 'web', serviceName: 'x', desiredCount: 'two' }))).toEqual(['serviceName', 'desiredCount']);
  });
});
