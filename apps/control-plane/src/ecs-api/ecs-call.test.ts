import { describe, expect, it } from 'vitest';
import { clusterFor, ecsPageSize, pageOf } from './ecs-call.js';
import { requestClusters } from '../grpc/auth.js';
import { deploymentStatus } from './ops/service-ops.js';
import type { DeploymentRecord } from '@berth/store';

describe('ECS adapter helpers', () => {
  it('takes the cluster named, else the one in a resource ARN, else none (the default)', () => {
    expect(clusterFor('lab', ['arn:aws:ecs:local:0:task/lab/abc', 'abc'])).toBe('lab');
    expect(() => clusterFor('lab', ['arn:aws:ecs:local:0:task/other/abc'])).toThrow(/in cluster other, not lab/);
    expect(() => clusterFor(undefined, ['arn:aws:ecs:local:0:task/a/1', 'arn:aws:ecs:local:0:task/b/2'])).toThrow(/in cluster b, not a/);
    expect(clusterFor(undefined, ['abc', 'arn:aws:ecs:local:000000000000:task/edge/0123'])).toBe('edge');
    expect(clusterFor(undefined, ['web'])).toBeUndefined();
  });

  it('finds the clusters a request acts on in its ARNs, for cluster-scoped keys', () => {
    expect(requestClusters({ task: 'arn:aws:ecs:local:0:task/lab/abc' })).toEqual(['lab']);
    expect(requestClusters({ cluster: 'lab', services: ['arn:aws:ecs:local:0:service/other/web'] })).toEqual(['lab', 'other']);
    expect(requestClusters({ resourceArn: 'arn:aws:ecs:local:0:cluster/lab' })).toEqual(['lab']);
    expect(requestClusters({ resourceArn: 'arn:aws:ecs:local:0:task-definition/web:1' })).toEqual([]);
    expect(requestClusters({ attributes: [{ name: 'a', targetId: 'arn:aws:ecs:local:0:container-instance/lab/n-1' }] })).toEqual(['lab']);
    expect(requestClusters({ name: 'x' })).toBeUndefined();
  });

  it('uses ECS page sizes and refuses maxResults out of range', () => {
    expect(ecsPageSize(undefined, { default: 10, max: 100 })).toBe(10);
    expect(ecsPageSize(100, { default: 10, max: 100 })).toBe(100);
    expect(() => ecsPageSize(101, { default: 10, max: 100 })).toThrow(/maxResults: must be 1-100/);
    expect(() => ecsPageSize(0, { default: 10, max: 100 })).toThrow(/maxResults/);
  });

  it('pages an in-memory list with opaque tokens, every item once', () => {
    const items = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const p = pageOf(items, (x) => x, token, 10);
      seen.push(...p.items);
      token = p.nextToken;
      pages++;
    } while (token);
    expect(seen).toEqual(items);
    expect(pages).toBe(3);
    expect(pageOf(items.slice(0, 10), (x) => x, undefined, 10).nextToken).toBeUndefined();
    expect(() => pageOf(items, (x) => x, 'garbage!', 10)).toThrow(/nextToken/);
  });

  it('names deployments in ECS service-deployment words', () => {
    const d = (id: string, over: Partial<DeploymentRecord>): DeploymentRecord => ({
      id, cluster: 'c', service: 's', status: 'INACTIVE', taskDefinition: 'web:1', desiredCount: 2, rolloutState: 'COMPLETED', rolloutStateReason: '', failedTasks: 0, createdAt: new Date(0), updatedAt: new Date(0), ...over,
    });
    const ok = d('ecs-svc/1', {});
    const failed = d('ecs-svc/2', { status: 'ACTIVE', rolloutState: 'FAILED' });
    const rollback = d('ecs-svc/3', { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', rolloutStateReason: 'rolling back to deployment ecs-svc/1 after deployment ecs-svc/2 failed' });
    const all = [rollback, failed, ok];
    expect(deploymentStatus(ok, all).status).toBe('SUCCESSFUL');
    expect(deploymentStatus(rollback, all).status).toBe('IN_PROGRESS');
    expect(deploymentStatus(failed, all).status).toBe('ROLLBACK_IN_PROGRESS');
    expect(deploymentStatus(failed, [{ ...rollback, rolloutState: 'COMPLETED' }, failed, ok]).status).toBe('ROLLBACK_SUCCESSFUL');
    expect(deploymentStatus(failed, [failed, ok]).status).toBe('STOPPED');
    expect(deploymentStatus(d('ecs-svc/4', { status: 'ACTIVE', rolloutState: 'IN_PROGRESS' }), all).status).toBe('STOPPED');
  });
});
