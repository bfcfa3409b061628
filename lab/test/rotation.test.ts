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
import {
  ANTAEUS_SELECTOR,
  PAYMENT_SELECTOR,
  STAGE,
  nodeIn,
  paymentFromAntaeus,
  pods,
  podsReplaced,
  runningPod,
} from './support/node';
import {
  BillingDriver,
  attemptsSince,
  decidedBetween,
  failedOrRetried,
  runActive,
} from './support/billing';

// The payment token rotated by three sealed commits (docs/operations.md#rotating-a-token) while
// Antaeus keeps billing: payment accepts old and new, Antaeus sends the new one, payment drops
// the old one. "No failed charge" is read from Antaeus's own record of every attempt
// (support/billing.ts), across its own restart. Staging, where that database is on a
// PersistentVolumeClaim and outlives the pod.

const { env, payments: paymentNamespace, billing: antaeusNamespace } = STAGE;

/** The HTTP status payment answers a listing with `token`, asked as Antaeus connects. */
const paymentAnswers = (token: string): string =>
  paymentFromAntaeus(antaeusNamespace, '/v1/charges?invoice_id=1', token);

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
  let driver: BillingDriver | undefined;

  afterAll(() => driver?.stop());

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

    driver = new BillingDriver(antaeusNamespace);

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
    await driver.stop();

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
      decided: decidedBetween(antaeusNamespace, from, to),
    }));
    console.log(
      `token rotation in ${env}: ${JSON.stringify(decided)}; driver turns that found Antaeus down: ${driver.missedTurns}`,
    );
    for (const window of decided) expect(window.decided).toBeGreaterThan(0);

    // The last run finishes what it claimed; then not one attempt since the start failed or
    // needed a second request.
    await eventually(
      'no billing run active in Antaeus',
      () => (runActive(antaeusNamespace) ? undefined : true),
      300_000,
    );
    const attempts = attemptsSince(antaeusNamespace, driver.startedAt);
    const total = attempts.reduce((sum, group) => sum + group.count, 0);
    expect(total).toBeGreaterThan(0);
    expect(failedOrRetried(attempts)).toEqual([]);
  }, 1_200_000);
});
