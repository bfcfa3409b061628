import fs from 'node:fs';
import https from 'node:https';
import {
  builtScript,
  createTestCa,
  freePort,
  sleep,
  startProcess,
  type IssuedFiles,
  type ManagedProcess,
  type TestCa,
} from '@internal/test-kit';
import { loadConfig } from '../src/config';
import { tempDatabaseFile } from './support/harness';
import { getJson, startAntaeus, type RunningService } from './support/processes';

const LOCAL = 'IP:127.0.0.1,DNS:localhost';
const PAYMENT_TOKEN = 'antaeus-to-payment-0123456789abcdef';

interface Run {
  status: string;
  pending: number;
  paid: number;
  declined: number;
  failed: number;
}

/** A GET to payment over TLS as `client` (or as nobody); rejects when the handshake fails. */
function paymentGet(url: string, ca: TestCa, client?: IssuedFiles): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        agent: false,
        ca: fs.readFileSync(ca.certFile),
        headers: { authorization: `Bearer ${PAYMENT_TOKEN}` },
        ...(client && {
          cert: fs.readFileSync(client.certFile),
          key: fs.readFileSync(client.keyFile),
        }),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
  });
}

/**
 * Antaeus charging the real payment service over mutual TLS, as staging and prod run them:
 * payment serves HTTPS and admits only clients with a certificate from the internal CA;
 * Antaeus verifies payment's certificate against that CA and presents its own. Certificates
 * renewed during a billing run are picked up by both without a failed charge.
 */
describe('Antaeus and payment over mutual TLS', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let payment: ManagedProcess;
  let paymentUrl: string;
  let antaeus: RunningService;
  let antaeusClient: IssuedFiles;

  beforeAll(async () => {
    ca = createTestCa('billing-internal-ca');
    otherCa = createTestCa('other-ca');
    const server = ca.issue('payment', { san: LOCAL });
    antaeusClient = ca.issue('antaeus', { san: 'DNS:antaeus' });
    const port = await freePort();
    paymentUrl = `https://127.0.0.1:${port}`;
    payment = await startProcess({
      command: process.execPath,
      args: [builtScript('payment')],
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DRAIN_DELAY_MS: '0',
        PAYMENT_API_TOKENS: `antaeus:${PAYMENT_TOKEN}`,
        PAYMENT_RANDOM_SEED: 'mtls',
        // Long enough a run that a renewal lands in the middle of it.
        RATE_LIMIT_PER_SECOND: '100',
        RATE_LIMIT_BURST: '0',
        TLS_CERT_FILE: server.certFile,
        TLS_KEY_FILE: server.keyFile,
        TLS_CLIENT_CA_FILE: ca.certFile,
      },
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ready = await paymentGet(`${paymentUrl}/readyz`, ca, antaeusClient).catch(() => null);
      if ((ready as { status?: string } | null)?.status === 'ready') break;
      if (Date.now() > deadline) throw new Error(`payment did not start:\n${payment.output()}`);
      await sleep(100);
    }
    antaeus = await startAntaeus({
      DATABASE_PATH: tempDatabaseFile(),
      LOG_LEVEL: 'info',
      SEED_CUSTOMERS: '30',
      SEED_INVOICES_PER_CUSTOMER: '40',
      PAYMENT_PROVIDER_ENDPOINT: `${paymentUrl}/v1/charges`,
      PAYMENT_API_TOKEN: PAYMENT_TOKEN,
      PAYMENT_TLS_CA_FILE: ca.certFile,
      PAYMENT_TLS_CERT_FILE: antaeusClient.certFile,
      PAYMENT_TLS_KEY_FILE: antaeusClient.keyFile,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([antaeus?.process.stop(), payment?.stop()]);
    ca?.remove();
    otherCa?.remove();
  });

  it('refuses a client without a certificate, or with one from another CA, at the handshake', async () => {
    const requestsLogged = () => payment.output().split('"path":"/readyz"').length;
    const before = requestsLogged();
    await expect(paymentGet(`${paymentUrl}/readyz`, ca)).rejects.toThrow();
    await expect(
      paymentGet(`${paymentUrl}/readyz`, ca, otherCa.issue('intruder')),
    ).rejects.toThrow();
    await sleep(300);
    // Not one request reached the app.
    expect(requestsLogged()).toBe(before);
    expect(before).toBeGreaterThan(1);
  });

  it('charges every invoice over mTLS while both certificates are renewed mid-run, failing none', async () => {
    const started = await fetch(`${antaeus.baseUrl}/rest/v1/billing-runs`, { method: 'POST' });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    await sleep(1_500);
    // cert-manager renews both: new keys and certificates under the same paths.
    ca.issue('payment', { san: LOCAL });
    ca.issue('antaeus', { san: 'DNS:antaeus' });
    const reloaded = () =>
      payment.output().includes('TLS files reloaded') &&
      antaeus.process.output().includes('TLS files reloaded');
    const reloadDeadline = Date.now() + 10_000;
    while (!reloaded() && Date.now() < reloadDeadline) await sleep(100);
    expect(reloaded()).toBe(true);
    // Both sides took up the renewal while the run was still charging.
    let run = await getJson<Run>(`${antaeus.baseUrl}/rest/v1/billing-runs/${id}`);
    expect(run.status).toBe('running');
    const deadline = Date.now() + 60_000;
    while (run.status !== 'completed' && Date.now() < deadline) {
      await sleep(250);
      run = await getJson<Run>(`${antaeus.baseUrl}/rest/v1/billing-runs/${id}`);
    }
    expect(run).toMatchObject({ status: 'completed', pending: 1_170, failed: 0 });
    expect(run.paid + run.declined).toBe(1_170);
    expect(run.paid / 1_170).toBeGreaterThan(0.4);
    expect(run.paid / 1_170).toBeLessThan(0.6);
    // The ledger, read over mTLS: one decision for an invoice.
    const ledger = (await paymentGet(
      `${paymentUrl}/v1/charges?invoice_id=2`,
      ca,
      antaeusClient,
    )) as { charges: unknown[] };
    expect(ledger.charges).toHaveLength(1);
  }, 90_000);
});

describe('Antaeus TLS configuration errors', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  beforeAll(() => {
    ca = createTestCa('config-ca');
    otherCa = createTestCa('config-other-ca');
  });
  afterAll(() => {
    ca?.remove();
    otherCa?.remove();
  });

  const load = (env: Record<string, string>) => () =>
    loadConfig({ PAYMENT_PROVIDER_ENDPOINT: 'https://payment:9000/v1/charges', ...env });

  it('names a missing file', () => {
    expect(load({ PAYMENT_TLS_CA_FILE: '/nonexistent/ca.crt' })).toThrow(
      'PAYMENT_TLS_CA_FILE /nonexistent/ca.crt: no such file',
    );
  });

  it('names a client certificate the CA did not issue (the wrong CA)', () => {
    const client = otherCa.issue('antaeus');
    expect(
      load({
        PAYMENT_TLS_CA_FILE: ca.certFile,
        PAYMENT_TLS_CERT_FILE: client.certFile,
        PAYMENT_TLS_KEY_FILE: client.keyFile,
      }),
    ).toThrow(/PAYMENT_TLS_CERT_FILE .* was not issued by the CA in PAYMENT_TLS_CA_FILE/);
  });

  it('names an expired certificate and when it expired', () => {
    const expired = ca.issue('expired', {
      startDate: '20200101000000Z',
      endDate: '20200102000000Z',
    });
    expect(
      load({ PAYMENT_TLS_CERT_FILE: expired.certFile, PAYMENT_TLS_KEY_FILE: expired.keyFile }),
    ).toThrow(/PAYMENT_TLS_CERT_FILE .* expired at 2020-01-02T00:00:00.000Z/);
  });

  it('needs an https:// endpoint for TLS files, and the certificate with its key', () => {
    expect(() =>
      loadConfig({
        PAYMENT_PROVIDER_ENDPOINT: 'http://payment:9000/v1/charges',
        PAYMENT_TLS_CA_FILE: ca.certFile,
      }),
    ).toThrow(/need an https:\/\/ PAYMENT_PROVIDER_ENDPOINT/);
    expect(load({ PAYMENT_TLS_CERT_FILE: '/a.crt' })).toThrow(
      'PAYMENT_TLS_CERT_FILE and PAYMENT_TLS_KEY_FILE must be set together',
    );
  });
});
