import { DeleteRoleResponse, ListRolesResponse, PutRoleResponse } from '@berth/proto';
import { UsageError } from '../errors.js';
import { printJson, type Command } from '../context.js';
import { age } from '../output/format.js';
import { table } from '../output/table.js';

/**
 * `berth role`: PutRole, ListRoles and DeleteRole. A role names the secrets a
 * task definition may read when its executionRoleArn (or taskRoleArn) names
 * the role: secret names, "prefix*" or "*".
 */

function oneRole(verb: string, args: string[]): string {
  if (args.length > 1) throw new UsageError(`role ${verb}: one role at a time, got ${args.length}: ${args.join(' ')}`);
  if (!args[0]) throw new UsageError(`role ${verb}: which role?`);
  return args[0];
}

export const roleCommands: Record<string, Command> = {
  'role put': {
    usage: "berth role put NAME --secret S [--secret S ...]   (S: a secret name, 'prefix*' or '*'; quote * from the shell)",
    summary: 'create or replace a role: the secrets a task definition naming it in executionRoleArn or taskRoleArn may read',
    options: { secret: { type: 'string', multiple: true } },
    async run({ api, io, json, args, flags }) {
      const name = oneRole('put', args);
      const secrets = (flags.secret as string[] | undefined) ?? [];
      if (secrets.length === 0) throw new UsageError("--secret: give at least one (a secret name, 'prefix*' or '*')");
      if (secrets.some((s) => s.trim() === '')) throw new UsageError('--secret: must be a secret name, a prefix ending in * or *, got ""');
      const res = await api.putRole({ name, secrets });
      if (json) return printJson(io, PutRoleResponse.toJSON(res));
      io.out(`role ${res.role!.name} allows: ${res.role!.secrets.join(', ')}\n`);
    },
  },
  'role ls': {
    usage: 'berth role ls',
    summary: 'list roles and the secrets each allows',
    async run({ api, io, json }) {
      const res = await api.listRoles({});
      if (json) return printJson(io, ListRolesResponse.toJSON(res));
      io.out(table(['NAME', 'SECRETS', 'UPDATED'], res.roles.map((r) => [r.name, r.secrets.join(', '), r.updatedAt ? `${age(r.updatedAt)} ago` : ''])));
    },
  },
  'role rm': {
    usage: 'berth role rm NAME',
    summary: 'delete a role (tasks whose definition names it can no longer get their secrets)',
    async run({ api, io, json, args }) {
      const name = oneRole('rm', args);
      const res = await api.deleteRole({ name });
      if (json) return printJson(io, DeleteRoleResponse.toJSON(res));
      io.out(`role ${name} deleted\n`);
    },
  },
};
