import {
  invalid,
  notFound,
  parseRoleRef,
  roleAllows,
  secretNameProblem,
  secretReferences,
  type SecretReference,
  type TaskDefinitionSpec,
} from '@berth/domain';
import {
  decodeToken,
  deleteRole,
  deleteSecret,
  encodeToken,
  getRole,
  getSealedSecret,
  insertSecretVersion,
  listRoles,
  listSecrets,
  nextSecretVersion,
  pageSize,
  putRole,
  resealSecret,
  secretsSealedWithOtherKeys,
  appendEvents,
  type Page,
  type RoleRecord,
  type SealedSecretRecord,
  type SecretSummary,
} from '@berth/store';
import type { Keyring } from '../secrets/keyring.js';
import type { AppContext } from './context.js';

/**
 * Secrets and roles. A secret is written (a new version each time), listed
 * (names, versions, times) and deleted; its value is never returned by any
 * operation. It is decrypted only to be sent to the node that starts a task
 * using it. A role lists the secrets a task definition naming it (taskRoleArn
 * or executionRoleArn) may read.
 */

/** Largest secret value (as Secrets Manager). */
export const MAX_SECRET_BYTES = 64 * 1024;
const aad = (name: string, version: number) => `${name}:${version}`;

function keyring(ctx: AppContext): Keyring {
  if (!ctx.keyring) throw new Error('no secrets keyring configured');
  return ctx.keyring;
}

function checkName(name: string, field = 'name'): void {
  const problem = secretNameProblem(name);
  if (problem) throw invalid(`${field}: ${problem}, got ${JSON.stringify(name)}`);
}

export async function putSecretOp(ctx: AppContext, input: { name: string; value: Buffer }): Promise<{ name: string; version: number }> {
  checkName(input.name);
  if (input.value.length === 0) throw invalid('value: must not be empty');
  if (input.value.length > MAX_SECRET_BYTES) throw invalid(`value: must be at most ${MAX_SECRET_BYTES} bytes, got ${input.value.length}`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const version = await nextSecretVersion(ctx.db.sql, input.name);
    const sealed = keyring(ctx).seal(input.value, aad(input.name, version));
    if (await insertSecretVersion(ctx.db.sql, { name: input.name, version, ...sealed })) {
      await appendEvents(ctx.db.sql, [{ cluster: '', kind: 'secret.put', subject: input.name, message: `secret ${input.name} version ${version} written` }]);
      ctx.log.info({ secret: input.name, version }, 'secret written');
      return { name: input.name, version };
    }
  }
  throw invalid(`name: secret ${input.name} is being written concurrently; try again`);
}

export async function listSecretsOp(ctx: AppContext, input: { prefix?: string; nextToken?: string; maxResults?: number }): Promise<Page<SecretSummary>> {
  const limit = pageSize(input.maxResults);
  const token = decodeToken(input.nextToken);
  if (token !== undefined && !(token.length === 1 && typeof token[0] === 'string')) throw invalid('nextToken: not a token this list returned');
  const items = await listSecrets(ctx.db.sql, { prefix: input.prefix || undefined, after: token?.[0] as string | undefined, limit });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken([last.name]) : undefined };
}

export async function deleteSecretOp(ctx: AppContext, name: string): Promise<{ name: string; versions: number }> {
  checkName(name);
  const versions = await deleteSecret(ctx.db.sql, name);
  if (versions === 0) throw notFound(`secret ${name} not found`);
  await appendEvents(ctx.db.sql, [{ cluster: '', kind: 'secret.deleted', subject: name, message: `secret ${name} deleted (${versions} version(s))` }]);
  return { name, versions };
}

export async function putRoleOp(ctx: AppContext, input: { name: string; secrets: string[] }): Promise<RoleRecord> {
  if (parseRoleRef(input.name) !== input.name) throw invalid(`name: must be 1-64 letters, digits or _.+=,@- starting with a letter or digit, got ${JSON.stringify(input.name)}`);
  input.secrets.forEach((g, i) => {
    const base = g.endsWith('*') ? g.slice(0, -1) : g;
    if (g !== '*' && secretNameProblem(base) !== undefined) throw invalid(`secrets[${i}]: must be a secret name, a prefix ending in *, or *, got ${JSON.stringify(g)}`);
  });
  return putRole(ctx.db.sql, input.name, [...new Set(input.secrets)]);
}

export async function listRolesOp(ctx: AppContext): Promise<RoleRecord[]> {
  return listRoles(ctx.db.sql);
}

export async function deleteRoleOp(ctx: AppContext, name: string): Promise<void> {
  if (!(await deleteRole(ctx.db.sql, name))) throw notFound(`role ${name} not found`);
}

/**
 * A task definition's secrets against its role: every secret it names must be
 * granted by its executionRoleArn (or taskRoleArn) role, and when
 * `mustExist`, exist (in the version named). Throws naming the field.
 */
export async function checkTaskSecrets(ctx: AppContext, spec: TaskDefinitionSpec, o: { mustExist: boolean }): Promise<SecretReference[]> {
  const refs = await allowedReferences(ctx, spec);
  if (o.mustExist) for (const r of refs) await sealedFor(ctx, r);
  return refs;
}

/** The references, each allowed by the task definition's role (or the error naming the field). */
async function allowedReferences(ctx: AppContext, spec: TaskDefinitionSpec): Promise<SecretReference[]> {
  const refs = secretReferences(spec.containerDefinitions);
  if (refs.length === 0) return refs;
  const roleField = spec.executionRoleArn ? 'executionRoleArn' : spec.taskRoleArn ? 'taskRoleArn' : undefined;
  if (!roleField) {
    throw invalid(`${refs[0]!.path}: secret ${refs[0]!.ref.name} needs a role that allows it: set executionRoleArn (or taskRoleArn) to a Berth role (berth role put NAME --secret ${refs[0]!.ref.name})`);
  }
  const roleName = parseRoleRef(spec[roleField])!;
  const role = await getRole(ctx.db.sql, roleName);
  if (!role) throw invalid(`${roleField}: role ${roleName} not found (berth role put ${roleName} --secret ...)`);
  for (const r of refs) {
    if (!roleAllows(role.secrets, r.ref.name)) throw invalid(`${r.path}: role ${roleName} does not allow secret ${r.ref.name}`);
  }
  return refs;
}

/** The sealed version a reference names, or the error saying it does not exist. */
async function sealedFor(ctx: AppContext, r: SecretReference): Promise<SealedSecretRecord> {
  const sealed = await getSealedSecret(ctx.db.sql, r.ref.name, r.ref.version);
  if (!sealed) throw invalid(`${r.path}: secret ${r.ref.name}${r.ref.version ? ` version ${r.ref.version}` : ''} not found (berth secret put ${r.ref.name})`);
  return sealed;
}

export interface ResolvedSecret {
  container: string;
  use: SecretReference['use'];
  target: string;
  value: string;
}

/**
 * The values a task's secrets have now, for its node (and nothing else):
 * checked against the role again (it may have changed since the task was
 * made); each secret read once. Throws an Error whose message is the task's
 * stop reason.
 */
export async function resolveTaskSecrets(ctx: AppContext, spec: TaskDefinitionSpec): Promise<ResolvedSecret[]> {
  const out: ResolvedSecret[] = [];
  for (const r of await allowedReferences(ctx, spec)) {
    const sealed = await sealedFor(ctx, r);
    const value = keyring(ctx).open(sealed, aad(sealed.name, sealed.version)).toString('utf8');
    out.push({ container: r.container, use: r.use, target: r.target, value });
  }
  return out;
}

/** After a key rotation: every version sealed with another key is sealed again with the primary one. */
export async function resealSecrets(ctx: AppContext): Promise<number> {
  const ring = keyring(ctx);
  let done = 0;
  for (;;) {
    const batch = await secretsSealedWithOtherKeys(ctx.db.sql, ring.primaryId, 100);
    let progress = false;
    for (const s of batch) {
      let plain: Buffer;
      try {
        plain = ring.open(s, aad(s.name, s.version));
      } catch (err) {
        ctx.log.error({ secret: s.name, version: s.version, reason: (err as Error).message }, 'secret cannot be opened with the configured keys; left as it is');
        continue;
      }
      if (await resealSecret(ctx.db.sql, { name: s.name, version: s.version, ...ring.seal(plain, aad(s.name, s.version)) }, s.keyId)) done++;
      progress = true;
    }
    if (!progress) return done;
  }
}
