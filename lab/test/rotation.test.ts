import crypto from 'node:crypto';
import { sleep } from '@internal/test-kit';
import {
  commitAndPush,
  eventually,
  kubectl,
  kubectlJson,
  sealInLab,
  secretValue,
  syncedTo,
} from './support/lab';
import { BILLING, PAYMENTS, catalogue } from './support/catalogue';
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  RUNNING_ENVS,
  nodeIn,
  pods,
  podsReplaced,
  runningPod,
} from './support/node';

// The payment token rotated by three sealed commits (docs/operations.md#rotating-a-token) while
// Antaeus keeps billing: payment accepts old and new, Antaeus sends the new one, payment drops
// the old one. Antaeus records every charge attempt in its database with its outcome and the
// HTTP requests it took, so "no failed charge" is read from that record: every attempt settled
// with one request answered 200 (approved or declined), across its own restart. Staging, where
// that database is on a PersistentVolumeClaim and outlives the pod.

const env = RUNNING_ENVS[RUNNING_ENVS.length - 1]!;
const paymentNamespace = catalogue.namespace(PAYMENTS, env);
const antaeusNamespace = catalogue.namespace(BILLING, env);

/** Below this many PENDING invoices the driver adds a batch: billing never runs out of work. */
const LOW_WATER = 3_000;
const BATCH = 6_000;

/** A Node.js script run in the Antaeus pod, with its database and its own callers' token. */
function inAntaeus(script: string): string {
  return nodeIn(
    antaeusNamespace,
    runningPod(antaeusNamespace, ANTAEUS_SELECTOR),
    `const Database = require('better-sqlite3');
     const db = new Database(process.env.DATABASE_PATH);
     db.pragma('busy_timeout = 10000');
     const token = process.env.ANTAEUS_API_TOKENS.split(',')[0].replace(/^[a-z][a-z0-9-]{0,39}:/, '');
     const api = (method, path) => fetch('http://127.0.0.1:8000' + path,
       { method, headers: { authorization: 'Bearer ' + token } });
     ${script}`,
  );
}

/**
 * One turn of the billing driver: the month's invoices keep arriving (a batch of PENDING ones,
 * written as the seed writes them, whenever few are left) and a billing run is active (started,
 * or joined if one is). Throws while Antaeus is down for its own rollout; the caller retries.
 */
function keepBilling(): void {
  const answer = inAntaeus(
    `const pending = db.prepare("SELECT COUNT(*) AS n FROM invoices WHERE status = 'PENDING'").get().n;
     if (pending < ${LOW_WATER}) db.prepare(
       \`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BATCH})
        INSERT INTO invoices (customer_id, amount_minor, currency, status)
        SELECT c.id, 1000 + i % 49000, c.currency, 'PENDING'
        FROM n, (SELECT id, currency FROM customers ORDER BY id LIMIT 1) AS c\`).run();
     db.close();
     api('POST', '/rest/v1/billing-runs?join=true').then((r) => console.log(r.status));`,
  );
  if (answer !== '200' && answer !== '202') throw new Error(`starting a billing run: ${answer}`);
}

interface AttemptGroup {
  outcome: string;
  requests: number;
  error: string | null;
  count: number;
}

/** Charge attempts started since `since` (ms), grouped by how they ended. */
const attemptsSince = (since: number): AttemptGroup[] =>
  JSON.parse(
    inAntaeus(
      `console.log(JSON.stringify(db.prepare(
         'SELECT outcome, requests, error, COUNT(*) AS count FROM charge_attempts WHERE started_at >= ? GROUP BY outcome, requests, error'
       ).all(${since})));`,
    ),
  ) as AttemptGroup[];

/** Attempts that settled with a decision (approved or declined) between two instants (ms). */
const decidedBetween = (from: number, to: number): number =>
  Number(
    inAntaeus(
      `console.log(db.prepare(
         "SELECT COUNT(*) AS n FROM charge_attempts WHERE outcome IN ('approved', 'declined') AND finished_at BETWEEN ? AND ?"
       ).get(${from}, ${to}).n);`,
    ),
  );

/** The HTTP status payment answers a listing with `token`, asked from inside a payment pod. */
const paymentAnswers = (token: string): string =>
  nodeIn(
    paymentNamespace,
    runningPod(paymentNamespace, PAYMENT_SELECTOR),
    `fetch('http://127.0.0.1:9000/v1/charges?invoice_id=1', { headers: { authorization: 'Bearer ${token}' } })
       .then((r) => console.log(r.status));`,
  );

interface Step {
  what: string;
  secret: 'payment-api-tokens' | 'payment-api-token';
  key: 'tokens' | 'token';
  value: (old: string, next: string) => string;
  service: 'payment' | 'antaeus';
}

const STEPS: Step[] = [
  {
    what: 'payment accepts the old and the new token',
    secret: 'payment-api-tokens',
    key: 'tokens',
    value: (old, next) => `antaeus:${old},antaeus:${next}`,
    service: 'payment',
  },
  {
    what: 'Antaeus sends the new token',
    secret: 'payment-api-token',
    key: 'token',
    value: (_old, next) => next,
    service: 'antaeus',
  },
  {
    what: 'payment drops the old token',
    secret: 'payment-api-tokens',
    key: 'tokens',
    value: (_old, next) => `antaeus:${next}`,
    service: 'payment',
  },
];

describe(`${env}: the payment token rotated by three sealed commits during billing`, () => {
  let driving = false;
  let driver: Promise<void> = Promise.resolve();

  afterAll(async () => {
    driving = false;
    await driver;
  });

  test('no charge fails, each sync happens while charges are decided, the old token is refused', async () => {
    const claim = kubectlJson<{
      spec: {
        template: { spec: { volumes: { name: string; persistentVolumeClaim?: unknown }[] } };
      };
    }>('-n', antaeusNamespace, 'get', 'deployment', 'antaeus').spec.template.spec.volumes.find(
      (volume) => volume.name === 'data',
    )?.persistentVolumeClaim;
    // The record below must outlive Antaeus's restart in step 2.
    expect(claim).toBeDefined();

    const old = secretValue(antaeusNamespace, 'payment-api-token', 'token');
    expect(secretValue(paymentNamespace, 'payment-api-tokens', 'tokens')).toBe(`antaeus:${old}`);
    const next = crypto.randomBytes(32).toString('hex');

    const started = Date.now();
    let driverFailures = 0;
    driving = true;
    driver = (async () => {
      while (driving) {
        try {
          keepBilling();
        } catch {
          // Antaeus is between pods (Recreate) or busy: the next turn starts or joins a run.
          driverFailures += 1;
        }
        await sleep(2_000);
      }
    })();

    const windows: { what: string; from: number; to: number }[] = [];
    for (const step of STEPS) {
      const namespace = step.service === 'payment' ? paymentNamespace : antaeusNamespace;
      const selector = step.service === 'payment' ? PAYMENT_SELECTOR : ANTAEUS_SELECTOR;
      const before = pods(namespace, selector).map((pod) => pod.metadata.name);
      const from = Date.now();
      sealInLab(env, step.secret, step.key, step.value(old, next));
      const head = commitAndPush(`lab test: token rotation in ${env}: ${step.what}`);
      await syncedTo(`${step.service}-${env}`, head);
      kubectl('-n', namespace, 'rollout', 'status', `deployment/${step.service}`, '--timeout=300s');
      await podsReplaced(namespace, selector, before);
      // A few seconds of charging on the new pods belong to this step too.
      await sleep(10_000);
      windows.push({ what: step.what, from, to: Date.now() });
    }
    driving = false;
    await driver;

    // Antaeus now sends the new token, and payment accepts it and only it.
    expect(secretValue(antaeusNamespace, 'payment-api-token', 'token')).toBe(next);
    expect(
      nodeIn(
        antaeusNamespace,
        runningPod(antaeusNamespace, ANTAEUS_SELECTOR),
        'console.log(process.env.PAYMENT_API_TOKEN)',
      ),
    ).toBe(next);
    expect(paymentAnswers(old)).toBe('401');
    expect(paymentAnswers(next)).toBe('200');

    // Every step's sync happened while payment was deciding charges.
    const decided = windows.map(({ what, from, to }) => ({
      what,
      seconds: Math.round((to - from) / 1000),
      decided: decidedBetween(from, to),
    }));
    console.log(
      `token rotation in ${env}: ${JSON.stringify(decided)}; driver turns that found Antaeus down: ${driverFailures}`,
    );
    for (const window of decided) expect(window.decided).toBeGreaterThan(0);

    // The last run finishes what it claimed; then not one attempt since the start failed or
    // needed a second request.
    await eventually(
      'no billing run active in Antaeus',
      () =>
        inAntaeus(
          `console.log(db.prepare("SELECT COUNT(*) AS n FROM billing_runs WHERE status = 'running' AND lease_expires_at > ?").get(Date.now()).n);`,
        ) === '0'
          ? true
          : undefined,
      300_000,
    );
    const attempts = attemptsSince(started);
    const total = attempts.reduce((sum, group) => sum + group.count, 0);
    expect(total).toBeGreaterThan(0);
    expect(
      attempts.filter(
        (group) => !['approved', 'declined'].includes(group.outcome) || group.requests !== 1,
      ),
    ).toEqual([]);
  }, 1_200_000);
});
