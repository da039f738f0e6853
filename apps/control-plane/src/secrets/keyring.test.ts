import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { keyId, keyringOf, loadKeyring, parseKeys } from './keyring.js';

const log = pino({ level: 'silent' });

describe('keyring', () => {
  it('seals with the first key, opens with any, bound to the name', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const old = keyringOf([a]);
    const sealed = old.seal(Buffer.from('s3cret'), 'db:1');
    expect(sealed.keyId).toBe(keyId(a));
    expect(sealed.ciphertext.includes(Buffer.from('s3cret'))).toBe(false);
    const rotated = keyringOf([b, a]);
    expect(rotated.open(sealed, 'db:1').toString()).toBe('s3cret');
    expect(rotated.seal(Buffer.from('x'), 'db:2').keyId).toBe(keyId(b));
    expect(() => rotated.open(sealed, 'other:1')).toThrow(/does not decrypt/);
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    tampered.ciphertext[0]! ^= 1;
    expect(() => rotated.open(tampered, 'db:1')).toThrow(/does not decrypt/);
    expect(() => keyringOf([b]).open(sealed, 'db:1')).toThrow(/not configured/);
  });
  it('reads keys as base64 or hex with comments, and refuses short ones', () => {
    const k = randomBytes(32);
    expect(parseKeys(`# new\n${k.toString('base64')}\n${k.toString('hex')} # old\n`, 'f')).toEqual([k, k]);
    expect(() => parseKeys('c2hvcnQ=', 'f')).toThrow(/key 1 is not 32 bytes/);
  });
  it('makes a 0600 key file at first start and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-keys-'));
    const first = loadKeyring({ dataDir: dir, log });
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(loadKeyring({ dataDir: dir, log }).primaryId).toBe(first.primaryId);
    const env = randomBytes(32).toString('base64');
    expect(loadKeyring({ dataDir: dir, envKeys: env, log }).primaryId).toBe(keyId(Buffer.from(env, 'base64')));
    expect(() => loadKeyring({ dataDir: dir, keyFile: join(dir, 'missing'), log })).toThrow(/no such file/);
    writeFileSync(join(dir, 'two'), `${randomBytes(32).toString('hex')}\n${readFileSync(join(dir, 'secrets.key'), 'utf8')}`);
    expect(loadKeyring({ dataDir: dir, keyFile: join(dir, 'two'), log }).ids).toHaveLength(2);
  });
});
