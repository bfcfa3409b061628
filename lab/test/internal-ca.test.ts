import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { repoRoot, sleep } from '@internal/test-kit';
import {
  LAB_REPO,
  certificateRevision,
  eventually,
  kubectlJson,
  must,
  renewCertificate,
  run,
  secretValue,
} from './support/lab';
import { BILLING, ENVIRONMENTS, PAYMENTS, catalogue } from './support/catalogue';

// An internal CA per environment from Git (deploy/platform/internal-ca): cert-manager, built
// from its module and run by the lab, makes each CA's key in the cluster, and the environments
// with mutual TLS get payment's server certificate and Antaeus's client certificate from their
// own CA: an hour long, renewed 20 minutes before the end.

const CERT_MANAGER = 'cert-manager';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR_MS = 3_600_000;
const RENEW_BEFORE_MS = 20 * 60_000;

interface Certificate {
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    notAfter?: string;
    renewalTime?: string;
    revision?: number;
  };
}

const certificateOf = (namespace: string, secret: string) =>
  new X509Certificate(secretValue(namespace, secret, 'tls.crt'));

const ready = (resource: string, namespace?: string) =>
  eventually(
    `${resource} Ready`,
    () => {
      const object = kubectlJson<Certificate>(
        ...(namespace ? ['-n', namespace] : []),
        'get',
        resource,
      );
      return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? object
        : undefined;
    },
    180_000,
  );

/** The environments whose overlays ship the services' certificates (mutual TLS). */
const MTLS_ENVS = ENVIRONMENTS.filter((env) =>
  /^kind: Certificate$/m.test(
    must(path.join(repoRoot(), '.tools', 'bin', 'kustomize'), [
      'build',
      path.join(repoRoot(), catalogue.overlayPath('payment', env)),
    ]),
  ),
);

test('the environments with mutual TLS are the ones after the first, which the Kotlin Antaeus must still reach', () => {
  expect(MTLS_ENVS).toEqual(ENVIRONMENTS.slice(1));
});

describe.each(ENVIRONMENTS)('%s: the internal CA', (env) => {
  test('its ClusterIssuer is Ready, its key made in the cluster and not in Git', async () => {
    await ready(`clusterissuer/internal-ca-${env}`);
    const ca = certificateOf(CERT_MANAGER, `internal-ca-${env}`);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain(`payments-platform ${env} internal CA`);
    expect(secretValue(CERT_MANAGER, `internal-ca-${env}`, 'tls.key')).toMatch(/PRIVATE KEY/);
    // Neither the key nor the certificate of this CA is anywhere in the repository Argo CD reads.
    const body = secretValue(CERT_MANAGER, `internal-ca-${env}`, 'tls.crt').split('\n')[1]!;
    expect(run('git', ['-C', LAB_REPO, 'grep', '-q', '-F', body, 'HEAD']).status).toBe(1);
  });
});

describe.each(MTLS_ENVS)('%s: the services’ certificates', (env) => {
  const payments = catalogue.namespace(PAYMENTS, env);
  const billing = catalogue.namespace(BILLING, env);
  const caPem = () => secretValue(CERT_MANAGER, `internal-ca-${env}`, 'tls.crt');

  test.each([
    ['payment', () => payments, 'payment-tls', SERVER_AUTH],
    ['Antaeus', () => billing, 'antaeus-client-tls', CLIENT_AUTH],
  ])(
    "%s's is issued by the environment's CA for an hour, with its one purpose, renewal due 20 minutes before the end",
    async (_, namespace, name, purpose) => {
      const status = (await ready(`certificate/${name}`, namespace())).status!;
      const certificate = certificateOf(namespace(), name);
      const ca = new X509Certificate(caPem());
      expect(certificate.verify(ca.publicKey)).toBe(true);
      expect(certificate.issuer).toBe(ca.subject);
      expect(certificate.ca).toBe(false);
      expect(certificate.keyUsage).toEqual([purpose]);
      const validFrom = Date.parse(certificate.validFrom);
      const validTo = Date.parse(certificate.validTo);
      expect(validTo - validFrom).toBe(HOUR_MS);
      expect(Date.parse(status.renewalTime!)).toBe(validTo - RENEW_BEFORE_MS);
      expect(secretValue(namespace(), name, 'ca.crt')).toBe(caPem());
      if (purpose === SERVER_AUTH)
        expect(certificate.subjectAltName).toContain(`DNS:payment.${payments}.svc`);
    },
  );

  test('a renewal (as cmctl renew asks it) issues a new certificate and key from the same CA', async () => {
    const before = certificateOf(payments, 'payment-tls');
    const key = secretValue(payments, 'payment-tls', 'tls.key');
    const revision = renewCertificate(payments, 'payment-tls', 'renewal');
    await eventually(
      'payment-tls re-issued',
      () => (certificateRevision(payments, 'payment-tls') > revision ? true : undefined),
      120_000,
    );
    await ready('certificate/payment-tls', payments);
    // The Secret follows the Certificate's status within moments.
    await sleep(1_000);
    const after = certificateOf(payments, 'payment-tls');
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(secretValue(payments, 'payment-tls', 'tls.key')).not.toBe(key);
    expect(after.verify(new X509Certificate(caPem()).publicKey)).toBe(true);
    expect(Date.parse(after.validTo)).toBeGreaterThan(Date.parse(before.validTo) - 1_000);
  });
});
