import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { parseRegistryCredentials, parseRoleRef, parseSecretRef, roleAllows, secretNameProblem, secretReferences } from './secrets.js';
import { parseTaskDefinition } from './task-definition.js';

describe('secret references', () => {
  it('reads berth:secret/NAME[:VERSION], bare names, and AWS ARNs by their last part', () => {
    expect(parseSecretRef('berth:secret/db-password')).toEqual({ name: 'db-password' });
    expect(parseSecretRef('berth:secret/db-password:3')).toEqual({ name: 'db-password', version: 3 });
    expect(parseSecretRef('db-password')).toEqual({ name: 'db-password' });
    expect(parseSecretRef('arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password')).toEqual({ name: 'db-password' });
    expect(parseSecretRef('arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db-password')).toEqual({ name: 'db-password' });
  });
  it('refuses path traversal and odd names', () => {
    for (const bad of ['berth:secret/../etc/passwd', 'berth:secret/a/b', '..', '.hidden', 'a..b', '', 'berth:secret/x:0', 'x'.repeat(300)]) {
      expect(parseSecretRef(bad), bad).toBeUndefined();
    }
    expect(secretNameProblem('../x')).toMatch(/no "\/" and no "\.\."/);
    expect(secretNameProblem('db.password_2')).toBeUndefined();
  });
  it('names roles from IAM ARNs, berth:role/NAME or NAME', () => {
    expect(parseRoleRef('arn:aws:iam::123456789012:role/ecsTaskExecutionRole')).toBe('ecsTaskExecutionRole');
    expect(parseRoleRef('arn:aws:iam::123456789012:role/service-role/web')).toBe('web');
    expect(parseRoleRef('berth:role/web')).toBe('web');
    expect(parseRoleRef('web')).toBe('web');
    expect(parseRoleRef('no spaces')).toBeUndefined();
  });
  it('grants by name, prefix* or *', () => {
    expect(roleAllows(['db-password'], 'db-password')).toBe(true);
    expect(roleAllows(['db-*'], 'db-password')).toBe(true);
    expect(roleAllows(['*'], 'anything')).toBe(true);
    expect(roleAllows(['db-password'], 'db-password-old')).toBe(false);
  });
  it('registry credentials are JSON with username and password', () => {
    expect(parseRegistryCredentials('{"username":"u","password":"p"}')).toEqual({ username: 'u', password: 'p' });
    expect(parseRegistryCredentials('u:p')).toBeUndefined();
  });
});

describe('secrets in task definitions', () => {
  const def = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ family: 'app', executionRoleArn: 'app', containerDefinitions: [{ name: 'app', image: 'x', memory: 32, ...container }], ...extra });
  it('accepts env and file secrets and registry credentials, without warnings, and lists them', () => {
    const { spec, warnings } = parseTaskDefinition(
      def({
        secrets: [
          { name: 'DB_PASSWORD', valueFrom: 'berth:secret/db-password' },
          { name: '/run/secrets/api-key', valueFrom: 'arn:aws:secretsmanager:eu-west-1:1:secret:api-key' },
        ],
        repositoryCredentials: { credentialsParameter: 'berth:secret/registry' },
      }),
    );
    expect(warnings).toEqual([]);
    expect(secretReferences(spec.containerDefinitions).map((r) => [r.use, r.target, r.ref.name])).toEqual([
      ['env', 'DB_PASSWORD', 'db-password'],
      ['file', '/run/secrets/api-key', 'api-key'],
      ['registry', 'x', 'registry'],
    ]);
  });
  it('names every bad secret field', () => {
    try {
      parseTaskDefinition(
        def(
          {
            environment: [{ name: 'TOKEN', value: 'x' }],
            secrets: [
              { name: 'TOKEN', valueFrom: 'berth:secret/t' },
              { name: '/proc/self/x', valueFrom: 'berth:secret/t' },
              { name: '/run/../etc/shadow', valueFrom: 'berth:secret/t' },
              { name: 'OK', valueFrom: 'berth:secret/../../etc' },
              { name: 'OK2' },
            ],
            repositoryCredentials: { credentialsParameter: 'a/b' },
          },
          { taskRoleArn: 'arn:aws:iam::1:user/bob' },
        ),
      );
      throw new Error('expected an error');
    } catch (err) {
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).fieldErrors.map((e) => e.path)).toEqual([
        'taskRoleArn',
        'containerDefinitions[0].secrets[0].name',
        'containerDefinitions[0].secrets[1].name',
        'containerDefinitions[0].secrets[2].name',
        'containerDefinitions[0].secrets[3].valueFrom',
        'containerDefinitions[0].secrets[4].valueFrom',
        'containerDefinitions[0].repositoryCredentials.credentialsParameter',
      ]);
    }
  });
});
