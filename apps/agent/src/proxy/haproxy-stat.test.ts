import { describe, expect, it } from 'vitest';
import { backend, server, snapshot } from './fixtures.test-helpers.js';
import { frontendName } from './haproxy-names.js';
import { parseShowStat, proxyStats, serverHealth, targetHealth } from './haproxy-stat.js';

const csv = [
  '# pxname,svname,qcur,scur,status,weight,check_status,check_code,last_chk,req_tot,hrsp_2xx,hrsp_4xx,hrsp_5xx,rtime,stot,',
  'fe_l1,FRONTEND,,3,OPEN,,,,,120,100,15,5,,130,',
  'be_tg,127.0.0.1:1001,0,1,UP,1,L7OK,200,OK,,80,0,0,4,81,',
  'be_tg,127.0.0.1:1002,0,0,DOWN,1,L7STS,503,Service Unavailable,,20,0,5,9,25,',
  'be_tg,127.0.0.1:1003,0,0,DOWN,1,L4CON,,Connection refused,,0,0,0,0,0,',
  'be_tg,127.0.0.1:1004,0,0,UP,1,INI,,,,0,0,0,0,0,',
  'be_tg,BACKEND,0,1,UP,2,,,,100,100,0,5,5,106,',
  '',
].join('\n');

describe('show stat', () => {
  const rows = parseShowStat(csv);
  it('parses the CSV by column name', () => {
    expect(rows).toHaveLength(6);
    expect(rows[1]).toMatchObject({ pxname: 'be_tg', svname: '127.0.0.1:1001', status: 'UP', check_status: 'L7OK' });
  });
  it('maps server states to ELB target health with HAProxy\'s reason', () => {
    const s = snapshot(1, [], [backend({ id: 'tg', servers: [1001, 1002, 1003, 1004, 1005].map((p) => server('127.0.0.1', p)).concat([server('127.0.0.1', 1006, { state: 'draining' })]) })]);
    expect(targetHealth(s, rows).map((t) => [t.serverId.split(':')[1], t.state, t.reason])).toEqual([
      ['1001', 'healthy', 'L7OK 200'],
      ['1002', 'unhealthy', 'L7STS 503'],
      ['1003', 'unhealthy', 'L4CON Connection refused'],
      ['1004', 'initial', ''],
      ['1005', 'initial', ''],
      ['1006', 'draining', ''],
    ]);
    expect(serverHealth({ status: 'MAINT', check_status: 'L7OK' }, false).state).toBe('initial');
    expect(serverHealth({ status: 'DRAIN', check_status: '* L7OK', check_code: '200' }, false)).toEqual({ state: 'draining', reason: 'L7OK 200' });
    expect(serverHealth({ status: 'DRAIN', check_status: '* L7OK', check_code: '200', scur: '2' }, true).state).toBe('draining');
    expect(serverHealth({ status: 'DRAIN', check_status: '* L7OK', check_code: '200', scur: '0' }, true).state).toBe('drained');
    // Held down until `rise` checks pass: passing checks so far mean on its way up, not unhealthy.
    expect(serverHealth({ status: 'DOWN 1/2', check_status: '* L7OK', check_code: '200' }, false).state).toBe('initial');
    expect(serverHealth({ status: 'DOWN', check_status: '* L7STS', check_code: '503' }, false).state).toBe('unhealthy');
    expect(serverHealth({ status: 'UP 1/2', check_status: 'L7STS', check_code: '500' }, false).state).toBe('healthy');
  });
  it('gives counters per frontend, backend and server by the snapshot\'s ids', () => {
    const s = snapshot(1, [{ id: 'l1', bindAddress: '', port: 1, protocol: 'HTTP', rules: [], defaultAction: undefined, loadBalancerArn: '', listenerArn: '' }], [backend({ id: 'tg', servers: [server('127.0.0.1', 1001)] })]);
    const st = proxyStats(s, rows, frontendName);
    expect(st.frontends).toEqual([{ id: 'l1', reqTot: 120, hrsp2xx: 100, hrsp4xx: 15, hrsp5xx: 5, scur: 3, rtimeMs: 0 }]);
    expect(st.backends[0]).toMatchObject({ id: 'tg', reqTot: 100, scur: 1, rtimeMs: 5, servers: [{ id: '127.0.0.1:1001', reqTot: 81, hrsp2xx: 80, scur: 1, rtimeMs: 4 }] });
  });
});
