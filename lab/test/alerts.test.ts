import crypto from 'node:crypto';
import fs from 'node:fs';
import {
  commitAndPush,
  eventually,
  portForward,
  sealInLab,
  secretValue,
  syncedTo,
  revertAndPush,
} from './support/lab';
import { VIEWPORT, launchBrowser, screenshot } from './support/browser';
import { BILLING, ENVIRONMENTS, catalogue } from './support/catalogue';
import { BillingDriver } from './support/billing';
import { deliveredFiring } from './support/alerts';

// Alerts reach someone: a team's Prometheus alert, fired by a real fault, is delivered by the
// lab's Alertmanager to the on-call webhook (lab/scripts/alert-receiver.mjs stands in for it).
// The drill: a change gives Antaeus in dev a payment token payment does not know, so its charges
// are refused (401, outcome `rejected`) and AntaeusChargesFailed fires; reverting the change
// restores the token. Argo CD's notification of an aborted canary is checked where the canary is
// aborted (canary.test.ts). While the alert fires, Prometheus's own UI shows it, and the picture in
// the README is taken there.

const env = ENVIRONMENTS[0]!;
const namespace = catalogue.namespace(BILLING, env);
const app = `antaeus-${env}`;

/**
 * Prometheus's UI (through a port-forward, as an on-call engineer would open it) on its alerts
 * page filtered to `alertname` firing, with the rule opened: the state of its alert for
 * the drill's namespace, and the screenshot the README shows.
 */
async function firingInPrometheusUi(alertname: string) {
  const prometheus = await portForward('monitoring', 'service/prometheus-operated', 9090);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(`${prometheus.url}/alerts?state=firing&search=${alertname}`);
    const firing = page.getByRole('button', { name: new RegExp(`${alertname}.*firing`) });
    await firing.first().waitFor();
    // Every environment has the rule; only the drill's namespace's fires (its rules see only it).
    const firingRules = await firing.count();
    await firing.first().click();
    const row = page.locator('tr', { hasText: `namespace="${namespace}"` }).first();
    await row.waitFor();
    const state = (await row.locator('td').nth(1).textContent())?.trim();
    // The rule's panel slides open (Mantine's Collapse, 200 ms); the picture waits it out.
    await page.waitForTimeout(1_000);
    const file = await screenshot(page, 'prometheus-alert');
    return { firingRules, state, file };
  } finally {
    await browser.close();
    prometheus.stop();
  }
}

describe(`${env}: a firing alert delivered to the on-call webhook`, () => {
  let driver: BillingDriver | undefined;

  afterAll(() => driver?.stop());

  test('AntaeusChargesFailed fires on refused charges and reaches the receiver through the Alertmanager', async () => {
    const token = secretValue(namespace, 'payment-api-token', 'token');
    const from = Date.now();
    driver = new BillingDriver(namespace);
    sealInLab(env, 'payment-api-token', 'token', crypto.randomBytes(32).toString('hex'));
    const wrong = commitAndPush(
      `lab test: a payment token payment does not know, for Antaeus in ${env}`,
    );
    await syncedTo(app, wrong);

    const delivered = await eventually(
      `AntaeusChargesFailed for ${namespace} delivered firing`,
      () => deliveredFiring('AntaeusChargesFailed', { namespace }, from),
      300_000,
    );
    expect(delivered.notification.path).toBe('/alertmanager');
    expect(delivered.notification.body.receiver).toBe('on-call');
    expect(delivered.alert.labels.severity).toBe('warning');
    expect(delivered.alert.annotations.summary).toMatch(/charges failed in the last hour/);
    console.log(
      `AntaeusChargesFailed delivered ${Math.round((delivered.notification.receivedAt - from) / 1000)} s after the change was pushed`,
    );

    const shown = await firingInPrometheusUi('AntaeusChargesFailed');
    expect(shown.firingRules).toBe(1);
    expect(shown.state).toBe('firing');
    expect(fs.statSync(shown.file).size).toBeGreaterThan(10_000);

    await driver.stop();
    await syncedTo(app, revertAndPush(wrong));
    expect(secretValue(namespace, 'payment-api-token', 'token')).toBe(token);
  });
});
