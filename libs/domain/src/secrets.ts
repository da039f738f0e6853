/**
 * Secrets and roles as task definitions name them: ECS's `secrets: [{name,
 * valueFrom}]`, `repositoryCredentials.credentialsParameter`, and
 * `taskRoleArn` / `executionRoleArn`. Pure: names and references only; values
 * never pass through here.
 */

/** A secret's name: letters, digits, `_`, `-`, `.`; no path separators, no `..`. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** Why a secret name is not one, or undefined when it is. */
export function secretNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name) || name.includes('..')) {
    return 'must be 1-255 letters, digits, "_", "-" or "." starting with a letter or digit (no "/" and no "..")';
  }
  return undefined;
}

export interface SecretRef {
  name: string;
  /** Absent: the latest version. */
  version?: number;
}

/**
 * A `valueFrom` (or `credentialsParameter`): `berth:secret/NAME[:VERSION]`, a
 * bare NAME, or, for users migrating from ECS, an AWS ARN whose last part names
 * a Berth secret (Secrets Manager `...:secret:NAME`, SSM `...:parameter/NAME`).
 * Undefined when it is none of these.
 */
export function parseSecretRef(ref: unknown): SecretRef | undefined {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 2048) return undefined;
  let name: string;
  let version: number | undefined;
  const berth = /^berth:secret\/([^:]+)(?::([0-9]+))?$/.exec(ref);
  if (berth) {
    name = berth[1]!;
    if (berth[2] !== undefined) version = Number(berth[2]);
  } else if (ref.startsWith('arn:')) {
    const resource = ref.split(':').slice(5);
    if (resource[0] === 'secret') name = resource[1] ?? '';
    else name = (resource.join(':').split('/').pop() ?? '');
  } else name = ref;
  if (secretNameProblem(name) !== undefined) return undefined;
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) return undefined;
  return version === undefined ? { name } : { name, version };
}

export function formatSecretRef(r: SecretRef): string {
  return `berth:secret/${r.name}${r.version === undefined ? '' : `:${r.version}`}`;
}

/** A role's name: like a secret's. */
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+=,@-]{0,63}$/;

/** `taskRoleArn` / `executionRoleArn`: an IAM role ARN (`arn:aws:iam::ACCOUNT:role/NAME`), `berth:role/NAME`, or NAME. */
export function parseRoleRef(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  let name = ref;
  if (ref.startsWith('arn:')) {
    const m = /:role\/(?:.*\/)?([^/]+)$/.exec(ref);
    name = m?.[1] ?? '';
  } else if (ref.startsWith('berth:role/')) name = ref.slice('berth:role/'.length);
  return ROLE_NAME_PATTERN.test(name) ? name : undefined;
}

/**
 * Whether a role's grant covers a secret: the exact name, or a prefix grant
 * ending in `*` (`db-*`), or `*` for every secret.
 */
export function roleAllows(grants: readonly string[], secret: string): boolean {
  return grants.some((g) => g === secret || g === '*' || (g.endsWith('*') && secret.startsWith(g.slice(0, -1))));
}

/** What a container asks for: an environment variable, a file (a `name` that is an absolute path), or registry credentials. */
export type SecretUse = 'env' | 'file' | 'registry';

export interface SecretReference {
  container: string;
  use: SecretUse;
  /** The variable name, the file path, or the image. */
  target: string;
  ref: SecretRef;
  /** Where in the task definition, for messages. */
  path: string;
}

interface ContainerWithSecrets {
  name: string;
  image?: string;
  secrets?: { name: string; valueFrom: string }[];
  repositoryCredentials?: { credentialsParameter?: string };
}

/** Every secret a (valid) task definition refers to. */
export function secretReferences(containers: readonly ContainerWithSecrets[]): SecretReference[] {
  const out: SecretReference[] = [];
  containers.forEach((c, i) => {
    (c.secrets ?? []).forEach((s, j) => {
      const ref = parseSecretRef(s.valueFrom);
      if (!ref) return;
      out.push({ container: c.name, use: s.name.startsWith('/') ? 'file' : 'env', target: s.name, ref, path: `containerDefinitions[${i}].secrets[${j}].valueFrom` });
    });
    const cred = c.repositoryCredentials?.credentialsParameter;
    const ref = parseSecretRef(cred);
    if (ref) out.push({ container: c.name, use: 'registry', target: c.image ?? '', ref, path: `containerDefinitions[${i}].repositoryCredentials.credentialsParameter` });
  });
  return out;
}

/** Where a file secret may go in a container: an absolute path, no `..`, not a system directory. */
export function secretFileProblem(path: string): string | undefined {
  if (!path.startsWith('/') || path.length > 255 || path.split('/').some((p) => p === '..' || p === '.') || path.endsWith('/')) {
    return 'a file secret must name an absolute file path without "." or ".." parts, e.g. /run/secrets/db-password';
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(path) || path === '/') return 'a file secret cannot be placed under /proc, /sys or /dev';
  return undefined;
}

/** The registry credentials a secret holds (as ECS's Secrets Manager format): JSON with username and password. */
export function parseRegistryCredentials(value: string): { username: string; password: string } | undefined {
  try {
    const v = JSON.parse(value) as { username?: unknown; password?: unknown };
    if (typeof v.username === 'string' && typeof v.password === 'string') return { username: v.username, password: v.password };
  } catch {
    // not JSON
  }
  return undefined;
}
