import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * The cluster's PKI: a CA the control plane makes at first start, a server
 * certificate for its addresses, and node certificates signed from an
 * agent's certificate request (the agent's key never leaves its node). RSA
 * keys made by Node's native crypto (fast also on a Raspberry Pi); X.509
 * encoding with node-forge.
 */

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

/** What a node certificate says: who (node id), for which cluster, in which role. */
export const AGENT_ROLE = 'berth:agent';
export const SERVER_ROLE = 'berth:control-plane';

export const CA_DAYS = 3650;
export const SERVER_DAYS = 825;
/** Long: an edge node may be offline for months; it renews at two thirds. */
export const NODE_DAYS = 365;

export class PkiError extends Error {}

const DAY = 86_400_000;

function newKeyPair(bits = 2048): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), keyPem };
}

function serial(): string {
  // Positive, 16 bytes.
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, days: number, now: Date): void {
  // Back-dated a little (clocks differ), but never by much of a short lifetime.
  cert.validity.notBefore = new Date(now.getTime() - Math.min(5 * 60_000, (days * DAY) / 10));
  cert.validity.notAfter = new Date(now.getTime() + days * DAY);
}

/** A new cluster CA. */
export function createCa(clusterName: string, now = new Date()): KeyAndCert {
  const { privateKey, publicKey, keyPem } = newKeyPair(3072);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  validity(cert, CA_DAYS, now);
  const subject = [{ name: 'commonName', value: `berth-ca-${clusterName}` }, { name: 'organizationName', value: 'berth' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** The CA's fingerprint as join tokens carry it: SHA-256 of its DER, hex. */
export function caHash(caCertPem: string): string {
  return createHash('sha256').update(new X509Certificate(caCertPem).raw).digest('hex');
}

function loadCa(ca: KeyAndCert): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  return { cert: forge.pki.certificateFromPem(ca.certPem), key: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey };
}

const isIp = (s: string) => /^[0-9.]+$/.test(s) || s.includes(':');

/** The control plane's TLS certificate, for every name and address agents and users may dial. */
export function issueServerCert(ca: KeyAndCert, names: readonly string[], now = new Date()): KeyAndCert {
  const { cert: caCert, key: caKey } = loadCa(ca);
  const { publicKey, keyPem } = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  validity(cert, SERVER_DAYS, now);
  cert.setSubject([{ name: 'commonName', value: names[0] ?? 'localhost' }, { name: 'organizationName', value: SERVER_ROLE }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...new Set(names)].map((n) => (isIp(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** On the node: a new key and a request for a certificate (the key stays on the node). */
export function createCsr(commonName: string): { keyPem: string; csrPem: string } {
  const { privateKey, publicKey, keyPem } = newKeyPair();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicKey;
  csr.setSubject([{ name: 'commonName', value: commonName }, { name: 'organizationName', value: AGENT_ROLE }]);
  csr.sign(privateKey, forge.md.sha256.create());
  return { keyPem, csrPem: forge.pki.certificationRequestToPem(csr) };
}

/**
 * Signs a node's request: the subject is the control plane's choice (CN = node
 * id, O = berth:agent, OU = cluster), never the request's; a request asking
 * for another role, for a CA, or with a weak key is refused.
 */
export function signNodeCsr(ca: KeyAndCert, csrPem: string, o: { nodeId: string; cluster: string; days?: number; now?: Date }): string {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new PkiError(`csr: not a PEM certificate request (${(err as Error).message})`);
  }
  if (!csr.verify()) throw new PkiError('csr: its signature does not verify');
  const org = csr.subject.getField('O')?.value as string | undefined;
  if (org !== undefined && org !== AGENT_ROLE) throw new PkiError(`csr: asks for role ${JSON.stringify(org)}; a node may only be ${AGENT_ROLE}`);
  const requested = (csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name: string; cA?: boolean }[] } | null)?.extensions ?? [];
  if (requested.some((e) => e.name === 'basicConstraints' && e.cA)) throw new PkiError('csr: asks to be a CA; a node may only be an agent');
  const pub = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!pub || !pub.n || pub.n.bitLength() < 2048) throw new PkiError('csr: the key must be RSA of at least 2048 bits');
  const { cert: caCert, key: caKey } = loadCa(ca);
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = serial();
  validity(cert, o.days ?? NODE_DAYS, o.now ?? new Date());
  cert.setSubject([
    { name: 'commonName', value: o.nodeId },
    { name: 'organizationName', value: AGENT_ROLE },
    { name: 'organizationalUnitName', value: o.cluster },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export { certInfo, renewAt, verifyIssuedBy, type CertInfo } from './cert-info.js';
