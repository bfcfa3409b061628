import {
  LAB_REPO,
  applications,
  commitAndPush,
  eventually,
  kubectlJson,
  labHead,
  must,
  refresh,
} from './support/lab';

// What each Application has deployed: its sync history and the generation of every live object
// it manages. An app whose live state changed has a new history entry or a new generation.
function liveState(): Map<string, string> {
  const state = new Map<string, string>();
  for (const app of applications()) {
    const resources =
      kubectlJson<{
        status?: {
          resources?: {
            kind: string;
            namespace?: string;
            name: string;
            health?: { status?: string };
          }[];
        };
      }>('-n', 'argocd', 'get', 'application', app.metadata.name).status?.resources ?? [];
    // A prod app no release group has synced yet lists its Deployment as Missing: nothing lives.
    const generations = resources
      .filter((resource) => resource.namespace && resource.kind === 'Deployment')
      .filter((resource) => resource.health?.status !== 'Missing')
      .map((resource) => {
        const live = kubectlJson<{ metadata: { generation: number } }>(
          '-n',
          resource.namespace!,
          'get',
          'deployment',
          resource.name,
        );
        return `${resource.namespace}/${resource.name}@${live.metadata.generation}`;
      });
    state.set(
      app.metadata.name,
      JSON.stringify({ history: app.status?.history?.length ?? 0, generations }),
    );
  }
  return state;
}

const deploymentImage = (namespace: string, name: string) =>
  kubectlJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
    '-n',
    namespace,
    'get',
    'deployment',
    name,
  ).spec.template.spec.containers[0]!.image;

/** Refreshes every app and waits until each has compared the lab repository's HEAD. */
async function settle(head: string) {
  for (const app of applications()) refresh(app.metadata.name);
  await eventually(
    `every non-prod app synced to ${head.slice(0, 7)}`,
    () => {
      const behind = applications()
        .filter((app) => !app.metadata.name.endsWith('-prod'))
        .filter(
          (app) =>
            app.status?.sync?.revision !== head ||
            app.status?.sync?.status !== 'Synced' ||
            app.status?.operationState?.phase === 'Running',
        )
        .map((app) => app.metadata.name);
      if (behind.length > 0) throw new Error(`not yet: ${behind.join(', ')}`);
      return true;
    },
    180_000,
  );
}

const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

describe('merge-to-deploy against the lab repository', () => {
  // Tagged like CI tags a merge: the commit it was built from.
  let tag: string;
  let before: Map<string, string>;
  let previousImage: string;

  beforeAll(async () => {
    tag = labHead().slice(0, 12);
    await settle(labHead());
    before = liveState();
    previousImage = deploymentImage('payments-dev', 'payment');
  });

  test('scripts/bump-image.sh + git push changes payment-dev alone', async () => {
    must('bash', ['scripts/bump-image.sh', '--commit', 'payment', 'dev', tag], { cwd: LAB_REPO });
    must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
    await settle(labHead());
    await eventually('payment-dev runs the new tag', () =>
      tagOf(deploymentImage('payments-dev', 'payment')) === tag ? true : undefined,
    );

    const after = liveState();
    const changed = [...after]
      .filter(([name, state]) => before.get(name) !== state)
      .map(([name]) => name);
    expect(changed).toEqual(['payment-dev']);
    expect(tagOf(deploymentImage('payments-staging', 'payment'))).toBe(tagOf(previousImage));
  });

  test('git revert + push rolls payment-dev back', async () => {
    must('git', ['-C', LAB_REPO, 'revert', '--no-edit', 'HEAD']);
    must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
    await settle(labHead());
    await eventually('payment-dev back on the previous image', () =>
      deploymentImage('payments-dev', 'payment') === previousImage ? true : undefined,
    );
  });

  test('scripts/promote.sh to staging changes staging only', async () => {
    must('bash', ['scripts/bump-image.sh', '--commit', 'payment', 'dev', tag], { cwd: LAB_REPO });
    const mid = liveStateAfterPush();
    await settle(mid);
    const beforePromotion = liveState();
    must('bash', ['scripts/promote.sh', 'payment', 'dev', 'staging'], { cwd: LAB_REPO });
    const head = commitAndPush(`promote(staging): payment ${tag}`);
    await settle(head);
    await eventually('payment-staging runs the promoted tag', () =>
      tagOf(deploymentImage('payments-staging', 'payment')) === tag ? true : undefined,
    );
    const after = liveState();
    const changed = [...after]
      .filter(([name, state]) => beforePromotion.get(name) !== state)
      .map(([name]) => name);
    expect(changed).toEqual(['payment-staging']);
  });
});

function liveStateAfterPush(): string {
  must('git', ['-C', LAB_REPO, 'push', '-q', 'origin', 'main']);
  return labHead();
}
