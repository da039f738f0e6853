import type { PutSecretRequest, Role, SecretSummary } from '@berth/proto';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Api } from '../client.js';
import { runCli } from '../cli.js';
import type { Io } from '../context.js';
import { MAX_SECRET_BYTES } from './secret.js';

const VALUE = 's3cr3t-hunter2';
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

interface Stdin {
  /** What stdin holds; absent: stdin is a terminal. */
  stdin?: string | Buffer;
  files?: Record<string, string | Buffer>;
}

async function run(argv: string[], api: Partial<Api>, input: Stdin = {}) {
  let out = '';
  let err = '';
  let stdinRead = false;
  const file = (p: string) => {
    const f = input.files?.[p];
    if (f === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return Buffer.from(f);
  };
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    readFile: (p) => file(p).toString('utf8'),
    readFileBytes: file,
    stdinIsTTY: input.stdin === undefined,
    readStdin: async () => {
      stdinRead = true;
      return Buffer.from(input.stdin ?? '');
    },
  };
  const code = await runCli(argv, io, () => ({ close: () => {}, ...api }) as Api, {});
  return { code, out, err, stdinRead };
}

/** A fake PutSecret that records what it was sent. */
function putting() {
  const sent: Partial<PutSecretRequest>[] = [];
  const api: Partial<Api> = {
    putSecret: async (r) => {
      sent.push(r);
      return { name: r.name!, version: 3 };
    },
  };
  return { api, sent };
}

const text = (b: Buffer | undefined) => Buffer.from(b ?? []).toString('utf8');

describe('berth secret put', () => {
  it('sends a file as its bytes, a final newline included', async () => {
    const { api, sent } = putting();
    const binary = Buffer.from([0x00, 0xff, 0x10, 0x0a]);
    const r = await run(['secret', 'put', 'db.password', '--from-file', 'pw.txt'], api, { files: { 'pw.txt': `${VALUE}\n`, 'key.bin': binary } });
    expect(r).toMatchObject({ code: 0, out: 'secret db.password version 3 written\n', err: '', stdinRead: false });
    expect(sent[0]!.name).toBe('db.password');
    expect(text(sent[0]!.value)).toBe(`${VALUE}\n`);

    expect((await run(['secret', 'put', 'tls-key', '--from-file', 'key.bin'], api, { files: { 'key.bin': binary } })).code).toBe(0);
    expect(Buffer.from(sent[1]!.value!).equals(binary)).toBe(true);
    expect(await run(['secret', 'put', 'x', '--from-file', 'missing.txt'], api)).toMatchObject({ code: 1, err: 'berth: missing.txt: no such file\n' });
  });

  it('reads stdin to its end, dropping one final newline and no more', async () => {
    const { api, sent } = putting();
    const put = (stdin: string) => run(['secret', 'put', 'api-token'], api, { stdin });
    expect(await put(`${VALUE}\n`)).toMatchObject({ code: 0, out: 'secret api-token version 3 written\n', stdinRead: true });
    await put(VALUE);
    await put(`${VALUE}\n\n`);
    await put(`line 1\nline 2\n`);
    await put(`${VALUE}\r\n`);
    expect(sent.map((s) => text(s.value))).toEqual([VALUE, VALUE, `${VALUE}\n\n`, 'line 1\nline 2', `${VALUE}\r`]);
  });

  it('refuses to read a value from a terminal, and takes none from the command line', async () => {
    const { api, sent } = putting();
    const tty = await run(['secret', 'put', 'db.password'], api);
    expect(tty).toMatchObject({ code: 2, stdinRead: false });
    expect(tty.err).toBe('berth: secret put: stdin is a terminal; pipe the value in (... | berth secret put NAME) or use --from-file FILE (a value is never taken from the command line) (see berth --help)\n');
    const arg = await run(['secret', 'put', 'db.password', VALUE], api, { stdin: 'x' });
    expect(arg).toMatchObject({ code: 2, stdinRead: false });
    expect(arg.err).toContain('secret put: give only NAME (got 2 arguments)');
    const flag = await run(['secret', 'put', 'db.password', `--value=${VALUE}`], api, { stdin: 'x' });
    expect(flag).toMatchObject({ code: 2, stdinRead: false });
    expect(flag.err).toContain("Unknown option '--value'");
    expect(sent).toEqual([]);
  });

  it('refuses an empty value, a value over 64 KiB and a bad name before sending anything', async () => {
    const { api, sent } = putting();
    expect(await run(['secret', 'put', 'x'], api, { stdin: '' })).toMatchObject({ code: 1, err: 'berth: secret put: nothing on stdin; a secret needs a value\n' });
    expect(await run(['secret', 'put', 'x'], api, { stdin: '\n' })).toMatchObject({ code: 1, err: 'berth: secret put: nothing on stdin; a secret needs a value\n' });
    expect(await run(['secret', 'put', 'x', '--from-file', 'empty'], api, { files: { empty: '' } })).toMatchObject({ code: 1, err: 'berth: empty: is empty; a secret needs a value\n' });
    expect(await run(['secret', 'put', 'x'], api, { stdin: Buffer.alloc(MAX_SECRET_BYTES + 1, 'a') })).toMatchObject({
      code: 1,
      err: `berth: secret put: the value is ${MAX_SECRET_BYTES + 1} bytes; at most ${MAX_SECRET_BYTES} (64 KiB)\n`,
    });
    expect((await run(['secret', 'put', 'x'], api, { stdin: Buffer.alloc(MAX_SECRET_BYTES, 'a') })).code).toBe(0);
    const bad = await run(['secret', 'put', '../etc/passwd'], api, { stdin: VALUE });
    expect(bad).toMatchObject({ code: 2, stdinRead: false });
    expect(bad.err).toContain('secret put: NAME must be 1-255 letters, digits');
    expect((await run(['secret', 'put', '--from-file', 'f'], api)).err).toBe('berth: secret put: which name? (see berth --help)\n');
    expect(sent).toHaveLength(1);
  });

  it('never prints the value: not on success, not in JSON, not in any error', async () => {
    const { api } = putting();
    const outputs = [
      await run(['secret', 'put', 'db.password'], api, { stdin: VALUE }),
      await run(['secret', 'put', 'db.password', '-o', 'json'], api, { stdin: `${VALUE}\n` }),
      await run(['secret', 'put', 'db.password', '--from-file', 'pw'], api, { files: { pw: VALUE } }),
      await run(['secret', 'put', 'db.password', VALUE], api, { stdin: VALUE }),
      await run(['secret', 'put', 'db.password', '--', VALUE], api),
      await run(['secret', 'put', 'db.password', `--value=${VALUE}`], api),
      await run(['secret', 'put', 'db.password', '--from-file', VALUE.slice(0, 3)], api, { stdin: VALUE }),
      await run(['secret', 'put', 'db.password'], { putSecret: async () => Promise.reject(Object.assign(new Error('x'), { code: status.INVALID_ARGUMENT, details: 'name: bad' })) }, { stdin: VALUE }),
      await run(['secret', 'put', 'db.password'], { putSecret: async () => Promise.reject(Object.assign(new Error('x'), { code: status.UNAVAILABLE })) }, { stdin: VALUE }),
      await run(['secret', 'put', 'db.password'], { putSecret: async () => Promise.reject(Object.assign(new Error('x'), { code: status.INTERNAL, details: 'boom' })) }, { stdin: VALUE }),
    ];
    expect(outputs.map((o) => o.code)).toEqual([0, 0, 0, 2, 2, 2, 1, 1, 1, 1]);
    expect(JSON.parse(outputs[1]!.out)).toEqual({ name: 'db.password', version: 3 });
    for (const o of outputs) {
      expect(o.out).not.toContain(VALUE);
      expect(o.err).not.toContain(VALUE);
    }
  });

  it('says how stdin is read in its help', async () => {
    const r = await run(['secret', 'put', '--help'], {});
    expect(r.code).toBe(0);
    expect(r.out).toContain('berth secret put NAME [--from-file FILE]');
    expect(r.out).toContain('less one final newline');
    expect(r.stdinRead).toBe(false);
  });
});

describe('berth secret ls and rm', () => {
  const summary = (name: string, over: Partial<SecretSummary> = {}): SecretSummary => ({ name, latestVersion: 1, versions: 1, createdAt: minutesAgo(90), updatedAt: minutesAgo(5), ...over });

  it('pages through ListSecrets and prints a table', async () => {
    const pages: unknown[] = [];
    const all = [summary('api-token', { latestVersion: 4, versions: 2 }), summary('db.password'), summary('db.user', { updatedAt: minutesAgo(180) })];
    const api: Partial<Api> = {
      listSecrets: async (r) => {
        pages.push(r);
        const at = Number(r.nextToken || 0);
        return { secrets: all.slice(at, at + 2), nextToken: at + 2 < all.length ? String(at + 2) : '' };
      },
    };
    const r = await run(['secret', 'ls'], api);
    expect(r.code).toBe(0);
    expect(pages).toEqual([{ prefix: '', nextToken: '' }, { prefix: '', nextToken: '2' }]);
    expect(r.out).toBe(['NAME         VERSION  VERSIONS  UPDATED', 'api-token    4        2         5m ago', 'db.password  1        1         5m ago', 'db.user      1        1         3h ago', ''].join('\n'));

    pages.length = 0;
    const j = await run(['secret', 'ls', '--prefix', 'db.', '-o', 'json'], api);
    expect(pages[0]).toEqual({ prefix: 'db.', nextToken: '' });
    expect(JSON.parse(j.out).secrets.map((s: { name: string }) => s.name)).toEqual(['api-token', 'db.password', 'db.user']);
    expect(JSON.parse(j.out).secrets[0]).toMatchObject({ name: 'api-token', latestVersion: 4, versions: 2 });
    expect(await run(['secret', 'ls', '--prefix'], api)).toMatchObject({ code: 2, err: expect.stringContaining("Option '--prefix <value>' argument missing") });
  });

  it('deletes a secret and says how many versions went', async () => {
    let asked: unknown;
    const api: Partial<Api> = { deleteSecret: async (r) => ((asked = r), { name: r.name!, versions: r.name === 'one' ? 1 : 3 }) };
    expect(await run(['secret', 'rm', 'db.password'], api)).toMatchObject({ code: 0, out: 'secret db.password deleted (3 versions)\n' });
    expect(asked).toEqual({ name: 'db.password' });
    expect((await run(['secret', 'rm', 'one'], api)).out).toBe('secret one deleted (1 version)\n');
    expect(JSON.parse((await run(['secret', 'rm', 'db.password', '-o', 'json'], api)).out)).toEqual({ name: 'db.password', versions: 3 });
    expect(await run(['secret', 'rm'], api)).toMatchObject({ code: 2, err: 'berth: secret rm: which secret? (see berth --help)\n' });
    const missing = { deleteSecret: async () => Promise.reject(Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'secret nope not found' })) };
    expect(await run(['secret', 'rm', 'nope'], missing)).toMatchObject({ code: 1, err: 'berth: secret nope not found\n' });
  });

  it('answers unknown verbs and flags with exit 2, naming them', async () => {
    expect(await run(['secret', 'get', 'db.password'], {})).toMatchObject({ code: 2, err: 'berth: unknown command "secret get"; secret has: put, ls, rm (see berth --help)\n' });
    const r = await run(['secret', 'ls', '--bogus'], {});
    expect(r.code).toBe(2);
    expect(r.err).toContain("Unknown option '--bogus'");
    expect((await run(['secret', 'rm', 'x', '--force'], {})).err).toContain("Unknown option '--force'");
  });
});

describe('berth role', () => {
  const role = (name: string, secrets: string[]): Role => ({ name, secrets, createdAt: minutesAgo(60), updatedAt: minutesAgo(2) });

  it('puts a role with its secrets, prefixes and *', async () => {
    let asked: unknown;
    const api: Partial<Api> = { putRole: async (r) => ((asked = r), { role: role(r.name!, r.secrets!) }) };
    const r = await run(['role', 'put', 'web', '--secret', 'db.password', '--secret', 'api-*'], api);
    expect(r).toMatchObject({ code: 0, out: 'role web allows: db.password, api-*\n', err: '' });
    expect(asked).toEqual({ name: 'web', secrets: ['db.password', 'api-*'] });
    expect((await run(['role', 'put', 'admin', '--secret', '*'], api)).out).toBe('role admin allows: *\n');
    expect(JSON.parse((await run(['role', 'put', 'admin', '--secret', '*', '-o', 'json'], api)).out)).toMatchObject({ role: { name: 'admin', secrets: ['*'] } });
  });

  it('refuses a put without secrets or with a bad flag, naming the flag', async () => {
    expect(await run(['role', 'put', 'web'], {})).toMatchObject({ code: 2, err: "berth: --secret: give at least one (a secret name, 'prefix*' or '*') (see berth --help)\n" });
    expect((await run(['role', 'put', 'web', '--secret', ''], {})).err).toContain('--secret: must be a secret name');
    expect((await run(['role', 'put', 'web', '--secret'], {})).err).toContain("Option '--secret <value>' argument missing");
    expect((await run(['role', 'put', 'web', '--secrets', 'x'], {})).err).toContain("Unknown option '--secrets'");
    expect((await run(['role', 'put', '--secret', 'x'], {})).err).toBe('berth: role put: which role? (see berth --help)\n');
    const invalid = { putRole: async () => Promise.reject(Object.assign(new Error('x'), { code: status.INVALID_ARGUMENT, details: 'secrets[0]: must be a secret name, a prefix ending in *, or *, got "a/b"' })) };
    expect(await run(['role', 'put', 'web', '--secret', 'a/b'], invalid)).toMatchObject({ code: 1, err: 'berth: secrets[0]: must be a secret name, a prefix ending in *, or *, got "a/b"\n' });
  });

  it('lists roles as a table', async () => {
    const api: Partial<Api> = { listRoles: async () => ({ roles: [role('admin', ['*']), role('web', ['db.password', 'api-*'])] }) };
    const r = await run(['role', 'ls'], api);
    expect(r.out).toBe(['NAME   SECRETS             UPDATED', 'admin  *                   2m ago', 'web    db.password, api-*  2m ago', ''].join('\n'));
    expect(JSON.parse((await run(['role', 'ls', '-o', 'json'], api)).out).roles).toHaveLength(2);
  });

  it('deletes a role', async () => {
    let asked: unknown;
    const api: Partial<Api> = { deleteRole: async (r) => ((asked = r), {}) };
    expect(await run(['role', 'rm', 'web'], api)).toMatchObject({ code: 0, out: 'role web deleted\n' });
    expect(asked).toEqual({ name: 'web' });
    expect((await run(['role', 'rm', 'web', 'db'], api)).err).toBe('berth: role rm: one role at a time, got 2: web db (see berth --help)\n');
    const missing = { deleteRole: async () => Promise.reject(Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'role web not found' })) };
    expect(await run(['role', 'rm', 'web'], missing)).toMatchObject({ code: 1, err: 'berth: role web not found\n' });
  });
});
