import fs from 'node:fs';
import path from 'node:path';
import { LAB_REPO, argocd, commitAndPush, eventually, labEnv, must, run } from './support/lab';

// Each AppProject boundary, tried through Argo CD's own API as the lab's admin (who may create
// Applications): the project, not the person, must stop it.
const REPO = labEnv().LAB_GIT_URL!;
const IN_CLUSTER = 'https://kubernetes.default.svc';

// Sources a team might point an app at to escape its project.
const PROBES: Record<string, string> = {
  'cluster-scoped': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: lab-probe-escape
rules:
  - apiGroups: ['']
    resources: [secrets]
    verbs: [get]
`,
  'outside-whitelist': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: lab-probe-allow-all
spec:
  podSelector: {}
  ingress: [{}]
`,
};

/** A second repository beside the lab's, served by the same git daemon. */
function createOtherRepository() {
  const bare = path.join(path.dirname(labEnv().LAB_REPO!), 'git', 'someone-elses.git');
  if (fs.existsSync(bare)) return;
  must('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  must('git', ['-C', LAB_REPO, 'push', '-q', bare, 'HEAD:main']);
}

function createApp(
  name: string,
  options: { path: string; namespace: string; repo?: string; project?: string },
) {
  return argocd([
    'app',
    'create',
    name,
    '--project',
    options.project ?? 'payments',
    '--repo',
    options.repo ?? REPO,
    '--path',
    options.path,
    '--dest-server',
    IN_CLUSTER,
    '--dest-namespace',
    options.namespace,
    '--sync-policy',
    'none',
  ]);
}

beforeAll(() => {
  for (const [name, manifest] of Object.entries(PROBES)) {
    const dir = path.join(LAB_REPO, 'lab-probes', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'probe.yaml'), manifest);
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: [probe.yaml]\n');
  }
  if (run('git', ['-C', LAB_REPO, 'status', '--porcelain']).stdout.trim())
    commitAndPush('lab: project boundary probes');
});

afterAll(() => {
  for (const name of ['probe-cluster-scoped', 'probe-outside-whitelist'])
    argocd(['app', 'delete', name, '--cascade=false', '--yes']);
});

describe('the locked default AppProject', () => {
  test('accepts no Application, whatever its source and destination', () => {
    const result = createApp('probe-default', {
      project: 'default',
      path: 'deploy/teams/payments/payment/overlays/dev',
      namespace: 'payments-dev',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /is not permitted in project 'default'|do not match any of the allowed destinations in project 'default'/,
    );
    expect(argocd(['app', 'get', 'probe-default']).status).not.toBe(0);
  });
});

describe('the platform AppProject', () => {
  test("cannot write the argocd namespace: Argo CD's own configuration is argocd-config's", () => {
    const result = createApp('probe-platform-argocd', {
      project: 'platform',
      path: 'argocd',
      namespace: 'argocd',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /namespace 'argocd' do not match any of the allowed destinations in project 'platform'/,
    );
    expect(argocd(['app', 'get', 'probe-platform-argocd']).status).not.toBe(0);
  });
});

describe('the payments AppProject, enforced by the real Argo CD', () => {
  test("refuses an app aimed at the billing team's namespace", () => {
    const result = createApp('probe-other-namespace', {
      path: 'deploy/teams/payments/payment/overlays/dev',
      namespace: 'billing-dev',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /namespace 'billing-dev' do not match any of the allowed destinations in project 'payments'/,
    );
    expect(argocd(['app', 'get', 'probe-other-namespace']).status).not.toBe(0);
  });

  test('refuses an app whose source is another repository', () => {
    // A real repository on the lab's git server, so only the project can be the reason.
    const other = `${REPO.slice(0, REPO.lastIndexOf('/'))}/someone-elses.git`;
    createOtherRepository();
    const result = createApp('probe-other-repo', {
      path: 'deploy',
      namespace: 'payments-dev',
      repo: other,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(`repo ${other.replace(/[.]/g, '\\.')} is not permitted in project 'payments'`),
    );
    expect(argocd(['app', 'get', 'probe-other-repo']).status).not.toBe(0);
  });

  test.each([
    [
      'cluster-scoped',
      'rbac.authorization.k8s.io:ClusterRole',
      ['get', 'clusterrole', 'lab-probe-escape'],
    ],
    [
      'outside-whitelist',
      'networking.k8s.io:NetworkPolicy',
      ['-n', 'payments-dev', 'get', 'networkpolicy', 'lab-probe-allow-all'],
    ],
  ])('refuses to sync a %s kind (%s), and nothing lands', async (probe, kind, lookup) => {
    const name = `probe-${probe}`;
    expect(
      createApp(name, { path: `lab-probes/${probe}`, namespace: 'payments-dev' }),
    ).toMatchObject({ status: 0 });
    const message = await eventually(
      `${name} reports the kind as not permitted`,
      () => {
        const sync = argocd(['app', 'sync', name, '--timeout', '30']);
        const text = `${sync.stdout}\n${sync.stderr}`;
        return sync.status !== 0 && text.includes('not permitted in project') ? text : undefined;
      },
      90_000,
    );
    expect(message).toContain(`resource ${kind} is not permitted in project payments`);
    const live = run('kubectl', lookup);
    expect(live.status).not.toBe(0);
    expect(live.stderr).toMatch(/NotFound|not found/);
  });
});
