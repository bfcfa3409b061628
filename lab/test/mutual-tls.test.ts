import { sleep } from '@internal/test-kit';
import { certificateRevision, eventually, kubectl, renewCertificate } from './support/lab';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  STAGE,
  nodeIn,
  paymentFromAntaeus,
  pods,
  restarts,
  runningPod,
} from './support/node';
import {
  BillingDriver,
  attemptsSince,
  failedOrRetried,
  inAntaeus,
  runActive,
} from './support/billing';

// Mutual TLS between Antaeus and payment where it is switched on (staging and prod; the lab
// runs staging's pods): Antaeus charges over it with its client certificate, a pod the
// NetworkPolicy lets through but that has no client certificate is refused at the handshake,
// and both certificates renewed by cert-manager during a billing run are picked up from disk by
// both services without a restart and without a failed charge.

const { env, payments, billing } = STAGE;

/** The serial of the certificate payment presents to a client that has Antaeus's certificate. */
const servedSerial = (): string =>
  nodeIn(
    billing,
    runningPod(billing, ANTAEUS_SELECTOR),
    `const fs = require('fs');
     const url = new URL(process.env.PAYMENT_PROVIDER_ENDPOINT);
     const socket = require('tls').connect({
       host: url.hostname, port: Number(url.port), servername: url.hostname,
       ca: fs.readFileSync(process.env.PAYMENT_TLS_CA_FILE),
       cert: fs.readFileSync(process.env.PAYMENT_TLS_CERT_FILE),
       key: fs.readFileSync(process.env.PAYMENT_TLS_KEY_FILE),
     }, () => { console.log(socket.getPeerCertificate().serialNumber); socket.end(); });
     socket.on('error', (e) => console.log('error ' + e.code));`,
  );

const podNames = (namespace: string, selector: string) =>
  pods(namespace, selector)
    .filter((pod) => pod.status.phase === 'Running')
    .map((pod) => pod.metadata.name)
    .sort();

/** Whether a pod logged reading renewed TLS files since `since`. */
const reloadedSince = (namespace: string, pod: string, since: Date): boolean =>
  kubectl('-n', namespace, 'logs', pod, `--since-time=${since.toISOString()}`)
    .split('\n')
    .some((line) => line.includes('"msg":"TLS files reloaded"'));

const antaeusToken = () =>
  nodeIn(
    billing,
    runningPod(billing, ANTAEUS_SELECTOR),
    'console.log(process.env.PAYMENT_API_TOKEN)',
  );

describe(`${env}: mutual TLS between Antaeus and payment`, () => {
  test('Antaeus calls payment over HTTPS with its client certificate, and a billing run charges through it', async () => {
    const endpoint = nodeIn(
      billing,
      runningPod(billing, ANTAEUS_SELECTOR),
      'console.log(process.env.PAYMENT_PROVIDER_ENDPOINT)',
    );
    expect(new URL(endpoint).protocol).toBe('https:');
    expect(paymentFromAntaeus(billing, '/v1/charges?invoice_id=1', antaeusToken())).toBe('200');
    await eventually(
      'no billing run active',
      () => (runActive(billing) ? undefined : true),
      300_000,
    );
    const since = Date.now();
    const started = JSON.parse(
      inAntaeus(
        billing,
        `db.close(); api('POST', '/rest/v1/billing-runs').then(async (r) => console.log(JSON.stringify({ status: r.status, run: await r.json() })));`,
      ),
    ) as { status: number; run: { id: string } };
    expect(started.status).toBe(202);
    const run = await eventually(
      `billing run ${started.run.id} finished`,
      () => {
        const current = JSON.parse(
          inAntaeus(
            billing,
            `db.close(); api('GET', '/rest/v1/billing-runs/${started.run.id}').then(async (r) => console.log(JSON.stringify(await r.json())));`,
          ),
        ) as { status: string; attempted: number; paid: number; failed: number };
        return current.status === 'running' ? undefined : current;
      },
      300_000,
    );
    expect(run.status).toBe('completed');
    expect(run.failed).toBe(0);
    if (run.attempted > 0) expect(run.paid).toBeGreaterThan(0);
    expect(failedOrRetried(attemptsSince(billing, since))).toEqual([]);
  }, 600_000);

  test('a pod the NetworkPolicy lets through, without a client certificate, is refused at the handshake', () => {
    const token = antaeusToken();
    // The Antaeus pod is the one pod the policy admits: with its certificate the request reaches
    // payment (and is answered), without it the connection ends in the handshake, in plain HTTP
    // nothing is served.
    expect(paymentFromAntaeus(billing, '/v1/charges?invoice_id=1', token)).toBe('200');
    expect(
      paymentFromAntaeus(billing, '/v1/charges?invoice_id=1', token, { withoutCertificate: true }),
    ).toMatch(/^error (ECONNRESET|ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|EPROTO)$/);
    expect(
      paymentFromAntaeus(billing, '/v1/charges?invoice_id=1', token, { protocol: 'http:' }),
    ).toMatch(/^error (ECONNRESET|ETIMEDOUT|HPE_INVALID_CONSTANT)$|^400$/);
  });

  test('both certificates renewed during a billing run: picked up without a restart, no charge fails', async () => {
    const paymentPods = podNames(payments, PAYMENT_SELECTOR);
    const antaeusPods = podNames(billing, ANTAEUS_SELECTOR);
    const restartsBefore = restarts([payments, billing]);
    const servedBefore = servedSerial();
    expect(servedBefore).toMatch(/^[0-9A-F]+$/);
    const driver = new BillingDriver(billing);
    try {
      await sleep(5_000);
      const renewedAt = new Date();
      const revisions: [string, string, number][] = [
        [
          payments,
          'payment-tls',
          renewCertificate(payments, 'payment-tls', 'renewal during billing'),
        ],
        [
          billing,
          'antaeus-client-tls',
          renewCertificate(billing, 'antaeus-client-tls', 'renewal during billing'),
        ],
      ];
      for (const [namespace, name, revision] of revisions)
        await eventually(
          `${name} re-issued`,
          () => (certificateRevision(namespace, name) > revision ? true : undefined),
          120_000,
        );
      // The kubelet updates each pod's mounted Secret, then the service reads it again (every
      // 5 s): new handshakes get the new certificates.
      await eventually(
        'payment serving its renewed certificate',
        () => {
          const serial = servedSerial();
          return /^[0-9A-F]+$/.test(serial) && serial !== servedBefore ? serial : undefined;
        },
        240_000,
      );
      for (const [namespace, pod] of [
        ...paymentPods.map((pod) => [payments, pod]),
        ...antaeusPods.map((pod) => [billing, pod]),
      ] as [string, string][])
        await eventually(
          `${pod} reading its renewed certificate`,
          () => (reloadedSince(namespace, pod, renewedAt) ? true : undefined),
          240_000,
        );
      // Charges keep flowing on the renewed certificates for a while.
      await sleep(10_000);
    } finally {
      await driver.stop();
    }
    await eventually(
      'no billing run active',
      () => (runActive(billing) ? undefined : true),
      300_000,
    );
    const attempts = attemptsSince(billing, driver.startedAt);
    expect(attempts.reduce((sum, group) => sum + group.count, 0)).toBeGreaterThan(0);
    expect(failedOrRetried(attempts)).toEqual([]);
    // The pods of before all still run, none restarted: the renewal needed no restart (the
    // autoscaler may have added payment pods under the billing load).
    expect(podNames(payments, PAYMENT_SELECTOR)).toEqual(expect.arrayContaining(paymentPods));
    expect(podNames(billing, ANTAEUS_SELECTOR)).toEqual(antaeusPods);
    expect(restarts([payments, billing])).toEqual(restartsBefore);
  }, 900_000);
});
