import { RegisterTaskDefinitionResponse, DescribeTaskDefinitionResponse, ListTaskDefinitionsResponse, DeregisterTaskDefinitionResponse } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { definitionName } from '../output/format.js';
import { table } from '../output/table.js';

/** "invalid JSON at line L column C: reason", from JSON.parse's position. */
export function jsonProblem(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  // Node words this two ways: "... in JSON at position N" or "Unexpected token 'x', "<snippet>" is not valid JSON".
  const reason = err.message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
  if (!m) return `invalid JSON: ${reason}`;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `invalid JSON at line ${line} column ${column}: ${reason}`;
}

export const taskdefCommands: Record<string, Command> = {
  'taskdef register': {
    usage: 'berth taskdef register -f FILE',
    summary: 'register an ECS task definition (the RegisterTaskDefinition shape, or describe-task-definition output)',
    options: { file: { type: 'string', short: 'f' } },
    async run({ api, io, json, flags }) {
      const file = flags.file as string | undefined;
      if (!file) throw new UsageError('taskdef register: -f FILE is required (use - for stdin)');
      let text: string;
      try {
        text = io.readFile(file === '-' ? '/dev/stdin' : file);
      } catch (err) {
        throw new CliError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      try {
        JSON.parse(text);
      } catch (err) {
        throw new CliError(`${file}: ${jsonProblem(text, err as Error)}`);
      }
      const res = await api.registerTaskDefinition({ taskDefinitionJson: text });
      if (json) return printJson(io, RegisterTaskDefinitionResponse.toJSON(res));
      const td = res.taskDefinition!;
      io.out(`registered ${td.family}:${td.revision}  ${td.taskDefinitionArn}\n`);
      for (const w of res.warnings) io.err(`warning: ${w}\n`);
    },
  },
  'taskdef ls': {
    usage: 'berth taskdef ls [--family-prefix P] [--status ACTIVE|INACTIVE|ALL]',
    summary: 'list task definitions',
    options: { 'family-prefix': { type: 'string' }, status: { type: 'string' } },
    async run({ api, io, json, flags }) {
      const arns: string[] = [];
      let nextToken = '';
      do {
        const page = await api.listTaskDefinitions({ familyPrefix: (flags['family-prefix'] as string) ?? '', status: (flags.status as string) ?? '', nextToken });
        arns.push(...page.taskDefinitionArns);
        nextToken = page.nextToken;
      } while (nextToken);
      if (json) return printJson(io, ListTaskDefinitionsResponse.toJSON({ taskDefinitionArns: arns, nextToken: '' }));
      io.out(table(['DEFINITION', 'ARN'], arns.map((a) => [definitionName(a), a])));
    },
  },
  'taskdef describe': {
    usage: 'berth taskdef describe FAMILY[:REVISION]',
    summary: 'print a task definition as ECS JSON',
    async run({ api, io, json, args }) {
      if (!args[0]) throw new UsageError('taskdef describe: which task definition? (family or family:revision)');
      const res = await api.describeTaskDefinition({ taskDefinition: args[0] });
      if (json) return printJson(io, DescribeTaskDefinitionResponse.toJSON(res));
      printJson(io, { taskDefinition: JSON.parse(res.taskDefinition!.taskDefinitionJson) });
    },
  },
  'taskdef deregister': {
    usage: 'berth taskdef deregister FAMILY:REVISION',
    summary: 'mark a revision INACTIVE (running tasks keep running)',
    async run({ api, io, json, args }) {
      if (!args[0]) throw new UsageError('taskdef deregister: which revision? (family:revision)');
      const res = await api.deregisterTaskDefinition({ taskDefinition: args[0] });
      if (json) return printJson(io, DeregisterTaskDefinitionResponse.toJSON(res));
      io.out(`deregistered ${res.taskDefinition!.family}:${res.taskDefinition!.revision} (now ${res.taskDefinition!.status})\n`);
    },
  },
};
