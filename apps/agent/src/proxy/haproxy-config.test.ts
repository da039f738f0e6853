import { describe, expect, it } from 'vitest';
import { expectStatus, matcherCodes, pathMatch, wildcardToRegex } from './elb-match.js';
import { action, backend, forward, frontend, server, snapshot } from './fixtures.test-helpers.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import { sanitizeName } from './haproxy-names.js';

const paths = { statsSocket: '/d/proxy/haproxy.sock' };

const sample = snapshot(
  7,
  [
    frontend({
      id: 'listener-1',
      port: 8080,
      listenerArn: 'arn:aws:elasticloadbalancing:local:0:listener/app/web/1/2',
      rules: [
        { priority: 20, hostHeaders: ['*.example.com', 'Api.Test'], pathPatterns: ['/api/*', '/v?/x*y'], httpRequestMethods: ['get', 'POST'], sourceIps: ['10.0.0.0/8'], httpHeaders: [{ name: 'X-Env', values: ['prod*'] }], queryStrings: ['v=2', '=beta'], action: forward(['tg-a', 90], ['tg-b', 10]) },
        { priority: 10, hostHeaders: [], pathPatterns: ['/teapot'], httpRequestMethods: [], sourceIps: [], httpHeaders: [], queryStrings: [], action: action({ type: 'fixed-response', statusCode: 418, contentType: 'text/plain', messageBody: 'short "and" $tout #1' }) },
        { priority: 30, hostHeaders: ['old.example.com'], pathPatterns: [], httpRequestMethods: [], sourceIps: [], httpHeaders: [], queryStrings: [], action: action({ type: 'redirect', statusCode: 301, location: 'https://new.example.com/100%' }) },
      ],
      defaultAction: forward(['tg-a', 1]),
    }),
    frontend({ id: 'tcp 1', port: 9000, protocol: 'TCP', defaultAction: forward(['tg-tcp', 0]) }),
  ],
  [
    backend({ id: 'tg-a', servers: [server('127.0.0.1', 31000), server('127.0.0.1', 31001, { state: 'draining', weight: 3 })], slowStartSeconds: 30 }),
    backend({ id: 'tg-b', algorithm: 'leastconn', healthCheck: { protocol: 'HTTP', path: '/ping', port: 8081, intervalSeconds: 10, timeoutSeconds: 4, healthyThreshold: 3, unhealthyThreshold: 4, matcher: '200,302' }, servers: [server('127.0.0.2', 31002)] }),
    backend({ id: 'tg-tcp', protocol: 'TCP', healthCheck: undefined, servers: [server('127.0.0.1', 31003)] }),
  ],
);

describe('renderHaproxyConfig', () => {
  const cfg = renderHaproxyConfig(sample, paths);

  it('runs master-worker with an admin stats socket that hands the listeners over', () => {
    expect(cfg).toContain('  master-worker\n');
    expect(cfg).toContain('  stats socket /d/proxy/haproxy.sock mode 600 level admin expose-fd listeners\n');
    expect(cfg).not.toContain('server-state-file');
    for (const l of ['timeout connect 5s', 'timeout client 60s', 'timeout server 60s', 'timeout tunnel 1h', 'option redispatch', 'retries 3']) expect(cfg).toContain(`  ${l}\n`);
  });

  it('renders an HTTP frontend with forwarding headers, rules in priority order and a weighted split', () => {
    const fe = cfg.slice(cfg.indexOf('frontend fe_listener-1'), cfg.indexOf('frontend fe_tcp'));
    expect(fe).toContain('  mode http\n  bind 127.0.0.1:8080\n');
    expect(fe).toContain('  option forwardfor\n  http-request set-header X-Forwarded-Proto http\n');
    expect(fe).toContain('  http-request set-var(txn.berth_rand) rand(10000)\n');
    expect(fe).toContain("  acl r2_host hdr(host),field(1,:),lower -m str api.test\n");
    expect(fe).toContain("  acl r2_host hdr(host),field(1,:),lower -m reg '^.*\\.example\\.com$'\n");
    expect(fe).toContain('  acl r2_path path -m beg /api/\n');
    expect(fe).toContain("  acl r2_path path -m reg '^/v./x.*y$'\n");
    expect(fe).toContain("  acl r2_method method GET POST\n  acl r2_hdr1 req.hdr(X-Env) -m reg -i '^prod.*$'\n");
    expect(fe).toContain("  acl r2_query query -m reg -i '(^|&)v=2(&|$)'\n  acl r2_query query -m reg -i '(^|&)[^=&]*=beta(&|$)'\n  acl r2_src src 10.0.0.0/8\n");
    // Priority 10 (the teapot) comes first, then 20, then 30, then the default.
    const teapot = fe.indexOf('http-request return status 418');
    const split = fe.indexOf('set-var(txn.berth_be) str(be_tg-a) if !berth_chosen r2_host r2_path r2_method r2_hdr1 r2_query r2_src { var(txn.berth_rand) -m int lt 9000 }');
    const rest = fe.indexOf('set-var(txn.berth_be) str(be_tg-b) if !berth_chosen r2_host r2_path r2_method r2_hdr1 r2_query r2_src\n');
    const redirect = fe.indexOf('http-request redirect location "https://new.example.com/100%%" code 301 if !berth_chosen r3_host');
    const dflt = fe.indexOf('set-var(txn.berth_be) str(be_tg-a) if !berth_chosen\n');
    expect([teapot, split, rest, redirect, dflt].every((i) => i > 0)).toBe(true);
    expect(teapot < split && split < rest && rest < redirect && redirect < dflt).toBe(true);
    expect(fe).toContain('http-request return status 418 content-type "text/plain" string "short \\"and\\" \\$tout \\#1" if !berth_chosen r1_path');
    expect(fe).toContain('  use_backend be_tg-a if { var(txn.berth_be) -m str be_tg-a }\n  use_backend be_tg-b if { var(txn.berth_be) -m str be_tg-b }');
  });

  it('renders a TCP frontend without HTTP rules', () => {
    const fe = cfg.slice(cfg.indexOf('frontend fe_tcp'), cfg.indexOf('\nbackend be_tg-a'));
    expect(fe).toMatch(/^frontend fe_tcp_1-[0-9a-f]{6}\n {2}mode tcp\n {2}bind 127.0.0.1:9000\n/);
    expect(fe).not.toContain('http-request');
    expect(fe).toContain('tcp-request content set-var(txn.berth_be) str(be_tg-tcp) if !berth_chosen\n');
  });

  it('renders backends with health checks, slow start and servers (draining ones at weight 0)', () => {
    expect(cfg).toContain(
      [
        'backend be_tg-a',
        '  mode http',
        '  balance roundrobin',
        '  option httpchk GET /health',
        "  http-check expect rstatus '^(2[0-9][0-9])$'",
        '  timeout check 1s',
        '  default-server inter 1s fall 2 rise 2 slowstart 30s',
        '  server 127.0.0.1:31000 127.0.0.1:31000 weight 1 check',
        '  server 127.0.0.1:31001 127.0.0.1:31001 weight 0 check',
      ].join('\n'),
    );
    expect(cfg).toContain("  balance leastconn\n  option httpchk GET /ping\n  http-check expect rstatus '^(200|302)$'\n  timeout check 4s\n  default-server inter 10s fall 4 rise 3 port 8081\n");
    expect(cfg).toContain('backend be_tg-tcp\n  mode tcp\n  balance roundrobin\n  timeout check 5s\n  default-server inter 30s fall 2 rise 5\n');
  });

  it('is deterministic', () => {
    expect(renderHaproxyConfig(sample, paths)).toBe(cfg);
  });
});

describe('ELB matching in HAProxy terms', () => {
  it('converts wildcards to anchored regexes', () => {
    expect(wildcardToRegex('*.a-b.com')).toBe('^.*\\.a-b\\.com$');
    expect(wildcardToRegex("x?y'(z)")).toBe("^x.y\\x27\\(z\\)$");
    expect(pathMatch('/a')).toEqual({ kind: 'str', value: '/a' });
    expect(pathMatch('/a/*')).toEqual({ kind: 'beg', value: '/a/' });
    expect(pathMatch('*.png')).toEqual({ kind: 'reg', value: '^.*\\.png$' });
  });
  it('turns matchers into status checks', () => {
    expect(expectStatus('200')).toBe('status 200');
    expect(expectStatus('')).toBe('status 200');
    expect(expectStatus('200-299')).toBe("rstatus '^(2[0-9][0-9])$'");
    expect(expectStatus('200,302')).toBe("rstatus '^(200|302)$'");
    expect(expectStatus('200-205,404')).toBe("rstatus '^(20[012345]|404)$'");
    expect(expectStatus('200-399')).toBe("rstatus '^(2[0-9][0-9]|3[0-9][0-9])$'");
    expect(matcherCodes('200-202')).toEqual([200, 201, 202]);
    expect(() => matcherCodes('2xx')).toThrow(/expected codes like/);
    expect(() => matcherCodes('300-200')).toThrow(/low to high/);
  });
  it('sanitizes names to HAProxy characters without collisions', () => {
    expect(sanitizeName('127.0.0.1:8080')).toBe('127.0.0.1:8080');
    expect(sanitizeName('a b')).toMatch(/^a_b-[0-9a-f]{6}$/);
    expect(sanitizeName('a b')).not.toBe(sanitizeName('a_b'));
    expect(sanitizeName('a/b')).not.toBe(sanitizeName('a b'));
  });
});
