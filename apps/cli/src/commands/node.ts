import { DescribeContainerInstancesResponse, type ContainerInstance, type Resource } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { age, when } from '../output/format.js';
import { table } from '../output/table.js';

const res = (list: Resource[], name: string) => list.find((r) => r.name === name)?.integerValue ?? 0;
const attr = (n: ContainerInstance, name: string) => n.attributes.find((a) => a.name === name)?.value ?? '';

export const nodeCommands: Record<string, Command> = {
  'node ls': {
    usage: 'berth node ls',
    summary: 'list nodes (ECS container instances)',
    async run({ api, io, json, cluster }) {
      const all: ContainerInstance[] = [];
      let nextToken = '';
      do {
        const page = await api.listContainerInstances({ cluster, nextToken });
        if (page.containerInstanceArns.length > 0) {
          all.push(...(await api.describeContainerInstances({ cluster, containerInstances: page.containerInstanceArns })).containerInstances);
        }
        nextToken = page.nextToken;
      } while (nextToken);
      if (json) return printJson(io, DescribeContainerInstancesResponse.toJSON({ containerInstances: all, failures: [] }));
      io.out(
        table(
          ['NODE', 'HOSTNAME', 'STATUS', 'CONNECTED', 'RUNNING', 'CPU FREE/TOTAL', 'MEMORY FREE/TOTAL', 'ARCH', 'AGENT', 'SEEN'],
          all.map((n) => [
            n.nodeId,
            n.hostname,
            n.status,
            n.agentConnected ? 'yes' : 'no',
            n.runningTasksCount,
            `${res(n.remainingResources, 'CPU')}/${res(n.registeredResources, 'CPU')}`,
            `${res(n.remainingResources, 'MEMORY')}/${res(n.registeredResources, 'MEMORY')} MiB`,
            attr(n, 'berth.arch'),
            n.agentVersion,
            n.lastHeartbeatAt ? `${age(n.lastHeartbeatAt)} ago` : '',
          ]),
        ),
      );
    },
  },
  'node describe': {
    usage: 'berth node describe ID',
    summary: 'show one node: resources, attributes, agent',
    async run({ api, io, json, args, cluster }) {
      if (!args[0]) throw new UsageError('node describe: which node? (id or ARN)');
      const r = await api.describeContainerInstances({ cluster, containerInstances: [args[0]] });
      const n = r.containerInstances[0];
      if (!n) throw new CliError(`node ${args[0]} not found in cluster ${cluster}`);
      if (json) return printJson(io, DescribeContainerInstancesResponse.toJSON(r));
      const lines = [
        `Node:        ${n.nodeId}`,
        `ARN:         ${n.containerInstanceArn}`,
        `Hostname:    ${n.hostname}`,
        `Status:      ${n.status}, agent ${n.agentConnected ? 'connected' : 'not connected'}`,
        `Agent:       ${n.agentVersion}, Docker ${n.dockerVersion || 'unreachable'}`,
        `Registered:  ${when(n.registeredAt)}`,
        `Heartbeat:   ${n.lastHeartbeatAt ? `${when(n.lastHeartbeatAt)} (cpu ${n.cpuPercent}%, memory used ${n.memoryUsedMib} MiB)` : '-'}`,
        `Tasks:       ${n.runningTasksCount} running, ${n.pendingTasksCount} pending`,
        `CPU:         ${res(n.remainingResources, 'CPU')} of ${res(n.registeredResources, 'CPU')} units free`,
        `Memory:      ${res(n.remainingResources, 'MEMORY')} of ${res(n.registeredResources, 'MEMORY')} MiB free`,
        `Ports used:  ${n.remainingResources.find((x) => x.name === 'PORTS')?.stringSetValue.join(', ') || '-'}`,
        'Attributes:',
        ...n.attributes.map((a) => `  ${a.name}=${a.value}`),
      ];
      io.out(`${lines.join('\n')}\n`);
    },
  },
};
