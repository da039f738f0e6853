import { X509Certificate } from 'node:crypto';

/**
 * Reading certificates with Node's own parser (no PKI library): what the
 * agent needs at every start (when to renew), kept apart from the PKI code
 * that makes keys and certificates (`./pki.ts`, node-forge).
 */

export interface CertInfo {
  commonName: string;
  organization: string;
  organizationalUnit: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
}

/** What a certificate says (Node's parser). */
export function certInfo(pem: string): CertInfo {
  const c = new X509Certificate(pem);
  const field = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(c.subject)?.[1] ?? '';
  return {
    commonName: field('CN'),
    organization: field('O'),
    organizationalUnit: field('OU'),
    serial: c.serialNumber,
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
    fingerprint: c.fingerprint256,
  };
}

/** Whether `certPem` was signed by the CA (and is within its validity now). */
export function verifyIssuedBy(certPem: string, caCertPem: string, now = new Date()): boolean {
  const c = new X509Certificate(certPem);
  if (!c.verify(new X509Certificate(caCertPem).publicKey)) return false;
  return new Date(c.validFrom) <= now && now <= new Date(c.validTo);
}

/** When to renew: at two thirds of the certificate's lifetime. */
export function renewAt(certPem: string): Date {
  const i = certInfo(certPem);
  return new Date(i.notBefore.getTime() + ((i.notAfter.getTime() - i.notBefore.getTime()) * 2) / 3);
}
