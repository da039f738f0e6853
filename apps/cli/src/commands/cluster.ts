import { CreateClusterResponse, DeleteClusterResponse, DescribeClustersResponse, ListClustersResponse, UpdateClusterSettingsResponse, type Cluster, type ClusterSetting } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { shortId } from '../output/format.js';
import { table } from '../output/table.js';

/** --node-lost-grace 45 or 45s or 2m -> the ECS-style setting (seconds). */
export function graceSetting(flag: string | undefined): ClusterSetting[] {
  if (flag === undefined) return [];
  const m = /^(\d+)(s|m)?$/.exec(flag.trim());
  if (!m) throw new UsageError(`--node-lost-grace: must be seconds (45, 45s) or minutes (2m), got ${JSON.stringify(flag)}`);
  const seconds = Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  return [{ name: 'nodeLostGraceSeconds', value: String(seconds) }];
}

const setting = (c: Cluster, name: string) => c.settings.find((s) => s.name === name)?.value ?? '';

export const clusterCommands: Record<string, Command> = {
  'cluster ls': {
    usage: 'berth cluster ls',
    summary: 'list clusters',
    async run({ api, io, json }) {
      const res = await api.listClusters({});
      if (json) return printJson(io, ListClustersResponse.toJSON(res));
      const d = res.clusterArns.length > 0 ? await api.describeClusters({ clusters: res.clusterArns }) : { clusters: [] };
      io.out(table(['CLUSTER', 'STATUS', 'NODES', 'RUNNING', 'PENDING'], d.clusters.map((c) => [c.clusterName, c.status, c.registeredContainerInstancesCount, c.runningTasksCount, c.pendingTasksCount])));
    },
  },
  'cluster create': {
    usage: 'berth cluster create NAME [--node-lost-grace 30s]',
    summary: 'create a cluster (nothing happens if it exists); the grace is how long a silent node keeps its tasks',
    options: { 'node-lost-grace': { type: 'string' } },
    async run({ api, io, json, args, flags }) {
      if (!args[0]) throw new UsageError('cluster create: which name?');
      const res = await api.createCluster({ clusterName: args[0], settings: graceSetting(flags['node-lost-grace'] as string | undefined) });
      if (json) return printJson(io, CreateClusterResponse.toJSON(res));
      io.out(`cluster ${res.cluster!.clusterName} (${res.cluster!.clusterArn})\n`);
    },
  },
  'cluster describe': {
    usage: 'berth cluster describe NAME',
    summary: 'show a cluster and its counts',
    async run({ api, io, json, args, cluster }) {
      const res = await api.describeClusters({ clusters: [args[0] ?? cluster] });
      if (json) return printJson(io, DescribeClustersResponse.toJSON(res));
      const c = res.clusters[0];
      if (!c) throw new CliError(`cluster ${shortId(args[0] ?? cluster)} not found`);
      io.out(
        `Cluster:  ${c.clusterName}\nARN:      ${c.clusterArn}\nStatus:   ${c.status}\nNodes:    ${c.registeredContainerInstancesCount}\nTasks:    ${c.runningTasksCount} running, ${c.pendingTasksCount} pending\nNode lost after: ${setting(c, 'nodeLostGraceSeconds')} s out of contact\n`,
      );
    },
  },
  'cluster update': {
    usage: 'berth cluster update NAME --node-lost-grace 30s',
    summary: 'change cluster settings (ECS UpdateClusterSettings)',
    options: { 'node-lost-grace': { type: 'string' } },
    async run({ api, io, json, args, flags }) {
      if (!args[0]) throw new UsageError('cluster update: which cluster?');
      const settings = graceSetting(flags['node-lost-grace'] as string | undefined);
      if (settings.length === 0) throw new UsageError('cluster update: which setting? (--node-lost-grace)');
      const res = await api.updateClusterSettings({ cluster: args[0], settings });
      if (json) return printJson(io, UpdateClusterSettingsResponse.toJSON(res));
      io.out(`cluster ${res.cluster!.clusterName}: node lost after ${setting(res.cluster!, 'nodeLostGraceSeconds')} s out of contact\n`);
    },
  },
  'cluster delete': {
    usage: 'berth cluster delete NAME',
    summary: 'delete an empty cluster (no tasks, no registered nodes)',
    async run({ api, io, json, args }) {
      if (!args[0]) throw new UsageError('cluster delete: which cluster?');
      const res = await api.deleteCluster({ cluster: args[0] });
      if (json) return printJson(io, DeleteClusterResponse.toJSON(res));
      io.out(`cluster ${res.cluster!.clusterName} deleted (${res.cluster!.status})\n`);
    },
  },
};
