// The ECS documentation examples (botocore ecs.examples-1.json) through validateInput and toWire.
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from './gen/ecs-model.js';
import { isOperation } from './model.js';
import { validateInput } from './validate.js';
import { toWire } from './wire.js';

// Copied from botocore ecs.examples-1.json (Apache-2.0): every example request, and three responses.
// CI has no ../shared, so the fixture lives here.
const EXAMPLE_INPUTS: [string, unknown][] = [
  ["CreateCluster", {"clusterName":"my_cluster"}],
  ["CreateService", {"desiredCount":10,"serviceName":"ecs-simple-service","taskDefinition":"hello_world"}],
  ["CreateService", {"desiredCount":10,"loadBalancers":[{"containerName":"simple-app","containerPort":80,"loadBalancerName":"EC2Contai-EcsElast-15DCDAURT3ZO2"}],"role":"ecsServiceRole","serviceName":"ecs-simple-service-elb","taskDefinition":"console-sample-app-static"}],
  ["DeleteAccountSetting", {"name":"serviceLongArnFormat"}],
  ["DeleteAccountSetting", {"name":"containerInstanceLongArnFormat","principalArn":"arn:aws:iam::<aws_account_id>:user/principalName"}],
  ["DeleteCluster", {"cluster":"my_cluster"}],
  ["DeleteService", {"service":"my-http-service"}],
  ["DeregisterContainerInstance", {"cluster":"default","containerInstance":"container_instance_UUID","force":true}],
  ["DescribeClusters", {"clusters":["default"]}],
  ["DescribeContainerInstances", {"cluster":"default","containerInstances":["f2756532-8f13-4d53-87c9-aed50dc94cd7"]}],
  ["DescribeServices", {"services":["ecs-simple-service"]}],
  ["DescribeTaskDefinition", {"taskDefinition":"hello_world:8"}],
  ["DescribeTasks", {"tasks":["c5cba4eb-5dad-405e-96db-71ef8eefe6a8"]}],
  ["ListAccountSettings", {"effectiveSettings":true}],
  ["ListAccountSettings", {"effectiveSettings":true,"principalArn":"arn:aws:iam::<aws_account_id>:user/principalName"}],
  ["ListClusters", {}],
  ["ListContainerInstances", {"cluster":"default"}],
  ["ListServices", {}],
  ["ListTagsForResource", {"resourceArn":"arn:aws:ecs:region:aws_account_id:cluster/dev"}],
  ["ListTaskDefinitionFamilies", {}],
  ["ListTaskDefinitionFamilies", {"familyPrefix":"hpcc"}],
  ["ListTaskDefinitions", {}],
  ["ListTaskDefinitions", {"familyPrefix":"wordpress"}],
  ["ListTasks", {"cluster":"default"}],
  ["ListTasks", {"cluster":"default","containerInstance":"f6bbb147-5370-4ace-8c73-c7181ded911f"}],
  ["PutAccountSetting", {"name":"serviceLongArnFormat","value":"enabled"}],
  ["PutAccountSetting", {"name":"containerInstanceLongArnFormat","value":"enabled","principalArn":"arn:aws:iam::<aws_account_id>:user/principalName"}],
  ["PutAccountSettingDefault", {"name":"serviceLongArnFormat","value":"enabled"}],
  ["RegisterTaskDefinition", {"containerDefinitions":[{"name":"sleep","command":["sleep","360"],"cpu":10,"essential":true,"image":"busybox","memory":10}],"family":"sleep360","taskRoleArn":"","volumes":[]}],
  ["RunTask", {"cluster":"default","taskDefinition":"sleep360:1"}],
  ["TagResource", {"resourceArn":"arn:aws:ecs:region:aws_account_id:cluster/dev","tags":[{"key":"team","value":"dev"}]}],
  ["UntagResource", {"resourceArn":"arn:aws:ecs:region:aws_account_id:cluster/dev","tagKeys":["team"]}],
  ["UpdateService", {"service":"my-http-service","taskDefinition":"amazon-ecs-sample"}],
  ["UpdateService", {"desiredCount":10,"service":"my-http-service"}],
];

const EXAMPLE_OUTPUTS: [string, unknown][] = [
  ["CreateService", {"service":{"clusterArn":"arn:aws:ecs:us-east-1:012345678910:cluster/default","createdAt":"2016-08-29T16:13:47.298Z","deploymentConfiguration":{"maximumPercent":200,"minimumHealthyPercent":100},"deployments":[{"createdAt":"2016-08-29T16:13:47.298Z","desiredCount":10,"id":"ecs-svc/9223370564342348388","pendingCount":0,"runningCount":0,"status":"PRIMARY","taskDefinition":"arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6","updatedAt":"2016-08-29T16:13:47.298Z"},{"createdAt":"2016-08-29T15:52:44.481Z","desiredCount":0,"id":"ecs-svc/9223370564343611322","pendingCount":0,"runningCount":0,"status":"ACTIVE","taskDefinition":"arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6","updatedAt":"2016-08-29T16:11:38.941Z"}],"desiredCount":10,"events":[],"loadBalancers":[],"pendingCount":0,"runningCount":0,"serviceArn":"arn:aws:ecs:us-east-1:012345678910:service/ecs-simple-service","serviceName":"ecs-simple-service","status":"ACTIVE","taskDefinition":"arn:aws:ecs:us-east-1:012345678910:task-definition/hello_world:6"}}],
  ["DescribeTasks", {"failures":[],"tasks":[{"clusterArn":"arn:aws:ecs:<region>:<aws_account_id>:cluster/default","containerInstanceArn":"arn:aws:ecs:<region>:<aws_account_id>:container-instance/18f9eda5-27d7-4c19-b133-45adc516e8fb","containers":[{"name":"ecs-demo","containerArn":"arn:aws:ecs:<region>:<aws_account_id>:container/7c01765b-c588-45b3-8290-4ba38bd6c5a6","lastStatus":"RUNNING","networkBindings":[{"bindIP":"0.0.0.0","containerPort":80,"hostPort":80}],"taskArn":"arn:aws:ecs:<region>:<aws_account_id>:task/c5cba4eb-5dad-405e-96db-71ef8eefe6a8"}],"desiredStatus":"RUNNING","lastStatus":"RUNNING","overrides":{"containerOverrides":[{"name":"ecs-demo"}]},"startedBy":"ecs-svc/9223370608528463088","taskArn":"arn:aws:ecs:<region>:<aws_account_id>:task/c5cba4eb-5dad-405e-96db-71ef8eefe6a8","taskDefinitionArn":"arn:aws:ecs:<region>:<aws_account_id>:task-definition/amazon-ecs-sample:1"}]}],
  ["DescribeTaskDefinition", {"taskDefinition":{"containerDefinitions":[{"name":"wordpress","cpu":10,"environment":[],"essential":true,"image":"wordpress","links":["mysql"],"memory":500,"mountPoints":[],"portMappings":[{"containerPort":80,"hostPort":80}],"volumesFrom":[]},{"name":"mysql","cpu":10,"environment":[{"name":"MYSQL_ROOT_PASSWORD","value":"password"}],"essential":true,"image":"mysql","memory":500,"mountPoints":[],"portMappings":[],"volumesFrom":[]}],"family":"hello_world","revision":8,"taskDefinitionArn":"arn:aws:ecs:us-east-1:<aws_account_id>:task-definition/hello_world:8","volumes":[]}}],
];

const TIMESTAMP_KEYS = new Set(['createdAt', 'updatedAt', 'registeredAt', 'startedAt', 'stoppedAt']);

describe('ECS documentation examples', () => {
  it.each(EXAMPLE_INPUTS.map(([op, input], i) => [`${op} #${i}`, op, input] as const))('request %s is valid, nothing ignored', (_name, op, input) => {
    const r = validateInput(op, input);
    expect(r).toEqual({ ok: true, value: input, ignored: [] });
  });

  it('covers 26 operations', () => {
    const ops = new Set(EXAMPLE_INPUTS.map(([op]) => op));
    expect(ops.size).toBe(26);
    for (const op of ops) expect(isOperation(op)).toBe(true);
  });

  it.each(EXAMPLE_OUTPUTS)('response %s encodes with nothing dropped', (op, output) => {
    const dropped: string[] = [];
    const wire = toWire(OPERATIONS[op as keyof typeof OPERATIONS].output!, output, { onDropped: (p) => dropped.push(p) });
    expect(dropped).toEqual([]);
    // Timestamps become epoch seconds; everything else is the same JSON.
    const expected = JSON.parse(JSON.stringify(output), (k, v) => (TIMESTAMP_KEYS.has(k) && typeof v === 'string' ? Date.parse(v) / 1000 : v));
    expect(wire).toEqual(expected);
  });

  it('CreateService response: createdAt ISO strings become epoch seconds with milliseconds', () => {
    const output = EXAMPLE_OUTPUTS.find(([op]) => op === 'CreateService')![1];
    const wire = toWire('CreateServiceResponse', output) as { service: { createdAt: number; deployments: { createdAt: number }[] } };
    expect(wire.service.createdAt).toBe(1472487227.298);
    expect(wire.service.deployments[0].createdAt).toBe(1472487227.298);
  });
});
