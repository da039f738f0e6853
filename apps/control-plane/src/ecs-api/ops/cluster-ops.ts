import { arns, tagKeys } from '@berth/domain';
import { resourcesTags } from '@berth/store';
import { createClusterOp, deleteClusterOp, describeClustersOp, listClustersOp, requireCluster, updateClusterSettingsOp } from '../../services/clusters.js';
import { ecsError } from '../ecs-errors.js';
import { ecsCluster } from '../ecs-views.js';
import { ecsPageSize, pageOf, type EcsHandlers } from '../ecs-call.js';

/** Clusters: CreateCluster, DeleteCluster, DescribeClusters (include), ListClusters, UpdateClusterSettings, UpdateCluster. */
export const clusterOps: EcsHandlers = {
  async CreateCluster(input, { ctx }) {
    const name = input.clusterName ?? 'default';
    const view = await createClusterOp(ctx, name, input.settings as { name: string; value: string }[] | undefined, input.tags);
    return { cluster: ecsCluster(ctx, view, ['SETTINGS', 'TAGS'], await tagsOf(ctx, name)) };
  },

  async DeleteCluster(input, { ctx }) {
    const view = await deleteClusterOp(ctx, input.cluster);
    return { cluster: ecsCluster(ctx, view, []) };
  },

  async DescribeClusters(input, { ctx }) {
    const include = (input.include ?? []) as string[];
    if ((input.clusters ?? []).length > 100) throw ecsError('InvalidParameterException', `clusters: must name at most 100 clusters, got ${input.clusters!.length}`);
    const r = await describeClustersOp(ctx, input.clusters ?? []);
    const tags = include.includes('TAGS') ? await resourcesTags(ctx.db.sql, r.found.map((c) => tagKeys.cluster(c.name))) : new Map();
    return {
      clusters: r.found.map((c) => ecsCluster(ctx, c, include, tags.get(tagKeys.cluster(c.name)))),
      failures: r.missing.map((name) => ({ arn: arns.cluster(ctx.arn, name), reason: 'MISSING' })),
    };
  },

  async ListClusters(input, { ctx }) {
    const limit = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const all = (await listClustersOp(ctx)).map((c) => c.name).sort();
    const page = pageOf(all, (n) => n, input.nextToken, limit);
    return { clusterArns: page.items.map((n) => arns.cluster(ctx.arn, n)), nextToken: page.nextToken };
  },

  async UpdateClusterSettings(input, { ctx }) {
    const view = await updateClusterSettingsOp(ctx, input.cluster, input.settings as { name: string; value: string }[]);
    return { cluster: ecsCluster(ctx, view, ['SETTINGS']) };
  },

  async UpdateCluster(input, { ctx }) {
    const name = await requireCluster(ctx, input.cluster);
    const ignored = (['configuration', 'serviceConnectDefaults'] as const).filter((k) => input[k] !== undefined);
    if (ignored.length > 0) ctx.log.info({ cluster: name, ignored }, 'UpdateCluster: AWS-only fields ignored');
    const view = input.settings && input.settings.length > 0
      ? await updateClusterSettingsOp(ctx, name, input.settings as { name: string; value: string }[])
      : (await describeClustersOp(ctx, [name])).found[0]!;
    return { cluster: ecsCluster(ctx, view, ['SETTINGS']) };
  },
};

async function tagsOf(ctx: Parameters<typeof requireCluster>[0], name: string) {
  return (await resourcesTags(ctx.db.sql, [tagKeys.cluster(name)])).get(tagKeys.cluster(name)) ?? [];
}
