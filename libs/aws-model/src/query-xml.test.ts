import { describe, expect, it } from 'vitest';
import { errorCodeOf } from './error-code.js';
import { ELBV2_MODEL } from './gen/elbv2-model.js';
import { SERVICEDISCOVERY_MODEL } from './gen/servicediscovery-model.js';
import { XML_MODEL } from './query-model.fixture.js';
import { queryErrorXml, toQueryXml } from './query-xml.js';
import { escapeXml } from './xml.js';

const NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

describe('toQueryXml', () => {
  it('wraps the output in {Op}Response / resultWrapper with the model namespace and the request id', () => {
    const xml = toQueryXml(ELBV2_MODEL, 'DescribeTargetGroups', {
      TargetGroups: [{ TargetGroupArn: 'arn:tg/a', TargetGroupName: 'web', Protocol: 'HTTP', Port: 80, HealthCheckEnabled: true, Matcher: { HttpCode: '200' }, LoadBalancerArns: ['arn:lb/1'], VpcId: undefined }],
      NextMarker: null,
    }, 'req-1');
    expect(xml).toBe(`<DescribeTargetGroupsResponse xmlns="${NS}"><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupArn>arn:tg/a</TargetGroupArn><TargetGroupName>web</TargetGroupName><Protocol>HTTP</Protocol><Port>80</Port><HealthCheckEnabled>true</HealthCheckEnabled><Matcher><HttpCode>200</HttpCode></Matcher><LoadBalancerArns><member>arn:lb/1</member></LoadBalancerArns></member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>`);
  });

  it('members in model order, timestamps ISO 8601 UTC, text escaped, empty lists kept, unknown members dropped and reported', () => {
    const dropped: string[] = [];
    const xml = toQueryXml(ELBV2_MODEL, 'CreateLoadBalancer', {
      LoadBalancers: [{ LoadBalancerName: 'a&b <c>', CreatedTime: new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 5)), LoadBalancerArn: 'arn', AvailabilityZones: [], extra: 1, State: { Code: 'active' } }],
    }, 'r', { onDropped: (p, why) => dropped.push(`${p}: ${why}`) });
    expect(xml).toContain('<member><LoadBalancerArn>arn</LoadBalancerArn><CreatedTime>2024-05-01T10:00:00.005Z</CreatedTime><LoadBalancerName>a&amp;b &lt;c&gt;</LoadBalancerName><State><Code>active</Code></State><AvailabilityZones></AvailabilityZones></member>');
    expect(dropped).toEqual(['LoadBalancers[0].extra: not in the model']);
  });

  it('an operation whose output has no members, and coercions as toWire makes them', () => {
    expect(toQueryXml(ELBV2_MODEL, 'DeleteTargetGroup', {}, 'r')).toBe(`<DeleteTargetGroupResponse xmlns="${NS}"><DeleteTargetGroupResult></DeleteTargetGroupResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteTargetGroupResponse>`);
    expect(toQueryXml(ELBV2_MODEL, 'DeleteTargetGroup', undefined, 'r')).toContain('<DeleteTargetGroupResult></DeleteTargetGroupResult>');
    const dropped: string[] = [];
    const xml = toQueryXml(ELBV2_MODEL, 'DescribeTargetGroups', { TargetGroups: [{ Port: '8080', HealthCheckEnabled: 'yes' }] }, 'r', { onDropped: (p) => dropped.push(p) });
    expect(xml).toContain('<member><Port>8080</Port></member>');
    expect(dropped).toEqual(['TargetGroups[0].HealthCheckEnabled']);
    expect(() => toQueryXml(ELBV2_MODEL, 'toString', {}, 'r')).toThrow(/no operation/);
  });

  it('list member names, flattened lists, maps with renamed keys, locationName members', () => {
    const xml = toQueryXml(XML_MODEL, 'Put', { Names: ['a'], Flat: ['x', 'y'], FlatNamed: ['i'], Attrs: new Map([['k', 'v']]), When: 1714557600, Renamed: 'r' }, 'id');
    expect(xml).toBe('<PutResponse xmlns="urn:test"><PutResult><Names><Name>a</Name></Names><Flat>x</Flat><Flat>y</Flat><Item>i</Item><Attrs><entry><K>k</K><V>v</V></entry></Attrs><When>2024-05-01T10:00:00.000Z</When><OtherName>r</OtherName></PutResult><ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></PutResponse>');
  });
});

describe('queryErrorXml and errorCodeOf', () => {
  it('writes the ErrorResponse document', () => {
    expect(queryErrorXml({ code: 'TargetGroupNotFound', message: 'One or more target groups not found <x>', type: 'Sender', requestId: 'r-1', xmlNamespace: NS })).toBe(
      `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>One or more target groups not found &lt;x&gt;</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
    );
    expect(queryErrorXml({ code: 'InternalFailure', message: '', type: 'Receiver', requestId: 'r' })).toBe('<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message></Message></Error><RequestId>r</RequestId></ErrorResponse>');
  });

  it('reads the code, status and fault from the error shape', () => {
    expect(errorCodeOf(ELBV2_MODEL, 'DuplicateLoadBalancerNameException')).toEqual({ code: 'DuplicateLoadBalancerName', httpStatus: 400, sender: true });
    expect(errorCodeOf(ELBV2_MODEL, 'TargetGroupNotFoundException')).toEqual({ code: 'TargetGroupNotFound', httpStatus: 400, sender: true });
    expect(errorCodeOf(ELBV2_MODEL, 'HealthUnavailableException')).toEqual({ code: 'HealthUnavailable', httpStatus: 500, sender: false });
    expect(errorCodeOf(ELBV2_MODEL, 'PriorRequestNotCompleteException')).toEqual({ code: 'PriorRequestNotComplete', httpStatus: 429, sender: true });
    // JSON protocol models carry no error traits: the shape name, 400, the caller's fault.
    expect(errorCodeOf(SERVICEDISCOVERY_MODEL, 'NamespaceNotFound')).toEqual({ code: 'NamespaceNotFound', httpStatus: 400, sender: true });
    expect(errorCodeOf(ELBV2_MODEL, 'TargetGroup')).toBeUndefined();
    expect(errorCodeOf(ELBV2_MODEL, 'toString')).toBeUndefined();
  });
});

describe('escapeXml', () => {
  it('escapes markup, keeps CR, replaces what XML cannot carry', () => {
    expect(escapeXml(`a&b<c>"d"'e'`)).toBe('a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;');
    expect(escapeXml('x\r\ny\tz')).toBe('x&#xD;\ny\tz');
    expect(escapeXml('\u0000\u0008\uD800x\uFFFF')).toBe('\uFFFD\uFFFD\uFFFDx\uFFFD');
    expect(escapeXml('😀')).toBe('😀');
  });
});
