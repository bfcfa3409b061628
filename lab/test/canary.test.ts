import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  ARGOCD_URL,
  LAB_REPO,
  labHead,
  application,
  commitAndPush,
  eventually,
  kubectlJson,
  refresh,
  resourceTree,
  syncedTo,
  revertAndPush,
} from './support/lab';
import { PAYMENT_SELECTOR, STAGE, pods } from './support/node';
import { BillingDriver, attemptsSince, decidedBetween, failedOrRetried } from './support/billing';
import { deliveredFiring } from './support/alerts';
import { argocdSession, screenshot } from './support/browser';

// Payment's canary in staging (deploy/teams/payments/payment/components/canary), judged by Argo
// Rollouts on the lab's Prometheus while Antaeus keeps billing: a good release reaches 100%
// through its steps with no failed charge; a release that declines every charge, and one that
// answers slowly, are aborted by the analysis, traffic goes back to the stable pods, Argo CD shows
// the app Degraded (and its notification reaches the on-call webhook), and reverting the commit
// heals it. Each release is a change of payment's
// settings in the staging overlay, as a reviewed pull request would make it; the timings are
// printed (docs/operations.md#how-a-release-is-judged-and-rolled-back quotes them).

const { env, payments: namespace, billing: antaeusNamespace } = STAGE;
const APP = `payment-${env}`;
const OVERLAY = path.join(
  LAB_REPO,
  'deploy/teams/payments/payment/overlays',
  env,
  'kustomization.yaml',
);
const RELEASE_TIMEOUT_MS = 480_000;
// A release and what follows it (abort, Degraded, notification, revert) take minutes each.
const TEST_TIMEOUT_MS = 900_000;

interface Rollout {
  spec: { strategy: { canary: { steps: Record<string, unknown>[] } } };
  status?: {
    phase?: string;
    message?: string;
    abort?: boolean;
    currentPodHash?: string;
    stableRS?: string;
    currentStepIndex?: number;
  };
}

interface AnalysisRun {
  metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
  status?: { phase?: string; metricResults?: { name: string; phase: string }[] };
}

const rollout = () =>
  kubectlJson<Rollout>('-n', namespace, 'get', 'rollouts.argoproj.io', 'payment');

/** The analyses of a pod template since `since` (ms): an earlier release of it had its own. */
const analysisRuns = (podHash: string, since: number) =>
  kubectlJson<{ items: AnalysisRun[] }>(
    '-n',
    namespace,
    'get',
    'analysisruns.argoproj.io',
    '-l',
    `rollouts-pod-template-hash=${podHash}`,
  ).items.filter((run) => Date.parse(run.metadata.creationTimestamp) >= since - 1_000);

const podHashes = () =>
  pods(namespace, PAYMENT_SELECTOR)
    .filter((pod) => !pod.metadata.deletionTimestamp)
    .map((pod) => pod.metadata.labels?.['rollouts-pod-template-hash']);

const seconds = (from: number) => Math.round((Date.now() - from) / 1000);

/**
 * The README's picture of a canary: payment's resource tree in Argo CD while the Rollout pauses at
 * a step, with the stable and the canary ReplicaSet, their pods and the running analysis (Argo CD
 * shows children only of kinds the app's project permits: the team's lists them view-only).
 */
async function screenshotCanary(canaryHash: string): Promise<string> {
  const shown = await eventually(
    "the canary's ReplicaSet, its pods and its AnalysisRun in Argo CD's tree",
    () => {
      const nodes = resourceTree(APP);
      const canary = nodes.filter(
        (node) =>
          (node.kind === 'ReplicaSet' && node.name === `payment-${canaryHash}`) ||
          (node.kind === 'Pod' && node.name.startsWith(`payment-${canaryHash}-`)) ||
          (node.kind === 'AnalysisRun' && node.name.startsWith(`payment-${canaryHash}-`)),
      );
      const kinds = [...new Set(canary.map((node) => node.kind))].sort();
      return kinds.length === 3 ? kinds : undefined;
    },
  );
  expect(shown).toEqual(['AnalysisRun', 'Pod', 'ReplicaSet']);
  const { browser, page } = await argocdSession({ width: 1600, height: 1000 });
  try {
    // The tree filtered to the canary's kinds, as the UI's KINDS filter does.
    const kinds = ['Rollout', 'ReplicaSet', 'Pod', 'AnalysisRun'].map((kind) => `kind:${kind}`);
    await page.goto(
      `${ARGOCD_URL}/applications/argocd/${APP}?view=tree&resource=${encodeURIComponent(kinds.join(','))}`,
    );
    await page.locator('.application-resource-tree__node--analysisrun').first().waitFor();
    await page.locator('.application-resource-tree__node--pod').first().waitFor();
    return await screenshot(page, 'argocd-canary');
  } finally {
    await browser.close();
  }
}

/** Commits a release of payment in staging: its ConfigMap with these settings merged in. */
function releaseSettings(what: string, settings: Record<string, string>): string {
  const overlay = YAML.parseDocument(fs.readFileSync(OVERLAY, 'utf8'));
  overlay.set('configMapGenerator', [
    {
      name: 'payment-config',
      behavior: 'merge',
      literals: Object.entries(settings).map(([name, value]) => `${name}=${value}`),
    },
  ]);
  fs.writeFileSync(OVERLAY, overlay.toString());
  return commitAndPush(`lab test: payment ${env} release: ${what}`);
}

/** The new pod template hash once Argo CD has synced `head` and the Rollout took it up. */
async function canaryStarted(head: string, stableHash: string): Promise<string> {
  refresh(APP);
  await eventually(
    `${APP} synced to ${head.slice(0, 7)}`,
    () => (application(APP).status?.sync?.revision === head ? true : undefined),
    180_000,
  );
  return eventually('the Rollout taking up the new pod template', () => {
    const hash = rollout().status?.currentPodHash;
    return hash && hash !== stableHash ? hash : undefined;
  });
}

describe(`${env}: payment's canary judged on live billing traffic`, () => {
  let driver: BillingDriver | undefined;
  let goodRelease: string | undefined;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    await syncedTo(APP, labHead());
    expect(rollout().status?.phase).toBe('Healthy');
    driver = new BillingDriver(antaeusNamespace);
    await eventually(
      'billing charging payment',
      () =>
        decidedBetween(antaeusNamespace, Date.now() - 20_000, Date.now()) > 0 ? true : undefined,
      120_000,
    );
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await driver?.stop();
    console.log(`payment canary in ${env}, seconds: ${JSON.stringify(timings)}`);
  });

  test(
    'a good release reaches 100% through every step, its analyses successful, with no failed charge',
    async () => {
      const stableHash = rollout().status!.stableRS!;
      const steps = rollout().spec.strategy.canary.steps;
      const from = Date.now();
      const head = releaseSettings('a slightly slower acquirer, within budget', {
        PAYMENT_DECISION_DELAY_MS: '20',
      });
      goodRelease = head;
      const canaryHash = await canaryStarted(head, stableHash);
      expect(fs.statSync(await screenshotCanary(canaryHash)).size).toBeGreaterThan(10_000);
      const stepsSeen = new Set<number>();
      await eventually(
        'the canary promoted to stable',
        () => {
          const status = rollout().status!;
          stepsSeen.add(status.currentStepIndex ?? -1);
          if (status.abort) throw new Error(`aborted: ${status.message}`);
          return status.phase === 'Healthy' && status.stableRS === canaryHash ? true : undefined;
        },
        RELEASE_TIMEOUT_MS,
      );
      timings.goodReleaseToStable = seconds(from);

      expect(rollout().status!.currentStepIndex).toBe(steps.length);
      // It paused between steps: seen at more than its first and last index.
      expect(stepsSeen.size).toBeGreaterThan(2);
      // The background analysis: one run for the canary, from its first step to its last.
      expect(analysisRuns(canaryHash, from).map((run) => run.status?.phase)).toEqual([
        'Successful',
      ]);
      await eventually('only the new pods left', () =>
        podHashes().every((hash) => hash === canaryHash) ? true : undefined,
      );
      await syncedTo(APP, head);

      expect(decidedBetween(antaeusNamespace, from, Date.now())).toBeGreaterThan(0);
      expect(failedOrRetried(attemptsSince(antaeusNamespace, from))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  test.each<{ what: string; key: string; settings: Record<string, string>; metric: string }>([
    {
      what: 'declining every charge (PAYMENT_SUCCESS_RATE=0)',
      key: 'declineAll',
      settings: { PAYMENT_SUCCESS_RATE: '0' },
      metric: 'approval-vs-stable',
    },
    {
      what: 'answering each charge a second late',
      key: 'slow',
      settings: { PAYMENT_DECISION_DELAY_MS: '1000' },
      metric: 'latency-p99',
    },
  ])(
    'a release $what is aborted by $metric, traffic returns to stable, Argo CD shows it Degraded, and the revert heals it',
    async ({ what, key, settings, metric }) => {
      const stableHash = rollout().status!.stableRS!;
      const from = Date.now();
      const head = releaseSettings(what, settings);
      const canaryHash = await canaryStarted(head, stableHash);

      await eventually(
        'the analysis aborting the canary',
        () => (rollout().status?.abort ? true : undefined),
        RELEASE_TIMEOUT_MS,
      );
      timings[`${key}ToAbort`] = seconds(from);
      const failed = analysisRuns(canaryHash, from).find((run) => run.status?.phase === 'Failed');
      expect(failed?.status?.metricResults?.find((m) => m.phase === 'Failed')?.name).toBe(metric);

      await eventually('every canary pod gone, the stable ones serving', () =>
        podHashes().length > 0 && podHashes().every((hash) => hash === stableHash)
          ? true
          : undefined,
      );
      timings[`${key}ToStableOnly`] = seconds(from);
      expect(rollout().status!.stableRS).toBe(stableHash);
      await eventually(`${APP} Degraded in Argo CD`, () =>
        application(APP).status?.health?.status === 'Degraded' ? true : undefined,
      );
      // Argo CD's notification, through the Alertmanager, reached the on-call webhook.
      const notified = await eventually('the Degraded app delivered to the on-call webhook', () =>
        deliveredFiring('ArgoCDApplicationDegraded', { app: APP, source: 'argocd' }, from),
      );
      timings[`${key}ToOnCall`] = Math.round((notified.notification.receivedAt - from) / 1000);
      expect(notified.alert.labels.namespace).toBe(namespace);

      const reverted = Date.now();
      const revert = revertAndPush(head);
      await syncedTo(APP, revert);
      expect(rollout().status).toMatchObject({ phase: 'Healthy', stableRS: stableHash });
      expect(rollout().status?.abort).toBeFalsy();
      timings[`${key}RevertToHealthy`] = seconds(reverted);
      // Charging goes on at the stable pods' rate after the abort.
      expect(decidedBetween(antaeusNamespace, reverted - 30_000, Date.now())).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'the good release reverted leaves staging as it was',
    async () => {
      expect(goodRelease).toBeDefined();
      const stableHash = rollout().status!.stableRS!;
      const head = revertAndPush(goodRelease!);
      await canaryStarted(head, stableHash);
      await syncedTo(APP, head, { timeoutMs: RELEASE_TIMEOUT_MS });
      expect(rollout().status?.phase).toBe('Healthy');
    },
    TEST_TIMEOUT_MS,
  );
});
