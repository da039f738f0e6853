import { createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { AGENT_ROLE, caHash, certInfo, createCa, createCsr, issueServerCert, renewAt, signNodeCsr, verifyIssuedBy } from './pki.js';

describe('pki', () => {
  const ca = createCa('home');
  it('makes a CA whose hash is the SHA-256 of its DER', () => {
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(caHash(ca.certPem)).toMatch(/^[0-9a-f]{64}$/);
    expect(certInfo(ca.certPem).commonName).toBe('berth-ca-home');
  });
  it('issues a server certificate for names and addresses', () => {
    const s = issueServerCert(ca, ['localhost', '127.0.0.1', 'cp.home.lan']);
    const c = new X509Certificate(s.certPem);
    expect(c.subjectAltName).toContain('DNS:cp.home.lan');
    expect(c.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(c.checkHost('cp.home.lan')).toBe('cp.home.lan');
    expect(verifyIssuedBy(s.certPem, ca.certPem)).toBe(true);
  });
  it('signs a node request with the subject it chooses, never the request\'s', () => {
    const { csrPem, keyPem } = createCsr('whatever-the-node-says');
    const cert = signNodeCsr(ca, csrPem, { nodeId: 'n-0123456789abcdef', cluster: 'home', days: 30 });
    expect(certInfo(cert)).toMatchObject({ commonName: 'n-0123456789abcdef', organization: AGENT_ROLE, organizationalUnit: 'home' });
    expect(verifyIssuedBy(cert, ca.certPem)).toBe(true);
    expect(new X509Certificate(cert).checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    const life = certInfo(cert).notAfter.getTime() - certInfo(cert).notBefore.getTime();
    expect(renewAt(cert).getTime() - certInfo(cert).notBefore.getTime()).toBeCloseTo((life * 2) / 3, -3);
  });
  it('refuses a request for another role, for a CA, unsigned or garbled', () => {
    const key = forge.pki.rsa.generateKeyPair(2048);
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = key.publicKey;
    csr.setSubject([{ name: 'commonName', value: 'x' }, { name: 'organizationName', value: 'berth:control-plane' }]);
    csr.sign(key.privateKey, forge.md.sha256.create());
    expect(() => signNodeCsr(ca, forge.pki.certificationRequestToPem(csr), { nodeId: 'n-1', cluster: 'c' })).toThrow(/asks for role "berth:control-plane"/);
    const caReq = forge.pki.createCertificationRequest();
    caReq.publicKey = key.publicKey;
    caReq.setSubject([{ name: 'commonName', value: 'x' }]);
    caReq.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'basicConstraints', cA: true }] }]);
    caReq.sign(key.privateKey, forge.md.sha256.create());
    expect(() => signNodeCsr(ca, forge.pki.certificationRequestToPem(caReq), { nodeId: 'n-1', cluster: 'c' })).toThrow(/asks to be a CA/);
    expect(() => signNodeCsr(ca, 'not a csr', { nodeId: 'n-1', cluster: 'c' })).toThrow(/^csr: not a PEM certificate request/);
  });
  it('a certificate from another CA does not verify', () => {
    const other = createCa('other');
    const { csrPem } = createCsr('n');
    expect(verifyIssuedBy(signNodeCsr(other, csrPem, { nodeId: 'n-1', cluster: 'c' }), ca.certPem)).toBe(false);
  });
});

