// Bodies captured from the AWS CLI (aws-cli 1.45 / botocore 1.43, `aws elbv2 ... --endpoint-url` against a local
// listener), decoded against the ELBv2 model.
import { describe, expect, it } from 'vitest';
import { ELBV2_MODEL } from './gen/elbv2-model.js';
import type { ServiceModel } from './model-types.js';
import { XML_MODEL } from './query-model.fixture.js';
import { decodeQuery } from './query-decode.js';

const ok = (body: string) => {
  const r = decodeQuery(ELBV2_MODEL, body);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.input;
};
const errors = (body: string | Record<string, string>, model: ServiceModel = ELBV2_MODEL) => {
  const r = decodeQuery(model, body);
  if (r.ok) throw new Error('decoded');
  return r.errors;
};

describe('decodeQuery: what the AWS CLI sends', () => {
  it('create-target-group: scalars, integers from decimal text', () => {
    const r = decodeQuery(ELBV2_MODEL, 'Action=CreateTargetGroup&Version=2015-12-01&Name=web&Protocol=HTTP&Port=80&VpcId=vpc-1');
    expect(r).toEqual({ ok: true, action: 'CreateTargetGroup', version: '2015-12-01', input: { Name: 'web', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1' } });
  });

  it('create-target-group with a boolean, a nested structure and an escaped path', () => {
    expect(ok('Action=CreateTargetGroup&Version=2015-12-01&Name=web2&Protocol=HTTP&Port=8080&VpcId=vpc-1&HealthCheckEnabled=true&HealthCheckPath=%2Fhealthz&HealthCheckIntervalSeconds=10&Matcher.HttpCode=200-299&TargetType=ip')).toEqual({
      Name: 'web2', Protocol: 'HTTP', Port: 8080, VpcId: 'vpc-1', HealthCheckEnabled: true, HealthCheckPath: '/healthz', HealthCheckIntervalSeconds: 10, Matcher: { HttpCode: '200-299' }, TargetType: 'ip',
    });
  });

  it('create-load-balancer --subnets --tags: lists as Member.member.N', () => {
    expect(ok('Action=CreateLoadBalancer&Version=2015-12-01&Name=lb1&Subnets.member.1=subnet-a&Subnets.member.2=subnet-b&Scheme=internal&Tags.member.1.Key=env&Tags.member.1.Value=prod&Tags.member.2.Key=team&Tags.member.2.Value=web&Type=application')).toEqual({
      Name: 'lb1', Subnets: ['subnet-a', 'subnet-b'], Scheme: 'internal', Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'web' }], Type: 'application',
    });
  });

  it('create-listener --default-actions with a weighted ForwardConfig', () => {
    expect(ok('Action=CreateListener&Version=2015-12-01&LoadBalancerArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123%3Aloadbalancer%2Fapp%2Flb1%2Fabc&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=forward&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=arn%3Atg%2Fa&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=80&DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=arn%3Atg%2Fb&DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight=20&DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=true&DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds=300')).toEqual({
      LoadBalancerArn: 'arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/lb1/abc',
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [{ TargetGroupArn: 'arn:tg/a', Weight: 80 }, { TargetGroupArn: 'arn:tg/b', Weight: 20 }],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
        },
      }],
    });
  });

  it('create-rule --conditions: lists inside list items', () => {
    expect(ok('Action=CreateRule&Version=2015-12-01&ListenerArn=arn%3Alistener%2F1&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fapi%2F%2A&Conditions.member.1.PathPatternConfig.Values.member.2=%2Fv2%2F%2A&Conditions.member.2.Field=http-header&Conditions.member.2.HttpHeaderConfig.HttpHeaderName=X-Env&Conditions.member.2.HttpHeaderConfig.Values.member.1=prod&Priority=10&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn=arn%3Atg%2Fa')).toEqual({
      ListenerArn: 'arn:listener/1',
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*', '/v2/*'] } },
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Env', Values: ['prod'] } },
      ],
      Priority: 10,
      Actions: [{ Type: 'forward', TargetGroupArn: 'arn:tg/a' }],
    });
  });

  it('register-targets --targets Id=..,Port=..', () => {
    expect(ok('Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=arn%3Atg%2Fa&Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=8080&Targets.member.2.Id=10.0.0.2&Targets.member.2.Port=8081&Targets.member.2.AvailabilityZone=all')).toEqual({
      TargetGroupArn: 'arn:tg/a', Targets: [{ Id: '10.0.0.1', Port: 8080 }, { Id: '10.0.0.2', Port: 8081, AvailabilityZone: 'all' }],
    });
  });

  it('modify-target-group-attributes --attributes Key=..,Value=..', () => {
    expect(ok('Action=ModifyTargetGroupAttributes&Version=2015-12-01&TargetGroupArn=arn%3Atg%2Fa&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=30&Attributes.member.2.Key=stickiness.enabled&Attributes.member.2.Value=true')).toEqual({
      TargetGroupArn: 'arn:tg/a', Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }, { Key: 'stickiness.enabled', Value: 'true' }],
    });
  });

  it('describe-target-groups with and without --names; an empty value; an empty list (Subnets=)', () => {
    expect(ok('Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=a&Names.member.2=b')).toEqual({ Names: ['a', 'b'] });
    expect(ok('Action=DescribeTargetGroups&Version=2015-12-01')).toEqual({});
    expect(ok('Action=AddTags&Version=2015-12-01&ResourceArns.member.1=arn%3Atg%2Fa&Tags.member.1.Key=k&Tags.member.1.Value=')).toEqual({ ResourceArns: ['arn:tg/a'], Tags: [{ Key: 'k', Value: '' }] });
    expect(ok('Action=SetSubnets&Version=2015-12-01&LoadBalancerArn=arn%3Alb&Subnets=')).toEqual({ LoadBalancerArn: 'arn:lb', Subnets: [] });
  });

  it('takes URLSearchParams and plain objects, items in index order, SigV4 query keys ignored', () => {
    const params = new URLSearchParams({ Action: 'DescribeTargetGroups', Version: '2015-12-01', 'Names.member.2': 'b', 'Names.member.1': 'a', 'X-Amz-Signature': 'abc' });
    expect(decodeQuery(ELBV2_MODEL, params)).toMatchObject({ ok: true, input: { Names: ['a', 'b'] } });
    expect(decodeQuery(ELBV2_MODEL, { Action: 'DescribeTargetGroups', Version: '2015-12-01', 'Names.member.10': 'j', 'Names.member.9': 'i' })).toMatchObject({ ok: true, input: { Names: ['i', 'j'] } });
  });
});

describe('decodeQuery: errors the caller maps', () => {
  it('action and version', () => {
    expect(errors('Version=2015-12-01')).toEqual([{ kind: 'missing-action', path: '', rule: 'the request has no Action', key: 'Action' }]);
    expect(errors('Action=toString&Version=2015-12-01')).toEqual([{ kind: 'unknown-action', path: '', rule: 'is not an Elastic Load Balancing v2 operation', value: 'toString', key: 'Action' }]);
    expect(errors('Action=DescribeTargetGroups')).toMatchObject([{ kind: 'missing-version' }]);
    expect(errors('Action=DescribeTargetGroups&Version=2012-06-01')).toEqual([{ kind: 'wrong-version', path: '', rule: 'must be 2015-12-01', value: '2012-06-01', key: 'Version' }]);
  });

  it('every problem at once: unknown keys, bad numbers, bad indexes, values on structures, then the model rules', () => {
    expect(errors('Action=CreateTargetGroup&Version=2015-12-01&Port=abc&Protocol=HTTPX&Bogus.x=1&Tags.member.x.Key=1&Matcher=3&HealthCheckEnabled=yes')).toEqual([
      { kind: 'invalid-value', path: 'Port', rule: 'must be an integer', value: 'abc', key: 'Port' },
      { kind: 'unknown-parameter', path: 'Bogus', rule: 'is not a parameter of this operation', value: '1', key: 'Bogus.x' },
      { kind: 'malformed-parameter', path: 'Tags', rule: 'list items must be numbered 1, 2, ... (got "x")', value: '1', key: 'Tags.member.x.Key' },
      { kind: 'malformed-parameter', path: 'Matcher', rule: 'is a structure: give its members as Matcher.<Member>', value: '3', key: 'Matcher' },
      { kind: 'invalid-value', path: 'HealthCheckEnabled', rule: 'must be true or false', value: 'yes', key: 'HealthCheckEnabled' },
      { kind: 'invalid-value', path: 'Name', rule: 'is required' },
      { kind: 'invalid-value', path: 'Protocol', rule: expect.stringMatching(/^must be one of HTTP, HTTPS, /), value: 'HTTPX' },
    ]);
  });

  it('model rules with field paths: ranges, lengths, patterns, list counts', () => {
    expect(errors('Action=CreateTargetGroup&Version=2015-12-01&Name=web&Port=70000&Tags.member.1.Key=&Tags.member.1.Value=v')).toEqual([
      { kind: 'invalid-value', path: 'Port', rule: 'must be an integer from 1 to 65535', value: 70000 },
      { kind: 'invalid-value', path: 'Tags[0].Key', rule: 'must be 1 to 128 characters long', value: '' },
    ]);
    expect(errors('Action=CreateRule&Version=2015-12-01&ListenerArn=l&Priority=1&Conditions=&Actions.member.1.Type=fixed-response&Actions.member.1.FixedResponseConfig.StatusCode=302')).toEqual([
      { kind: 'invalid-value', path: 'Actions[0].FixedResponseConfig.StatusCode', rule: 'must match the pattern ^(2|4|5)\\d\\d$', value: '302' },
    ]);
  });

  it('a list given as a scalar, items without the member segment, members of scalars', () => {
    expect(errors('Action=DescribeTargetGroups&Version=2015-12-01&Names=a')).toMatchObject([{ kind: 'malformed-parameter', path: 'Names', key: 'Names' }]);
    expect(errors('Action=DescribeTargetGroups&Version=2015-12-01&Names.1=a')).toMatchObject([{ kind: 'unknown-parameter', path: 'Names', key: 'Names.1' }]);
    expect(errors('Action=DescribeTargetGroups&Version=2015-12-01&PageSize.x=1')).toMatchObject([{ kind: 'unknown-parameter', path: 'PageSize', key: 'PageSize.x' }]);
    expect(errors('Action=DescribeTargetGroups&Version=2015-12-01&Names..1=a')).toMatchObject([{ kind: 'malformed-parameter', key: 'Names..1' }]);
  });

  it('is bounded: parameter count and key depth', () => {
    const many: Record<string, string> = { Action: 'DescribeTargetGroups', Version: '2015-12-01' };
    for (let i = 1; i <= 20; i++) many[`Names.member.${i}`] = 'x';
    expect(decodeQuery(ELBV2_MODEL, many, { limits: { maxNodes: 10 } })).toMatchObject({ ok: false, errors: [{ kind: 'too-large' }] });
    expect(errors(`Action=DescribeTargetGroups&Version=2015-12-01&${'a.'.repeat(200)}b=1`)).toMatchObject([{ kind: 'too-large' }]);
  });
});

describe('decodeQuery: botocore serialization traits', () => {
  it('list member names, flattened lists, maps (renamed keys, flattened), locationName, timestamps, blobs, doubles', () => {
    const r = decodeQuery(XML_MODEL, {
      Action: 'Put', Version: '2020-01-01',
      'Names.Name.1': 'a', 'Names.Name.2': 'b',
      'Flat.1': 'x',
      'Item.1': 'i1', 'Item.2': 'i2',
      'Attrs.entry.1.K': 'k1', 'Attrs.entry.1.V': 'v1',
      'FlatAttrs.1.key': 'n', 'FlatAttrs.1.value': '9007199254740991',
      OtherName: 'renamed',
      When: '2024-05-01T10:00:00.123456Z',
      Data: 'aGk=',
      Ratio: '-1.5e3',
    });
    expect(r).toEqual({ ok: true, action: 'Put', version: '2020-01-01', input: {
      Names: ['a', 'b'], Flat: ['x'], FlatNamed: ['i1', 'i2'], Attrs: { k1: 'v1' }, FlatAttrs: { n: 9007199254740991 }, Renamed: 'renamed', When: new Date('2024-05-01T10:00:00.123Z'), Data: 'aGk=', Ratio: -1500,
    } });
  });

  it('rejects what does not read', () => {
    expect(errors({ Action: 'Put', Version: '2020-01-01', Renamed: 'x', When: 'yesterday', Data: 'a', Big: '9007199254740993', Ratio: 'NaN', 'Attrs.entry.1.V': 'v', 'Names.member.1': 'a' }, XML_MODEL)).toEqual([
      { kind: 'unknown-parameter', path: 'Renamed', rule: 'is not a parameter of this operation', value: 'x', key: 'Renamed' },
      { kind: 'invalid-value', path: 'When', rule: 'must be a timestamp: an ISO 8601 date-time', value: 'yesterday', key: 'When' },
      { kind: 'invalid-value', path: 'Data', rule: 'must be base64', value: 'a', key: 'Data' },
      { kind: 'invalid-value', path: 'Big', rule: 'must be an integer', value: '9007199254740993', key: 'Big' },
      { kind: 'invalid-value', path: 'Ratio', rule: 'must be a number', value: 'NaN', key: 'Ratio' },
      { kind: 'malformed-parameter', path: 'Attrs', rule: 'map entry Attrs.entry.1 has no K', key: 'Attrs.entry.1.K' },
      { kind: 'unknown-parameter', path: 'Names', rule: 'is not a parameter of this operation (list items are Names.Name.N)', value: 'a', key: 'Names.member.1' },
    ]);
  });
});
