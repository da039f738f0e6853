import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

/**
 * Secrets are encrypted with AES-256-GCM under keys that live outside the
 * database: a key file (one key per line, base64 or hex, `#` comments) or the
 * BERTH_SECRETS_KEYS environment variable (keys separated by commas or
 * spaces). The first key encrypts; any key decrypts, found by its id (the
 * first 8 hex digits of its SHA-256), so keys rotate by putting a new one
 * first and dropping the old one once nothing is sealed with it. The secret's
 * name and version are bound to the ciphertext as associated data: a row
 * copied under another name does not decrypt.
 */

export interface Sealed {
  keyId: string;
  nonce: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

export class KeyringError extends Error {}

export interface Keyring {
  /** The id of the key that encrypts. */
  readonly primaryId: string;
  readonly ids: readonly string[];
  seal(plain: Buffer, aad: string): Sealed;
  open(sealed: Sealed, aad: string): Buffer;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

export function keyringOf(keys: readonly Buffer[]): Keyring {
  if (keys.length === 0) throw new KeyringError('no secrets key configured');
  for (const k of keys) if (k.length !== KEY_BYTES) throw new KeyringError(`a secrets key must be ${KEY_BYTES} bytes (base64 or hex), got ${k.length}`);
  const byId = new Map(keys.map((k) => [keyId(k), k]));
  const primaryId = keyId(keys[0]!);
  return {
    primaryId,
    ids: [...byId.keys()],
    seal(plain, aad) {
      const nonce = randomBytes(NONCE_BYTES);
      const c = createCipheriv('aes-256-gcm', byId.get(primaryId)!, nonce);
      c.setAAD(Buffer.from(aad));
      const ciphertext = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
      return { keyId: primaryId, nonce, ciphertext };
    },
    open(sealed, aad) {
      const key = byId.get(sealed.keyId);
      if (!key) throw new KeyringError(`the secret is sealed with key ${sealed.keyId}, which is not configured (keys: ${[...byId.keys()].join(', ')})`);
      if (sealed.ciphertext.length < TAG_BYTES) throw new KeyringError('the sealed secret is truncated');
      const d = createDecipheriv('aes-256-gcm', key, sealed.nonce);
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
      try {
        return Buffer.concat([d.update(sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES)), d.final()]);
      } catch {
        throw new KeyringError('the sealed secret does not decrypt (tampered with, or copied under another name)');
      }
    },
  };
}

/** Keys from text: one per line (or separated by commas/spaces), base64 or hex; `#` starts a comment. */
export function parseKeys(text: string, where: string): Buffer[] {
  const words = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean);
  return words.map((w, i) => {
    const key = /^[0-9a-fA-F]{64}$/.test(w) ? Buffer.from(w, 'hex') : Buffer.from(w, 'base64');
    if (key.length !== KEY_BYTES) throw new KeyringError(`${where}: key ${i + 1} is not ${KEY_BYTES} bytes of base64 or hex`);
    return key;
  });
}

export interface KeyringOptions {
  /** --secrets-key-file */
  keyFile?: string;
  /** BERTH_SECRETS_KEYS */
  envKeys?: string;
  /** Where the default key file is made (the control plane's data directory). */
  dataDir: string;
  log: Logger;
}

/**
 * The control plane's keyring: from the environment, else the key file named,
 * else `<data dir>/secrets.key`, made (0600) with one new key at first start.
 */
export function loadKeyring(o: KeyringOptions): Keyring {
  if (o.envKeys && o.envKeys.trim() !== '') return keyringOf(parseKeys(o.envKeys, 'BERTH_SECRETS_KEYS'));
  const file = o.keyFile ?? join(o.dataDir, 'secrets.key');
  if (!existsSync(file)) {
    if (o.keyFile) throw new KeyringError(`--secrets-key-file ${file}: no such file`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `# Berth secrets key (AES-256). Back it up: secrets cannot be read without it.\n${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    o.log.warn({ file }, 'created a secrets key; back it up, secrets cannot be decrypted without it');
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) o.log.warn({ file, mode: mode.toString(8) }, 'the secrets key file is readable by others; chmod 600 it');
  return keyringOf(parseKeys(readFileSync(file, 'utf8'), file));
}
