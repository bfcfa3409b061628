import { repoRoot } from '@internal/test-kit';
import { findOverreachingGrants } from '../src/guard';
import type { ArgoCdConfig, AppProject } from '../src/objects';
import { ArgoCdRbac, type User } from '../src/rbac';
import { readRepositoryIdentity } from '../src/repository';
import { argoCdConfig } from './helpers';

const member = (...groups: string[]): User => ({
  sub: `someone-in-${groups.join('+') || 'no-group'}`,
  claims: { groups },
});

const users = {
  paymentsDeveloper: member('payments-developers'),
  paymentsRelease: member('payments-release'),
  paymentsDeveloperAndRelease: member('payments-developers', 'payments-release'),
  billingDeveloper: member('billing-developers'),
  billingRelease: member('billing-release'),
  billingDeveloperAndRelease: member('billing-developers', 'billing-release'),
  nobody: member(),
  platformAdmin: member('platform-admins'),
};
type UserName = keyof typeof users;
type Case = [user: UserName, resource: string, action: string, object: string, allowed: boolean];

const REPO = readRepositoryIdentity(repoRoot()).repoURL;
const CLUSTER = 'https://kubernetes.default.svc';

/** The same expectations for either team, so billing is checked as symmetric with payments. */
function teamCases(
  team: 'payments' | 'billing',
  app: string,
  otherProject: string,
  otherApp: string,
): Case[] {
  const dev = team === 'payments' ? 'paymentsDeveloper' : 'billingDeveloper';
  const release = team === 'payments' ? 'paymentsRelease' : 'billingRelease';
  const both = team === 'payments' ? 'paymentsDeveloperAndRelease' : 'billingDeveloperAndRelease';
  const own = (env: string) => `${team}/${app}-${env}`;
  const other = (env: string) => `${otherProject}/${otherApp}-${env}`;
  return [
    [dev, 'applications', 'get', own('dev'), true],
    [dev, 'applications', 'get', own('staging'), true],
    [dev, 'applications', 'get', own('prod'), true],
    [dev, 'logs', 'get', own('prod'), true],
    [dev, 'applications', 'sync', own('dev'), true],
    [dev, 'applications', 'sync', own('staging'), true],
    [dev, 'applications', 'sync', own('prod'), false],
    [dev, 'applications', 'action/apps/Deployment/restart', own('dev'), true],
    [dev, 'applications', 'action/apps/Deployment/restart', own('staging'), true],
    [dev, 'applications', 'action/apps/Deployment/restart', own('prod'), false],
    [dev, 'applications', 'create', own('dev'), false],
    [dev, 'applications', 'update', own('dev'), false],
    [dev, 'applications', 'delete', own('dev'), false],
    [dev, 'applications', 'override', own('dev'), false],
    [dev, 'exec', 'create', own('dev'), false],
    ...['dev', 'staging', 'prod'].flatMap((env): Case[] => [
      [dev, 'applications', 'get', other(env), false],
      [dev, 'applications', 'sync', other(env), false],
      [dev, 'applications', 'delete', other(env), false],
      [dev, 'logs', 'get', other(env), false],
    ]),
    [dev, 'projects', 'get', team, true],
    [dev, 'projects', 'get', otherProject, false],
    [dev, 'projects', 'create', 'new-project', false],
    [dev, 'projects', 'update', team, false],
    [dev, 'projects', 'delete', team, false],
    [dev, 'clusters', 'get', CLUSTER, false],
    [dev, 'clusters', 'create', CLUSTER, false],
    [dev, 'clusters', 'update', CLUSTER, false],
    [dev, 'clusters', 'delete', CLUSTER, false],
    [dev, 'repositories', 'get', REPO, false],
    [dev, 'repositories', 'create', REPO, false],
    [dev, 'repositories', 'update', REPO, false],
    [dev, 'repositories', 'delete', REPO, false],
    [dev, 'applications', 'sync', 'platform/platform', false],
    [dev, 'applications', 'sync', 'platform/root', false],
    [release, 'applications', 'sync', own('prod'), true],
    [release, 'applications', 'sync', own('dev'), true],
    [release, 'applications', 'action/apps/Deployment/restart', own('prod'), true],
    [release, 'logs', 'get', own('prod'), true],
    [release, 'applications', 'delete', own('prod'), false],
    [release, 'applications', 'sync', other('prod'), false],
    [release, 'applications', 'delete', other('prod'), false],
    [release, 'projects', 'update', team, false],
    [release, 'clusters', 'update', CLUSTER, false],
    [release, 'repositories', 'update', REPO, false],
    [both, 'applications', 'sync', own('prod'), true],
    [both, 'applications', 'sync', other('prod'), false],
  ];
}

const cases: Case[] = [
  ...teamCases('payments', 'payment', 'billing', 'antaeus'),
  ...teamCases('billing', 'antaeus', 'payments', 'payment'),
  ...[
    'payments/payment-dev',
    'payments/payment-prod',
    'billing/antaeus-dev',
    'platform/root',
  ].flatMap((app): Case[] => [
    ['nobody', 'applications', 'get', app, false],
    ['nobody', 'logs', 'get', app, false],
    ['nobody', 'applications', 'sync', app, false],
  ]),
  ['nobody', 'projects', 'get', 'payments', false],
  ['nobody', 'projects', 'get', 'billing', false],
  ['nobody', 'clusters', 'get', CLUSTER, false],
  ['nobody', 'repositories', 'get', REPO, false],
  ...[
    'payments/payment-prod',
    'billing/antaeus-prod',
    'platform/root',
    'platform/platform',
  ].flatMap((app): Case[] => [
    ['platformAdmin', 'applications', 'get', app, true],
    ['platformAdmin', 'applications', 'sync', app, true],
    ['platformAdmin', 'applications', 'delete', app, true],
    ['platformAdmin', 'applications', 'override', app, true],
    ['platformAdmin', 'logs', 'get', app, true],
  ]),
  ['platformAdmin', 'applications', 'create', 'payments/payment-dev', true],
  ...['create', 'update', 'delete'].flatMap((action): Case[] => [
    ['platformAdmin', 'projects', action, 'payments', true],
    ['platformAdmin', 'clusters', action, CLUSTER, true],
    ['platformAdmin', 'repositories', action, REPO, true],
  ]),
];

describe('Argo CD RBAC matrix (argocd-rbac-cm plus project roles, evaluated with casbin)', () => {
  const rbac = ArgoCdRbac.fromConfig(argoCdConfig());

  test.each(cases)('%s: %s %s %s -> %p', async (user, resource, action, object, allowed) => {
    await expect(rbac.can(users[user], { resource, action, object })).resolves.toBe(allowed);
  });

  test('a subject that is a group name but arrives as the user id gets nothing beyond that group', async () => {
    // Argo CD tries the subject and each group separately; a user called like a group gains its rights.
    const impostor: User = { sub: 'payments-developers', claims: { groups: [] } };
    await expect(
      rbac.can(impostor, {
        resource: 'applications',
        action: 'sync',
        object: 'payments/payment-prod',
      }),
    ).resolves.toBe(false);
  });
});

describe('the model follows Argo CD semantics', () => {
  function withPolicy(config: ArgoCdConfig, csv: string): ArgoCdRbac {
    config.rbacConfigMap.data = { ...config.rbacConfigMap.data, 'policy.csv': csv };
    return ArgoCdRbac.fromConfig(config);
  }

  test('an explicit deny wins over an allow for the same subject', async () => {
    const rbac = withPolicy(
      argoCdConfig(),
      [
        'p, ops, applications, sync, */*, allow',
        'p, ops, applications, sync, payments/*-prod, deny',
      ].join('\n'),
    );
    const ops = member('ops');
    await expect(
      rbac.can(ops, { resource: 'applications', action: 'sync', object: 'billing/antaeus-prod' }),
    ).resolves.toBe(true);
    await expect(
      rbac.can(ops, { resource: 'applications', action: 'sync', object: 'payments/payment-prod' }),
    ).resolves.toBe(false);
  });

  test('a policy.default role applies to every signed-in user', async () => {
    const config = argoCdConfig();
    config.rbacConfigMap.data = { ...config.rbacConfigMap.data, 'policy.default': 'role:readonly' };
    const rbac = ArgoCdRbac.fromConfig(config);
    await expect(
      rbac.can(users.nobody, {
        resource: 'applications',
        action: 'get',
        object: 'billing/antaeus-prod',
      }),
    ).resolves.toBe(true);
    await expect(
      rbac.can(users.nobody, {
        resource: 'applications',
        action: 'sync',
        object: 'billing/antaeus-prod',
      }),
    ).resolves.toBe(false);
  });

  test('groups are read only from the claims listed in scopes', async () => {
    const config = argoCdConfig();
    config.rbacConfigMap.data = { ...config.rbacConfigMap.data, scopes: '[roles]' };
    const rbac = ArgoCdRbac.fromConfig(config);
    await expect(
      rbac.can(users.platformAdmin, { resource: 'projects', action: 'delete', object: 'payments' }),
    ).resolves.toBe(false);
    const viaRoles: User = { sub: 'x', claims: { roles: ['platform-admins'] } };
    await expect(
      rbac.can(viaRoles, { resource: 'projects', action: 'delete', object: 'payments' }),
    ).resolves.toBe(true);
  });

  test('a broken policy line is reported with where it is and what is wrong', () => {
    expect(() => withPolicy(argoCdConfig(), 'p, ops, applications, sync, */*')).toThrow(
      /argocd-rbac-cm policy.csv:1: a p line needs subject, resource, action, object and effect/,
    );
    expect(() => withPolicy(argoCdConfig(), 'g, platform-admins\n')).toThrow(
      /policy.csv:1: a g line needs a member and a role/,
    );
    expect(() => withPolicy(argoCdConfig(), 'p, a, b, c, d, maybe')).toThrow(
      /effect must be allow or deny, not "maybe"/,
    );
  });
});

describe('guard against grants wider than the team model', () => {
  const project = (config: ArgoCdConfig, name: string): AppProject => {
    const found = config.projects.find((candidate) => candidate.metadata.name === name);
    if (found === undefined) throw new Error(`no AppProject ${name}`);
    return found;
  };
  const role = (config: ArgoCdConfig, projectName: string, roleName: string) => {
    const found = project(config, projectName).spec.roles?.find(
      (candidate) => candidate.name === roleName,
    );
    if (found === undefined) throw new Error(`no role ${roleName} in ${projectName}`);
    return found;
  };
  const appendCsv = (config: ArgoCdConfig, line: string) => {
    const data = config.rbacConfigMap.data ?? {};
    config.rbacConfigMap.data = { ...data, 'policy.csv': `${data['policy.csv'] ?? ''}${line}\n` };
  };

  test('the real configuration passes', () => {
    expect(findOverreachingGrants(argoCdConfig())).toEqual([]);
  });

  test('a payments/* grant inside the billing project is caught', () => {
    const config = argoCdConfig();
    role(config, 'billing', 'developer').policies?.push(
      'p, proj:billing:developer, applications, sync, payments/*, allow',
    );
    expect(findOverreachingGrants(config)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /AppProject billing role developer: .*object must be of form 'billing\/\*'/,
        ),
      ]),
    );
  });

  test('a global line letting payments developers sync billing apps is caught, and really grants it', async () => {
    const config = argoCdConfig();
    appendCsv(config, 'p, payments-developers, applications, sync, billing/*, allow');
    expect(findOverreachingGrants(config)).toEqual([
      expect.stringMatching(
        /group payments-developers \(project payments\): .*billing\/\*.* reaches objects outside project payments/,
      ),
    ]);
    const rbac = ArgoCdRbac.fromConfig(config);
    await expect(
      rbac.can(users.paymentsDeveloper, {
        resource: 'applications',
        action: 'sync',
        object: 'billing/antaeus-prod',
      }),
    ).resolves.toBe(true);
  });

  test('binding a team group to a built-in role is caught', () => {
    const config = argoCdConfig();
    appendCsv(config, 'g, billing-release, role:admin');
    const problems = findOverreachingGrants(config);
    expect(problems).toEqual(
      expect.arrayContaining(['group billing-release (project billing) is bound to role:admin']),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /billing-release .*"p, role:admin, clusters, delete, \*, allow".* reaches objects outside project billing/,
        ),
      ]),
    );
  });

  test('a team group bound to a role of the other team is caught', () => {
    const config = argoCdConfig();
    role(config, 'billing', 'developer').groups?.push('payments-developers');
    expect(findOverreachingGrants(config)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /group payments-developers \(project payments\): .*proj:billing:developer/,
        ),
      ]),
    );
  });

  test('a developer role that may sync prod is caught', () => {
    const config = argoCdConfig();
    role(config, 'payments', 'developer').policies?.push(
      'p, proj:payments:developer, applications, sync, payments/*, allow',
    );
    expect(findOverreachingGrants(config)).toEqual([
      expect.stringMatching(
        /developer group payments-developers: .* lets it sync prod app payment-prod/,
      ),
    ]);
  });

  test('a team role that touches projects or clusters is caught', () => {
    const config = argoCdConfig();
    appendCsv(config, 'g, payments-release, role:project-editor');
    appendCsv(config, 'p, role:project-editor, projects, update, payments, allow');
    expect(findOverreachingGrants(config)).toEqual([
      expect.stringMatching(/touches projects beyond reading payments/),
    ]);
  });

  test('a default role for everybody is caught', () => {
    const config = argoCdConfig();
    config.rbacConfigMap.data = { ...config.rbacConfigMap.data, 'policy.default': 'role:readonly' };
    expect(findOverreachingGrants(config)).toEqual([
      expect.stringMatching(/policy.default "role:readonly"/),
    ]);
  });
});
