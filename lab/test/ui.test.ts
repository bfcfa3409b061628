import fs from 'node:fs';
import { ARGOCD_URL, application, applications, eventually } from './support/lab';
import { type ArgocdSession, argocdSession, screenshot } from './support/browser';

// A user's "sync from the Argo CD UI", in a real headless Chromium against the lab's real
// argocd-server and the UI built from Argo CD's own sources (lab/scripts/build.sh).

// The list shows ten applications a page, sorted by name.
const PAGE_SIZE = 10;

let session: ArgocdSession;

beforeAll(async () => {
  session = await argocdSession();
});

afterAll(async () => {
  await session?.browser.close();
});

describe('the Argo CD UI', () => {
  test('logs in with the lab admin and lists the applications', async () => {
    const { page } = session;
    const firstPage = applications()
      .map((app) => app.metadata.name)
      .sort()
      .slice(0, PAGE_SIZE);
    for (const name of firstPage) await page.getByText(name, { exact: true }).first().waitFor();
    const file = await screenshot(page, 'argocd-applications');
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  });

  test('opens payment-dev, presses SYNC then SYNCHRONIZE, and the app syncs', async () => {
    const { page } = session;
    const before = application('payment-dev').status?.operationState as
      { startedAt?: string } | undefined;
    await page.goto(`${ARGOCD_URL}/applications/argocd/payment-dev`);
    await page.locator('.top-bar__action-menu button', { hasText: /^\s*Sync\s*$/ }).click();
    await page.locator('[qe-id="application-sync-panel-button-synchronize"]').click();
    const operation = await eventually('a new sync of payment-dev that succeeded', () => {
      const state = application('payment-dev').status?.operationState as
        { startedAt?: string; phase?: string; message?: string } | undefined;
      if (!state || state.startedAt === before?.startedAt) return undefined;
      return state.phase === 'Succeeded' ? state : undefined;
    });
    expect(operation.phase).toBe('Succeeded');
    expect(application('payment-dev').status?.sync?.status).toBe('Synced');
  });
});
