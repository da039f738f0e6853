import { secretNameProblem } from '@berth/domain';
import { DeleteSecretResponse, ListSecretsResponse, PutSecretResponse, type SecretSummary } from '@berth/proto';
import { CliError, UsageError } from '../errors.js';
import { printJson, type Command, type Io } from '../context.js';
import { age } from '../output/format.js';
import { table } from '../output/table.js';

/**
 * `berth secret`: PutSecret, ListSecrets and DeleteSecret. Secrets belong to
 * the control plane, not to a cluster. A value goes in from a file or from
 * stdin, never from the command line (it would land in shell history), and
 * nothing here prints it: there is no way to read a value back.
 */

/** Largest value the control plane takes (as Secrets Manager): refused here before it is sent. */
export const MAX_SECRET_BYTES = 64 * 1024;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The value from --from-file (its bytes as they are) or stdin (less one final "\n"). Never echoed in an error. */
async function readValue(io: Io, file: string | undefined): Promise<Buffer> {
  if (file !== undefined) {
    if (file === '') throw new UsageError('--from-file: which file?');
    let value: Buffer;
    try {
      value = io.readFileBytes ? io.readFileBytes(file) : Buffer.from(io.readFile(file), 'utf8');
    } catch (err) {
      throw new CliError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (value.length === 0) throw new CliError(`${file}: is empty; a secret needs a value`);
    return value;
  }
  if (io.stdinIsTTY || !io.readStdin) {
    throw new UsageError(
      `secret put: ${io.stdinIsTTY ? 'stdin is a terminal; ' : ''}pipe the value in (... | berth secret put NAME) or use --from-file FILE (a value is never taken from the command line)`,
    );
  }
  let value = await io.readStdin();
  // `echo VALUE |` adds one newline: it is not part of the value. Two or more are kept.
  if (value.length > 0 && value[value.length - 1] === 0x0a && !(value.length > 1 && value[value.length - 2] === 0x0a)) value = value.subarray(0, value.length - 1);
  if (value.length === 0) throw new CliError('secret put: nothing on stdin; a secret needs a value');
  return value;
}

export const secretCommands: Record<string, Command> = {
  'secret put': {
    usage:
      'berth secret put NAME [--from-file FILE]\n' +
      "    the value is FILE's bytes as they are, or else stdin read to its end less one final newline (piped from echo or printf %s, the same value);\n" +
      '    never a command-line argument, so it stays out of shell history',
    summary: 'write a secret (each put makes a new version, at most 64 KiB); its value can never be read back, only used by tasks whose role allows it',
    options: { 'from-file': { type: 'string' } },
    async run({ api, io, json, args, flags }) {
      // Never echo the arguments: an extra one may well be the value.
      if (args.length > 1) throw new UsageError(`secret put: give only NAME (got ${args.length} arguments); the value comes from stdin or --from-file, never the command line`);
      const name = args[0];
      if (!name) throw new UsageError('secret put: which name?');
      const problem = secretNameProblem(name);
      if (problem) throw new UsageError(`secret put: NAME ${problem}, got ${JSON.stringify(name)}`);
      const value = await readValue(io, flags['from-file'] as string | undefined);
      if (value.length > MAX_SECRET_BYTES) throw new CliError(`secret put: the value is ${value.length} bytes; at most ${MAX_SECRET_BYTES} (64 KiB)`);
      const res = await api.putSecret({ name, value });
      if (json) return printJson(io, PutSecretResponse.toJSON(res));
      io.out(`secret ${res.name} version ${res.version} written\n`);
    },
  },
  'secret ls': {
    usage: 'berth secret ls [--prefix P]',
    summary: 'list secrets: names, latest version, how many versions, when last written (never values)',
    options: { prefix: { type: 'string' } },
    async run({ api, io, json, flags }) {
      const prefix = (flags.prefix as string | undefined) ?? '';
      const secrets: SecretSummary[] = [];
      let nextToken = '';
      do {
        const page = await api.listSecrets({ prefix, nextToken });
        secrets.push(...page.secrets);
        nextToken = page.nextToken;
      } while (nextToken);
      if (json) return printJson(io, ListSecretsResponse.toJSON({ secrets, nextToken: '' }));
      io.out(table(['NAME', 'VERSION', 'VERSIONS', 'UPDATED'], secrets.map((s) => [s.name, s.latestVersion, s.versions, s.updatedAt ? `${age(s.updatedAt)} ago` : ''])));
    },
  },
  'secret rm': {
    usage: 'berth secret rm NAME',
    summary: 'delete a secret and every version of it',
    async run({ api, io, json, args }) {
      if (args.length > 1) throw new UsageError(`secret rm: one secret at a time, got ${args.length}: ${args.join(' ')}`);
      if (!args[0]) throw new UsageError('secret rm: which secret?');
      const res = await api.deleteSecret({ name: args[0] });
      if (json) return printJson(io, DeleteSecretResponse.toJSON(res));
      io.out(`secret ${res.name} deleted (${plural(res.versions, 'version')})\n`);
    },
  },
};
