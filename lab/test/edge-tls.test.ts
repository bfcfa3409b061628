import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { appsSyncedAndHealthy, eventually, kubectlJson, labEnv, secretValue } from './support/lab';
import { INTERNAL_INGRESS, RELEASE_ENV } from './support/catalogue';
import { STAGE } from './support/node';

// TLS at the edge (#20): the lab's Traefik serves Antaeus's internal Ingress of staging over
// HTTPS with the certificate cert-manager issued from staging's internal CA, only redirects
// plain HTTP, and reaches Antaeus through the NetworkPolicy that admits exactly its pods.

const INGRESS_IP = labEnv().LAB_INGRESS_IP!;
const TLS_SECRET = 'antaeus-tls';

interface Ingress {
  spec: { ingressClassName: string; tls: { hosts: string[]; secretName: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

const ingress = () => kubectlJson<Ingress>('-n', STAGE.billing, 'get', 'ingress', 'antaeus');
const HOST = ingress().spec.tls[0]!.hosts[0]!;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  certificate?: X509Certificate;
}

/** GET `path` of HOST from the controller's address, as a client that resolves HOST to it. */
function get(scheme: 'http' | 'https', path: string, ca?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: INGRESS_IP, path, headers: { host: HOST }, timeout: 10_000 };
    const request =
      scheme === 'https'
        ? https.request({ ...options, port: 443, servername: HOST, ca, agent: false })
        : http.request({ ...options, port: 80, agent: false });
    request.on('response', (response) => {
      const socket = response.socket as tls.TLSSocket;
      const raw = scheme === 'https' ? socket.getPeerCertificate().raw : undefined;
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          body,
          certificate: raw ? new X509Certificate(raw) : undefined,
        }),
      );
    });
    request.on('timeout', () => request.destroy(new Error(`${scheme}://${HOST}${path}: timeout`)));
    request.on('error', reject);
    request.end();
  });
}

const stagingCa = () => secretValue(STAGE.billing, TLS_SECRET, 'ca.crt');

test(`Traefik is the ${INTERNAL_INGRESS.ingressClassName} controller, and staging's Ingress reports its address`, async () => {
  const selector = Object.entries(INTERNAL_INGRESS.podLabels).map(
    ([key, value]) => `${key}=${value}`,
  );
  // Not the look-alike pods lab/test/network-policy.test.ts starts there.
  selector.push('lab-netpol-probe!=true');
  const pods = kubectlJson<{
    items: { status: { phase: string; containerStatuses?: { ready: boolean }[] } }[];
  }>('-n', INTERNAL_INGRESS.namespace, 'get', 'pods', '-l', selector.join(',')).items;
  expect(pods.map((pod) => [pod.status.phase, pod.status.containerStatuses?.[0]?.ready])).toEqual([
    ['Running', true],
  ]);
  expect(ingress().spec.ingressClassName).toBe(INTERNAL_INGRESS.ingressClassName);
  await eventually('the Ingress status naming the controller', () =>
    ingress().status?.loadBalancer?.ingress?.[0]?.ip === INGRESS_IP ? true : undefined,
  );
});

test(`HTTPS: a client that trusts staging's CA reaches Antaeus, with cert-manager's certificate`, async () => {
  const ca = stagingCa();
  const response = await get('https', '/rest/health', ca);
  expect([response.status, response.body]).toEqual([200, '"ok"']);
  const issued = new X509Certificate(secretValue(STAGE.billing, TLS_SECRET, 'tls.crt'));
  expect(response.certificate!.serialNumber).toBe(issued.serialNumber);
  expect(response.certificate!.checkHost(HOST)).toBe(HOST);
  expect(response.certificate!.verify(new X509Certificate(ca).publicKey)).toBe(true);
  // The CA is the environment's own: a client with only the public roots does not trust it.
  await expect(get('https', '/rest/health')).rejects.toMatchObject({
    code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/),
  });
});

test('plain HTTP is only redirected to HTTPS, never answered by Antaeus', async () => {
  const response = await get('http', '/rest/health');
  expect(response.status).toBeGreaterThanOrEqual(301);
  expect(response.status).toBeLessThanOrEqual(308);
  expect(response.headers.location).toBe(`https://${HOST}/rest/health`);
  expect(response.body).not.toContain('ok');
});

test("Argo CD counts staging's Ingress Healthy by its own check, and every running app Synced and Healthy", async () => {
  // Judged once the lab has settled: a HorizontalPodAutoscaler whose pods were just replaced
  // counts as Degraded until metrics-server has scraped them (FailedGetResourceMetric).
  await appsSyncedAndHealthy(RELEASE_ENV, 180_000);
  // No lab-only health override: the check is Argo CD's, which wants the address in the status.
  const cm = kubectlJson<{ data: Record<string, string> }>(
    '-n',
    'argocd',
    'get',
    'configmap',
    'argocd-cm',
  );
  expect(Object.keys(cm.data).filter((key) => key.includes('networking.k8s.io_Ingress'))).toEqual(
    [],
  );
});
