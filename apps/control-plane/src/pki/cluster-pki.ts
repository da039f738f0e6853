import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { caHash, certInfo, createCa, issueServerCert, type KeyAndCert } from '@berth/transport/pki';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { Keyring } from '../secrets/keyring.js';

/**
 * The control plane's PKI on disk, in `<data dir>/pki`:
 * - `ca.crt`: the cluster CA (public; agents pin it by the hash in join tokens);
 * - `ca.key.sealed`: the CA key, sealed with the secrets keyring (AES-256-GCM),
 *   so neither the data directory alone nor the database can sign anything;
 * - `server.crt` / `server.key` (0600): the TLS certificate for every name and
 *   address the control plane answers on, made again when a name is added or
 *   it is within 30 days of expiry.
 */

export interface ClusterPki {
  ca: KeyAndCert;
  caHash: string;
  server: KeyAndCert;
  dir: string;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;
const CA_KEY_AAD = 'berth-ca-key';

/** Names a server certificate covers by default: loopback, the host's name and its addresses. */
export function defaultServerNames(listen: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname()];
  if (listen !== '0.0.0.0' && listen !== '::') names.push(listen);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') names.push(a.address);
  }
  return [...new Set(names)];
}

export function loadOrCreatePki(o: { dataDir: string; keyring: Keyring; names: string[]; cluster?: string; log: Logger; now?: Date }): ClusterPki {
  const dir = join(o.dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCrt = join(dir, 'ca.crt');
  const caKeySealed = join(dir, 'ca.key.sealed');
  let ca: KeyAndCert;
  if (existsSync(caCrt) && existsSync(caKeySealed)) {
    const sealed = JSON.parse(readFileSync(caKeySealed, 'utf8')) as { keyId: string; nonce: string; ciphertext: string };
    const keyPem = o.keyring
      .open({ keyId: sealed.keyId, nonce: Buffer.from(sealed.nonce, 'base64'), ciphertext: Buffer.from(sealed.ciphertext, 'base64') }, CA_KEY_AAD)
      .toString('utf8');
    ca = { certPem: readFileSync(caCrt, 'utf8'), keyPem };
    // Sealed with an older key: seal again with the first one (key rotation).
    if (sealed.keyId !== o.keyring.primaryId) writeSealed(caKeySealed, o.keyring, keyPem);
  } else {
    ca = createCa(o.cluster ?? 'default', o.now);
    writeFileSync(caCrt, ca.certPem, { mode: 0o644 });
    writeSealed(caKeySealed, o.keyring, ca.keyPem);
    o.log.info({ dir, caHash: caHash(ca.certPem) }, 'created the cluster CA');
  }
  const serverCrt = join(dir, 'server.crt');
  const serverKey = join(dir, 'server.key');
  let server: KeyAndCert | undefined;
  if (existsSync(serverCrt) && existsSync(serverKey)) {
    const certPem = readFileSync(serverCrt, 'utf8');
    const cert = new X509Certificate(certPem);
    const covered = o.names.every((n) => (/^[0-9.]+$/.test(n) || n.includes(':') ? cert.checkIP(n) : cert.checkHost(n)) !== undefined);
    const fresh = certInfo(certPem).notAfter.getTime() - (o.now ?? new Date()).getTime() > RENEW_BEFORE_MS;
    const ours = cert.verify(new X509Certificate(ca.certPem).publicKey);
    if (covered && fresh && ours) server = { certPem, keyPem: readFileSync(serverKey, 'utf8') };
  }
  if (!server) {
    server = issueServerCert(ca, o.names, o.now);
    writeFileSync(serverKey, server.keyPem, { mode: 0o600 });
    writeFileSync(serverCrt, server.certPem, { mode: 0o644 });
    o.log.info({ names: o.names }, 'issued the control plane TLS certificate');
  }
  return { ca, caHash: caHash(ca.certPem), server, dir };
}

function writeSealed(path: string, keyring: Keyring, keyPem: string): void {
  const s = keyring.seal(Buffer.from(keyPem), CA_KEY_AAD);
  writeFileSync(path, JSON.stringify({ keyId: s.keyId, nonce: s.nonce.toString('base64'), ciphertext: s.ciphertext.toString('base64') }), { mode: 0o600 });
}
