// Round trip through the AWS CLI itself: answers encoded by toQueryXml / queryErrorXml, served on loopback, parsed
// by botocore, printed as JSON. Under CI=true a missing `aws` fails the run; elsewhere the tests are skipped.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodeOf } from './error-code.js';
import { ELBV2_MODEL } from './gen/elbv2-model.js';
import { decodeQuery } from './query-decode.js';
import { queryErrorXml, toQueryXml } from './query-xml.js';

function findAws(): string | undefined {
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir && existsSync(`${dir}/aws`)) return `${dir}/aws`;
  }
  return undefined;
}
const AWS = findAws();
if (!AWS && process.env.CI === 'true') throw new Error('CI=true and the AWS CLI (aws) is not installed: the XML round trip cannot run');

let url = '';
let answer: (body: string) => { status: number; xml: string } = () => ({ status: 500, xml: '' });
const bodies: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    bodies.push(body);
    const { status, xml } = answer(body);
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-1' });
    res.end(xml);
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_DEFAULT_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' };
  return new Promise((resolve) => {
    execFile(AWS!, [...args, '--endpoint-url', url, '--region', 'us-east-1', '--output', 'json'], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!AWS)('the AWS CLI reads what toQueryXml writes', () => {
  it('describe-target-groups: lists, nested structures, integers, booleans, escaped text', async () => {
    answer = (body) => {
      const req = decodeQuery(ELBV2_MODEL, body);
      expect(req).toMatchObject({ ok: true, action: 'DescribeTargetGroups', input: { Names: ['web'] } });
      return {
        status: 200,
        xml: toQueryXml(ELBV2_MODEL, 'DescribeTargetGroups', {
          TargetGroups: [{
            TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc', TargetGroupName: 'web', Protocol: 'HTTP', Port: 80,
            VpcId: 'vpc-1', HealthCheckEnabled: true, HealthCheckIntervalSeconds: 30, HealthCheckPath: '/health?a=1&b=<2>', Matcher: { HttpCode: '200-299' },
            LoadBalancerArns: ['arn:lb/1', 'arn:lb/2'], TargetType: 'ip',
          }],
        }, 'req-1'),
      };
    };
    const r = await aws('elbv2', 'describe-target-groups', '--names', 'web');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      TargetGroups: [{
        TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc', TargetGroupName: 'web', Protocol: 'HTTP', Port: 80,
        VpcId: 'vpc-1', HealthCheckEnabled: true, HealthCheckIntervalSeconds: 30, HealthCheckPath: '/health?a=1&b=<2>', Matcher: { HttpCode: '200-299' },
        LoadBalancerArns: ['arn:lb/1', 'arn:lb/2'], TargetType: 'ip',
      }],
    });
  });

  it('create-load-balancer: timestamps, empty lists', async () => {
    answer = () => ({
      status: 200,
      xml: toQueryXml(ELBV2_MODEL, 'CreateLoadBalancer', {
        LoadBalancers: [{ LoadBalancerArn: 'arn:lb/1', LoadBalancerName: 'lb1', CreatedTime: new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 250)), State: { Code: 'provisioning' }, AvailabilityZones: [], SecurityGroups: ['sg-1'] }],
      }, 'req-2'),
    });
    const r = await aws('elbv2', 'create-load-balancer', '--name', 'lb1', '--subnets', 'subnet-a', 'subnet-b', '--tags', 'Key=env,Value=prod');
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { LoadBalancers: Record<string, unknown>[] };
    expect(out.LoadBalancers[0]).toMatchObject({ LoadBalancerArn: 'arn:lb/1', LoadBalancerName: 'lb1', State: { Code: 'provisioning' }, AvailabilityZones: [], SecurityGroups: ['sg-1'] });
    expect(Date.parse(String(out.LoadBalancers[0].CreatedTime))).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 250));
    expect(decodeQuery(ELBV2_MODEL, bodies.at(-1)!)).toMatchObject({ ok: true, input: { Name: 'lb1', Subnets: ['subnet-a', 'subnet-b'], Tags: [{ Key: 'env', Value: 'prod' }] } });
  });

  it('an error: the CLI names the code and message from queryErrorXml', async () => {
    const e = errorCodeOf(ELBV2_MODEL, 'TargetGroupNotFoundException')!;
    answer = () => ({ status: e.httpStatus, xml: queryErrorXml({ code: e.code, message: 'One or more target groups not found', type: e.sender ? 'Sender' : 'Receiver', requestId: 'req-3', xmlNamespace: ELBV2_MODEL.metadata.xmlNamespace }) });
    const r = await aws('elbv2', 'describe-target-groups', '--names', 'nope');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('(TargetGroupNotFound)');
    expect(r.stderr).toContain('One or more target groups not found');
  });
});
