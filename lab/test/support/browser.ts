import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ARGOCD_URL, labEnv } from './lab';

// The lab's web UIs (Argo CD's, Prometheus's) in a real headless Chromium (Debian's package).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const VIEWPORT = { width: 1440, height: 900 };

export interface ArgocdSession {
  browser: Browser;
  page: Page;
}

/** Debian's headless Chromium, as the lab's browser tests drive it. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A browser logged in to Argo CD as the lab's admin, on the applications list. */
export async function argocdSession(viewport = VIEWPORT): Promise<ArgocdSession> {
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport });
  const env = labEnv();
  await page.goto(`${ARGOCD_URL}/login`);
  await page.locator('input[name="username"]').fill(env.ARGOCD_ADMIN_USERNAME!);
  await page.locator('input[name="password"]').fill(env.ARGOCD_ADMIN_PASSWORD!);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL(/\/applications/);
  return { browser, page };
}

/** Saves a screenshot where the README shows it (docs/images/<name>.png) and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  const file = path.join(repoRoot(), 'docs', 'images', `${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage });
  return file;
}
