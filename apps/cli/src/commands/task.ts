import { RunTaskResponse, Task, StopTaskResponse, DescribeTasksResponse, type KeyValuePair } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command, type CommandContext } from '../context.js';
import { age, definitionName, ports, shortId, when } from '../output/format.js';
import { table } from '../output/table.js';
import { PLACEMENT_OPTIONS, PLACEMENT_USAGE, placementFlags } from './placement.js';

// Moved to placement.js (shared with the service commands); still exported from here.
export { parseConstraint, parseStrategy } from './placement.js';

function taskRows(tasks: Task[]) {
  return table(
    ['TASK', 'DEFINITION', 'DESIRED', 'LAST', 'NODE', 'PORTS', 'AGE'],
    tasks.map((t) => [
      shortId(t.taskArn),
      definitionName(t.taskDefinitionArn),
      t.desiredStatus,
      t.lastStatus,
      shortId(t.containerInstanceArn),
      ports(t.containers.flatMap((c) => c.networkBindings)),
      age(t.createdAt),
    ]),
  );
}

function parseEnv(values: string[]): KeyValuePair[] {
  return values.map((v) => {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`--env: must be NAME=VALUE, got ${JSON.stringify(v)}`);
    return { name: v.slice(0, i), value: v.slice(i + 1) };
  });
}

async function describeOne(ctx: CommandContext, id: string): Promise<Task> {
  const res = await ctx.api.describeTasks({ cluster: ctx.cluster, tasks: [id] });
  const t = res.tasks[0];
  if (!t) throw new CliError(`task ${id} not found in cluster ${ctx.cluster}`);
  return t;
}

export const taskCommands: Record<string, Command> = {
  'task run': {
    usage:
      `berth task run FAMILY[:REVISION] [--count N] [--started-by S] [--group G] [--env NAME=VALUE ...]\n    ${PLACEMENT_USAGE}`,
    summary: 'run tasks of a task definition (a task no node can take waits as PROVISIONING)',
    options: {
      count: { type: 'string' },
      'started-by': { type: 'string' },
      group: { type: 'string' },
      env: { type: 'string', multiple: true },
      ...PLACEMENT_OPTIONS,
    },
    async run(ctx) {
      const { api, io, json, args, flags } = ctx;
      if (!args[0]) throw new UsageError('task run: which task definition? (family or family:revision)');
      const count = flags.count === undefined ? 1 : Number(flags.count);
      if (!Number.isInteger(count) || count < 1) throw new UsageError(`--count: must be a whole number, 1 or more, got ${JSON.stringify(flags.count)}`);
      const env = parseEnv((flags.env as string[] | undefined) ?? []);
      let overrides;
      if (env.length > 0) {
        // The same variables for every container of the task.
        const def = await api.describeTaskDefinition({ taskDefinition: args[0] });
        const names = (JSON.parse(def.taskDefinition!.taskDefinitionJson).containerDefinitions as { name: string }[]).map((c) => c.name);
        overrides = { containerOverrides: names.map((name) => ({ name, environment: env, command: [] })), cpu: '', memory: '' };
      }
      const res = await api.runTask({
        cluster: ctx.cluster,
        taskDefinition: args[0],
        count,
        startedBy: (flags['started-by'] as string) ?? '',
        group: (flags.group as string) ?? '',
        overrides,
        ...placementFlags(flags),
      });
      if (json) printJson(io, RunTaskResponse.toJSON(res));
      else {
        if (res.tasks.length > 0) io.out(taskRows(res.tasks));
        for (const t of res.tasks) if (t.lastStatus === 'PROVISIONING') io.err(`${shortId(t.taskArn)} waits for a node: ${t.placementReason}\n`);
        for (const f of res.failures) io.err(`failure: ${f.reason} ${f.detail}\n`);
      }
      if (res.tasks.length === 0) throw new CliError(`no task was started${res.failures[0] ? `: ${res.failures[0].reason} ${res.failures[0].detail}` : ''}`);
    },
  },
  'task ls': {
    usage: 'berth task ls [--family F] [--service NAME] [--node ID] [--desired-status RUNNING|STOPPED] [--started-by S]',
    summary: 'list tasks',
    options: { family: { type: 'string' }, service: { type: 'string' }, node: { type: 'string' }, 'desired-status': { type: 'string' }, 'started-by': { type: 'string' } },
    async run({ api, io, json, flags, cluster }) {
      const arns: string[] = [];
      let nextToken = '';
      do {
        const page = await api.listTasks({
          cluster,
          family: (flags.family as string) ?? '',
          containerInstance: (flags.node as string) ?? '',
          desiredStatus: (flags['desired-status'] as string) ?? '',
          startedBy: (flags['started-by'] as string) ?? '',
          serviceName: (flags.service as string) ?? '',
          nextToken,
        });
        arns.push(...page.taskArns);
        nextToken = page.nextToken;
      } while (nextToken);
      const tasks: Task[] = [];
      for (let i = 0; i < arns.length; i += 100) tasks.push(...(await api.describeTasks({ cluster, tasks: arns.slice(i, i + 100) })).tasks);
      if (json) return printJson(io, DescribeTasksResponse.toJSON({ tasks, failures: [] }));
      io.out(taskRows(tasks));
    },
  },
  'task describe': {
    usage: 'berth task describe ID',
    summary: 'show one task: status, stop reason, containers, exit codes, ports',
    async run(ctx) {
      if (!ctx.args[0]) throw new UsageError('task describe: which task? (id or ARN)');
      const t = await describeOne(ctx, ctx.args[0]);
      if (ctx.json) return printJson(ctx.io, Task.toJSON(t));
      const lines = [
        `Task:        ${shortId(t.taskArn)}`,
        `ARN:         ${t.taskArn}`,
        `Definition:  ${definitionName(t.taskDefinitionArn)}`,
        `Node:        ${shortId(t.containerInstanceArn) || '-'}`,
        `Status:      ${t.lastStatus} (desired ${t.desiredStatus})`,
        `Health:      ${t.healthStatus || 'UNKNOWN'}`,
      ];
      if (t.lastStatus === 'PROVISIONING' && t.placementReason) lines.push(`Waiting:     ${t.placementReason}`);
      if (t.stopCode || t.stoppedReason) lines.push(`Stopped:     ${t.stopCode}${t.stoppedReason ? `: ${t.stoppedReason}` : ''}`);
      lines.push(`Created:     ${when(t.createdAt)}`);
      if (t.startedAt) lines.push(`Started:     ${when(t.startedAt)}`);
      if (t.stoppedAt) lines.push(`Stopped at:  ${when(t.stoppedAt)}`);
      if (t.startedBy) lines.push(`Started by:  ${t.startedBy}`);
      lines.push(`Group:       ${t.group}`, `Reserved:    ${t.cpu} CPU units, ${t.memory} MiB`, 'Containers:');
      ctx.io.out(`${lines.join('\n')}\n`);
      ctx.io.out(
        table(
          ['  NAME', 'STATUS', 'HEALTH', 'EXIT', 'RESTARTS', 'PORTS', 'RUNTIME ID', 'REASON'],
          t.containers.map((c) => [`  ${c.name}`, c.lastStatus, c.healthStatus || '-', c.exitCode, c.restartCount, ports(c.networkBindings), c.runtimeId.slice(0, 12), c.reason]),
        ),
      );
    },
  },
  'task stop': {
    usage: 'berth task stop ID [--reason TEXT]',
    summary: 'stop a task (SIGTERM, then SIGKILL after its stopTimeout)',
    options: { reason: { type: 'string' } },
    async run({ api, io, json, args, flags, cluster }) {
      if (!args[0]) throw new UsageError('task stop: which task? (id or ARN)');
      const res = await api.stopTask({ cluster, task: args[0], reason: (flags.reason as string) ?? '' });
      if (json) return printJson(io, StopTaskResponse.toJSON(res));
      io.out(`stopping ${shortId(res.task!.taskArn)} (was ${res.task!.lastStatus})\n`);
    },
  },
};
