import { repoRoot } from '@internal/test-kit';
import path from 'node:path';
import { catalogue, RELEASE_ENV, SERVICE_APPS } from './support/catalogue';
import { application, argocd, eventually, run } from './support/lab';

const RBAC_CM = path.join(repoRoot(), 'argocd', 'platform', 'argocd-rbac-cm.yaml');

/** `argocd admin settings rbac can` over the committed argocd-rbac-cm: Argo CD's own evaluator. */
function can(subject: string, action: string, resource: string, object: string): boolean {
  const result = run('argocd', [
    'admin',
    'settings',
    'rbac',
    'can',
    subject,
    action,
    resource,
    object,
    '--policy-file',
    RBAC_CM,
  ]);
  if (result.status !== 0 && !/^No/m.test(result.stdout))
    throw new Error(result.stderr || result.stdout);
  return /^Yes/m.test(result.stdout);
}

describe('global RBAC (argocd-rbac-cm), by the argocd binary', () => {
  test('the policy file is valid', () => {
    const result = run('argocd', [
      'admin',
      'settings',
      'rbac',
      'validate',
      '--policy-file',
      RBAC_CM,
    ]);
    expect(result.status).toBe(0);
    // The validator knows only the file's own roles; role:admin is built in (the cases below
    // show it resolves), so that is the one warning allowed.
    const warnings = result.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(
      warnings.filter((msg) => msg !== 'user defined roles not found in policies: role:admin'),
    ).toEqual([]);
  });

  test.each([
    ['platform-admins', 'update', 'projects', 'payments'],
    ['platform-admins', 'create', 'applications', 'payments/new-app'],
    ['platform-admins', 'update', 'clusters', '*'],
    ['platform-admins', 'create', 'repositories', '*'],
  ])('%s may %s %s %s', (subject, action, resource, object) => {
    expect(can(subject, action, resource, object)).toBe(true);
  });

  test.each([
    // Team groups get nothing globally: their rights come only from their project's roles.
    ['payments-developers', 'get', 'applications', 'payments/payment-dev'],
    ['payments-release', 'sync', 'applications', 'payments/payment-prod'],
    ['billing-developers', 'update', 'projects', 'billing'],
    ['payments-developers', 'create', 'applications', 'payments/new-app'],
    ['billing-release', 'update', 'clusters', '*'],
    // policy.default is empty: an unknown user may not even read.
    ['someone-else', 'get', 'applications', '*/*'],
    ['someone-else', 'get', 'projects', 'payments'],
  ])('%s may not %s %s %s', (subject, action, resource, object) => {
    expect(can(subject, action, resource, object)).toBe(false);
  });
});

// Project roles live in the AppProjects; only argocd-server evaluates them, so each role gets a
// real project token and calls the real API.
describe('project roles, through the real argocd-server', () => {
  const tokens: Record<string, string> = {};
  beforeAll(() => {
    for (const [project, role] of catalogue.teamNames().flatMap(
      (team) =>
        [
          [team, 'developer'],
          [team, 'release'],
        ] as const,
    )) {
      const result = argocd([
        'proj',
        'role',
        'create-token',
        project,
        role,
        '--token-only',
        '--expires-in',
        '1h',
      ]);
      if (result.status !== 0) throw new Error(`create-token ${project}/${role}: ${result.stderr}`);
      tokens[`${project}/${role}`] = result.stdout.trim();
    }
  });

  const denied = (result: { status: number | null; stderr: string }) =>
    result.status !== 0 && /PermissionDenied|permission denied/i.test(result.stderr);

  // Developers sync every environment but the last; only the release group syncs that one.
  test.each(
    SERVICE_APPS.filter(({ env }) => env !== RELEASE_ENV).map(({ app, team }) => [
      `${team}/developer`,
      app,
    ]),
  )('%s may sync %s', (role, app) => {
    const result = argocd(['app', 'sync', app, '--async'], tokens[role]);
    expect(result.stderr).not.toMatch(/permission denied/i);
    expect(result.status).toBe(0);
  });

  test.each(
    SERVICE_APPS.flatMap(({ app, team, env }) =>
      catalogue.teamNames().flatMap((role) =>
        role !== team
          ? [
              [`${role}/developer`, app],
              [`${role}/release`, app],
            ]
          : env === RELEASE_ENV
            ? [[`${role}/developer`, app]]
            : [],
      ),
    ),
  )('%s may not sync %s', (role, app) => {
    expect(denied(argocd(['app', 'sync', app, '--async'], tokens[role]))).toBe(true);
  });

  test.each(['payments/developer', 'payments/release', 'billing/developer'])(
    '%s may not edit any project',
    (role) => {
      expect(
        denied(
          argocd(['proj', 'add-source', 'payments', 'https://example.com/other.git'], tokens[role]),
        ),
      ).toBe(true);
      expect(
        denied(
          argocd(
            ['proj', 'add-destination', 'billing', 'https://kubernetes.default.svc', 'kube-system'],
            tokens[role],
          ),
        ),
      ).toBe(true);
      expect(
        denied(argocd(['proj', 'role', 'create-token', 'payments', 'release'], tokens[role])),
      ).toBe(true);
    },
  );

  test.each(
    SERVICE_APPS.filter(({ env }) => env === RELEASE_ENV).map(({ app, team }) => [
      `${team}/release`,
      app,
    ]),
  )('%s syncs %s by hand, window or not, and it becomes Synced', async (role, app) => {
    const result = argocd(['app', 'sync', app, '--timeout', '120'], tokens[role]);
    expect(result.stderr).not.toMatch(/permission denied/i);
    await eventually(`${app} Synced`, () =>
      application(app).status?.sync?.status === 'Synced' ? true : undefined,
    );
  });
});
