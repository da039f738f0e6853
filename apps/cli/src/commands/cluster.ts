import { CreateClusterResponse, DeleteClusterResponse, DescribeClustersResponse, ListClustersResponse } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { shortId } from '../output/format.js';
import { table } from '../output/table.js';

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
    usage: 'berth cluster create NAME',
    summary: 'create a cluster (nothing happens if it exists)',
    async run({ api, io, json, args }) {
      if (!args[0]) throw new UsageError('cluster create: which name?');
      const res = await api.createCluster({ clusterName: args[0] });
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
        `Cluster:  ${c.clusterName}\nARN:      ${c.clusterArn}\nStatus:   ${c.status}\nNodes:    ${c.registeredContainerInstancesCount}\nTasks:    ${c.runningTasksCount} running, ${c.pendingTasksCount} pending\n`,
      );
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
