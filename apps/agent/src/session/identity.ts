import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientTls } from '@berth/transport';

/**
 * The node's identity on disk (ca.crt, node.crt, node.key 0600 in the data
 * directory), with no PKI code loaded: joining and renewing (session/join.ts)
 * are imported only when needed, so a running agent does not carry them.
 */

export interface NodeIdentity {
  nodeId: string;
  cluster: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const identityFiles = (dataDir: string) => ({ ca: join(dataDir, 'ca.crt'), cert: join(dataDir, 'node.crt'), key: join(dataDir, 'node.key') });

export function saveIdentity(dataDir: string, id: Pick<NodeIdentity, 'caPem' | 'certPem' | 'keyPem'>): void {
  const f = identityFiles(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(f.ca, id.caPem, { mode: 0o644 });
  // Key and certificate replaced together, each atomically (a crash leaves the old pair or the new one).
  for (const [path, text] of [[f.key, id.keyPem], [f.cert, id.certPem]] as const) {
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
    chmodSync(`${path}.tmp`, 0o600);
    renameSync(`${path}.tmp`, path);
  }
}


/** The node's mTLS credentials, when it has joined. */
export function loadIdentityTls(dataDir: string, caFile?: string): ClientTls | undefined {
  const f = identityFiles(dataDir);
  if (!existsSync(f.cert) || !existsSync(f.key)) return undefined;
  const ca = caFile && existsSync(caFile) ? caFile : f.ca;
  return { caPem: readFileSync(ca, 'utf8'), certPem: readFileSync(f.cert, 'utf8'), keyPem: readFileSync(f.key, 'utf8') };
}
