import { repoRoot } from '@internal/test-kit';
import { imagesEnv, pushedDigest } from './support/images';
import { deploymentImage } from './support/node';
import {
  type Application,
  LAB_REPO,
  applications,
  commitAndPush,
  eventually,
  kubectlJson,
  labHead,
  must,
  refresh,
  run,
  revertAndPush,
} from './support/lab';

// What each Application has deployed: its sync history and the pod template of every Deployment
// it manages. (Not the generation: a HorizontalPodAutoscaler changes replicas on its own.)
function liveState(): Map<string, string> {
  const state = new Map<string, string>();
  for (const app of applications()) {
    const resources =
      kubectlJson<{
        status?: { resources?: { kind: string; namespace?: string; name: string }[] };
      }>('-n', 'argocd', 'get', 'application', app.metadata.name).status?.resources ?? [];
    const templates = resources
      .filter((resource) => resource.namespace && resource.kind === 'Deployment')
      .map((resource) => {
        // A Deployment not created yet (prod held by its window) counts as absent.
        const live = run('kubectl', [
          '-n',
          resource.namespace!,
          'get',
          'deployment',
          resource.name,
          '-o',
          'json',
        ]);
        const template =
          live.status === 0
            ? (JSON.parse(live.stdout) as { spec: { template: unknown } }).spec.template
            : 'absent';
        return `${resource.namespace}/${resource.name}=${JSON.stringify(template)}`;
      });
    state.set(
      app.metadata.name,
      JSON.stringify({ history: app.status?.history?.length ?? 0, templates }),
    );
  }
  return state;
}

/** Refreshes every app and waits until each has compared the lab repository's HEAD. */
async function settle(head: string) {
  for (const app of applications()) refresh(app.metadata.name);
  await eventually(
    `every non-prod app synced to ${head.slice(0, 7)}`,
    () => {
      // Every non-prod app on the new commit, and no sync of any app (prod too) still running.
      const running = (app: Application) => app.status?.operationState?.phase === 'Running';
      const behind = applications()
        .filter((app) =>
          app.metadata.name.endsWith('-prod')
            ? running(app)
            : app.status?.sync?.revision !== head ||
              app.status?.sync?.status !== 'Synced' ||
              running(app),
        )
        .map((app) => app.metadata.name);
      if (behind.length > 0) throw new Error(`not yet: ${behind.join(', ')}`);
      return true;
    },
    180_000,
  );
}

/** The Applications whose live state differs from a snapshot. */
const changedSince = (snapshot: Map<string, string>) =>
  [...liveState()].filter(([name, state]) => snapshot.get(name) !== state).map(([name]) => name);

/** The tag of an image reference, with or without a digest. */
const tagOf = (image: string) => {
  const name = image.split('@')[0]!;
  return name.slice(name.lastIndexOf(':') + 1);
};

const bump = (tag: string, digest: string) =>
  must(
    process.execPath,
    [
      `${repoRoot()}/packages/delivery/bin/delivery.js`,
      'bump',
      '--push',
      '--digest',
      digest,
      'payment',
      'dev',
      tag,
    ],
    {
      cwd: LAB_REPO,
    },
  );

describe('merge-to-deploy against the lab repository', () => {
  // Tagged like CI tags a merge: the commit it was built from, and bumped with the digest the
  // push returned, as release.yml does (promote.sh copies both).
  let tag: string;
  let digest: string;
  let before: Map<string, string>;
  let previousImage: string;

  beforeAll(async () => {
    tag = labHead().slice(0, 12);
    // The image CI would have pushed for that commit, so the node can run what gets deployed.
    must('bash', ['lab/scripts/images.sh', '--checkout', LAB_REPO, 'payment'], {
      cwd: repoRoot(),
      timeoutMs: 900_000,
    });
    digest = pushedDigest(imagesEnv().LAB_IMAGE_PAYMENT!);
    await settle(labHead());
    before = liveState();
    previousImage = deploymentImage('payments-dev', 'payment');
  });

  test('delivery bump --push changes payment-dev alone', async () => {
    bump(tag, digest);
    await settle(labHead());
    await eventually('payment-dev runs the new tag', () =>
      tagOf(deploymentImage('payments-dev', 'payment')) === tag ? true : undefined,
    );

    expect(changedSince(before)).toEqual(['payment-dev']);
    expect(tagOf(deploymentImage('payments-staging', 'payment'))).toBe(tagOf(previousImage));
  });

  test('git revert + push rolls payment-dev back', async () => {
    await settle(revertAndPush('HEAD'));
    await eventually('payment-dev back on the previous image', () =>
      deploymentImage('payments-dev', 'payment') === previousImage ? true : undefined,
    );
  });

  test('delivery promote to staging changes staging only, and its canary completes', async () => {
    bump(tag, digest);
    await settle(labHead());
    const beforePromotion = liveState();
    must(
      process.execPath,
      [`${repoRoot()}/packages/delivery/bin/delivery.js`, 'promote', 'payment', 'dev', 'staging'],
      { cwd: LAB_REPO },
    );
    const head = commitAndPush(`promote(staging): payment ${tag}`);
    await settle(head);
    await eventually('payment-staging runs the promoted tag', () =>
      tagOf(deploymentImage('payments-staging', 'payment')) === tag ? true : undefined,
    );
    expect(changedSince(beforePromotion)).toEqual(['payment-staging']);
    // Staging releases payment as a canary: the promotion is done when the Rollout has made the
    // promoted pods its stable ones, which also leaves the next test a lab at rest.
    await eventually(
      'payment-staging stable on the promoted tag after its canary',
      () => {
        const { status } = kubectlJson<{ status?: { phase?: string; stableRS?: string } }>(
          '-n',
          'payments-staging',
          'get',
          'rollout',
          'payment',
        );
        if (status?.phase !== 'Healthy' || !status.stableRS) return undefined;
        const stable = kubectlJson<{
          items: { spec: { template: { spec: { containers: { image: string }[] } } } }[];
        }>(
          '-n',
          'payments-staging',
          'get',
          'replicasets',
          '-l',
          `rollouts-pod-template-hash=${status.stableRS}`,
        ).items[0];
        return stable && tagOf(stable.spec.template.spec.containers[0]!.image) === tag
          ? true
          : undefined;
      },
      420_000,
    );
  }, 900_000);
});
