import { DeregisterContainerInstanceResponse, DescribeContainerInstancesResponse, UpdateContainerInstancesStateResponse, type ContainerInstance, type Resource } from '@berth/proto';
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
  'node drain': stateCommand('DRAINING', 'berth node drain ID...', 'take no new tasks on these nodes; service tasks move elsewhere first (RunTask tasks stay)'),
  'node activate': stateCommand('ACTIVE', 'berth node activate ID...', 'undo drain: the nodes take new tasks again'),
  'node deregister': {
    usage: 'berth node deregister ID [--force]',
    summary: 'remove a node from the cluster (--force: even with tasks, which are stopped)',
    options: { force: { type: 'boolean' } },
    async run({ api, io, json, args, flags, cluster }) {
      if (!args[0]) throw new UsageError('node deregister: which node?');
      const r = await api.deregisterContainerInstance({ cluster, containerInstance: args[0], force: flags.force === true });
      if (json) return printJson(io, DeregisterContainerInstanceResponse.toJSON(r));
      io.out(`node ${r.containerInstance!.nodeId} deregistered (INACTIVE); stop its agent, or wipe its data directory to join as a new node\n`);
    },
  },
  'node attribute put': {
    usage: 'berth node attribute put ID NAME=VALUE...',
    summary: 'set attributes on a node (for placement constraints)',
    async run({ api, io, json, args, cluster }) {
      const [id, ...pairs] = args;
      if (!id || pairs.length === 0) throw new UsageError('node attribute put: give a node and at least one NAME=VALUE');
      const attributes = pairs.map((p) => {
        const i = p.indexOf('=');
        return i < 0 ? { name: p, value: '', targetType: 'container-instance', targetId: id } : { name: p.slice(0, i), value: p.slice(i + 1), targetType: 'container-instance', targetId: id };
      });
      const r = await api.putAttributes({ cluster, attributes });
      if (json) return printJson(io, { attributes: r.attributes });
      io.out(`node ${id}: ${r.attributes.map((a) => `${a.name}=${a.value}`).join(', ')}\n`);
    },
  },
  'node attribute delete': {
    usage: 'berth node attribute delete ID NAME...',
    summary: 'remove attributes from a node',
    async run({ api, io, json, args, cluster }) {
      const [id, ...names] = args;
      if (!id || names.length === 0) throw new UsageError('node attribute delete: give a node and at least one NAME');
      const r = await api.deleteAttributes({ cluster, attributes: names.map((name) => ({ name, value: '', targetType: 'container-instance', targetId: id })) });
      if (json) return printJson(io, { attributes: r.attributes });
      io.out(`node ${id}: removed ${r.attributes.map((a) => a.name).join(', ')}\n`);
    },
  },
};

function stateCommand(status: 'ACTIVE' | 'DRAINING', usage: string, summary: string): Command {
  return {
    usage,
    summary,
    async run({ api, io, json, args, cluster }) {
      if (args.length === 0) throw new UsageError(`${usage.split(' ').slice(1, 3).join(' ')}: which node(s)?`);
      const r = await api.updateContainerInstancesState({ cluster, containerInstances: args, status });
      if (json) return printJson(io, UpdateContainerInstancesStateResponse.toJSON(r));
      for (const n of r.containerInstances) io.out(`node ${n.nodeId} ${n.status}\n`);
      for (const f of r.failures) io.err(`failure: ${f.arn} ${f.reason} ${f.detail}\n`);
      if (r.containerInstances.length === 0) throw new CliError('no node changed');
    },
  };
}
