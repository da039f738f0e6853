import { arns, invalid, resourceId, tagKeys } from '@berth/domain';
import { listNodes, resourcesTags } from '@berth/store';
import type { AppContext } from '../../services/context.js';
import { clusterName, requireCluster } from '../../services/clusters.js';
import {
  changeAttributesOp,
  deregisterContainerInstanceOp,
  describeContainerInstancesOp,
  listContainerInstancesOp,
  updateContainerInstancesStateOp,
  type ContainerInstanceView,
} from '../../services/nodes.js';
import { clusterFor, ecsPageSize, pageOf, type EcsHandlers } from '../ecs-call.js';
import { ecsContainerInstance, ecsNodeAttributes } from '../ecs-views.js';

/** Container instances (Berth nodes): List (filter), Describe, UpdateContainerInstancesState, Deregister, Put/Delete/ListAttributes. */
export const containerInstanceOps: EcsHandlers = {
  async ListContainerInstances(input, { ctx }) {
    const maxResults = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const page = await listContainerInstancesOp(ctx, { cluster: input.cluster, status: input.status, filter: input.filter, nextToken: input.nextToken, maxResults });
    return { containerInstanceArns: page.items.map((n) => arns.containerInstance(ctx.arn, n.cluster, n.id)), nextToken: page.nextToken };
  },

  async DescribeContainerInstances(input, { ctx }) {
    const refs = input.containerInstances ?? [];
    if (refs.length === 0) throw invalid('containerInstances: name at least one container instance (a node id or ARN)');
    const cluster = clusterName(clusterFor(input.cluster, refs));
    const r = await describeContainerInstancesOp(ctx, { cluster, containerInstances: refs });
    return {
      containerInstances: await withTags(ctx, r.found, (input.include ?? []).includes('TAGS')),
      failures: r.missing.map((ref) => ({ arn: ref.startsWith('arn:') ? ref : arns.containerInstance(ctx.arn, cluster, ref), reason: 'MISSING' })),
    };
  },

  async UpdateContainerInstancesState(input, { ctx }) {
    const r = await updateContainerInstancesStateOp(ctx, { cluster: clusterFor(input.cluster, input.containerInstances), containerInstances: input.containerInstances, status: input.status });
    return { containerInstances: await withTags(ctx, r.found, false), failures: r.failures };
  },

  async DeregisterContainerInstance(input, { ctx }) {
    const v = await deregisterContainerInstanceOp(ctx, { cluster: clusterFor(input.cluster, [input.containerInstance]), containerInstance: input.containerInstance, force: input.force });
    return { containerInstance: ecsContainerInstance(ctx.arn, v) };
  },

  async PutAttributes(input, { ctx }) {
    const cluster = clusterFor(input.cluster, input.attributes.map((a) => a.targetId));
    const attrs = await changeAttributesOp(ctx, { cluster, attributes: attributesIn(input.attributes) }, 'put');
    return { attributes: attributesOut(ctx, cluster, attrs) };
  },

  async DeleteAttributes(input, { ctx }) {
    const cluster = clusterFor(input.cluster, input.attributes.map((a) => a.targetId));
    const attrs = await changeAttributesOp(ctx, { cluster, attributes: attributesIn(input.attributes) }, 'delete');
    return { attributes: attributesOut(ctx, cluster, attrs) };
  },

  async ListAttributes(input, { ctx }) {
    if (input.targetType !== 'container-instance') throw invalid(`targetType: must be container-instance, got ${JSON.stringify(input.targetType)}`);
    if (input.attributeValue !== undefined && input.attributeName === undefined) throw invalid('attributeValue: needs attributeName');
    const maxResults = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const cluster = await requireCluster(ctx, input.cluster);
    const all = (await listNodes(ctx.db.sql, { cluster }))
      .filter((n) => n.status !== 'INACTIVE')
      .flatMap((n) => ecsNodeAttributes(ctx.arn, n))
      .filter((a) => (input.attributeName === undefined || a.name === input.attributeName) && (input.attributeValue === undefined || a.value === input.attributeValue));
    const page = pageOf(all, (a) => `${a.targetId} ${a.name}`, input.nextToken, maxResults);
    return { attributes: page.items, nextToken: page.nextToken };
  },
};

function attributesIn(attrs: { name: string; value?: string; targetType?: string; targetId?: string }[]) {
  return attrs.map((a) => ({ name: a.name, value: a.value ?? '', targetType: a.targetType ?? 'container-instance', targetId: a.targetId ?? '' }));
}

function attributesOut(ctx: AppContext, clusterRef: string | undefined, attrs: { name: string; value: string; targetType: string; targetId: string }[]) {
  const cluster = resourceId(clusterRef ?? 'default');
  return attrs.map((a) => ({ name: a.name, value: a.value || undefined, targetType: 'container-instance', targetId: arns.containerInstance(ctx.arn, cluster, a.targetId) }));
}

async function withTags(ctx: AppContext, views: ContainerInstanceView[], include: boolean) {
  const key = (v: ContainerInstanceView) => tagKeys.containerInstance(v.node.cluster, v.node.id);
  const tags = include ? await resourcesTags(ctx.db.sql, views.map(key)) : new Map();
  return views.map((v) => ecsContainerInstance(ctx.arn, v, tags.get(key(v))));
}
