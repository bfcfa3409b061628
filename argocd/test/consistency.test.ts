import { repoRoot } from '@internal/test-kit';
import type { Application, AppProject } from '../src/objects';
import { readRepositoryIdentity } from '../src/repository';
import { argoCdConfig } from './helpers';

const config = argoCdConfig();
const identity = readRepositoryIdentity(repoRoot());
const IN_CLUSTER = 'https://kubernetes.default.svc';
const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
const SERVICES = [
  { team: 'payments', service: 'payment' },
  { team: 'billing', service: 'antaeus' },
] as const;
const TEAM_PATH = /^deploy\/teams\/([a-z-]+)\/([a-z-]+)\/overlays\/([a-z-]+)$/;

const projectNamed = (name: string): AppProject => {
  const project = config.projects.find((candidate) => candidate.metadata.name === name);
  if (project === undefined) throw new Error(`no AppProject named ${name}`);
  return project;
};
const teamApps = config.applications.filter((app) => TEAM_PATH.test(app.spec.source.path));
const appLabel = (app: Application) => `${app.metadata.name} (${app.spec.source.path})`;

describe('Argo CD objects', () => {
  test('every object lives in the argocd namespace and names are unique per kind', () => {
    const keys = config.objects.map((obj) => `${obj.kind}/${obj.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(
      config.objects
        .filter((obj) => obj.metadata.namespace !== 'argocd')
        .map((obj) => obj.metadata.name),
    ).toEqual([]);
  });

  test('the projects are exactly argocd-config, default, platform, payments and billing', () => {
    expect(config.projects.map((project) => project.metadata.name).sort()).toEqual([
      'argocd-config',
      'billing',
      'default',
      'payments',
      'platform',
    ]);
  });

  test('the root app renders argocd/ in the argocd-config project and manages itself', () => {
    const root = config.applications.find((app) => app.metadata.name === 'root');
    expect(root?.spec).toMatchObject({
      project: 'argocd-config',
      source: { path: 'argocd', targetRevision: 'main' },
    });
    expect(root?.metadata.finalizers ?? []).toEqual([]);
  });

  test("Argo CD's ConfigMaps keep the labels Argo CD finds them by and survive pruning", () => {
    for (const name of ['argocd-cm', 'argocd-rbac-cm']) {
      const configMap = config.objects.find(
        (obj) => obj.kind === 'ConfigMap' && obj.metadata.name === name,
      );
      expect(configMap?.metadata.labels).toEqual({
        'app.kubernetes.io/name': name,
        'app.kubernetes.io/part-of': 'argocd',
      });
      expect(configMap?.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(
        'Prune=false,Delete=false',
      );
    }
  });

  test('argocd-rbac-cm has an empty default policy, reads SSO groups and makes platform-admins admins', () => {
    const data = config.rbacConfigMap.data ?? {};
    expect(data['policy.default']).toBe('');
    expect(data.scopes).toBe('[groups]');
    expect(data['policy.csv']?.trim().split('\n')).toEqual(['g, platform-admins, role:admin']);
  });
});

describe('the repository is named in one place', () => {
  test('scripts/repository.env names the repository every repoURL points at', () => {
    expect(identity.repoURL).toBe(`https://github.com/${identity.githubRepository}.git`);
    for (const app of config.applications)
      expect([app.metadata.name, app.spec.source.repoURL]).toEqual([
        app.metadata.name,
        identity.repoURL,
      ]);
  });

  // Whether Argo CD accepts each app's repoURL for its project is answered by the real Argo CD
  // (lab/test/bootstrap.test.ts: no InvalidSpecError); this checks the one-place rule only.
  test('every project but the locked default trusts only this repository, and every app clones it', () => {
    for (const project of config.projects.filter((p) => p.metadata.name !== 'default'))
      expect([project.metadata.name, project.spec.sourceRepos]).toEqual([
        project.metadata.name,
        [identity.repoURL],
      ]);
    for (const app of config.applications) expect(app.spec.source.repoURL).toBe(identity.repoURL);
  });
});

describe('one Application per service per environment', () => {
  test.each(
    SERVICES.flatMap(({ team, service }) =>
      ENVIRONMENTS.map((env) => [team, service, env] as const),
    ),
  )('%s/%s %s', (team, service, env) => {
    const apps = teamApps.filter(
      (app) => app.spec.source.path === `deploy/teams/${team}/${service}/overlays/${env}`,
    );
    expect(apps.map((app) => app.metadata.name)).toEqual([`${service}-${env}`]);
    const [app] = apps as [Application];
    expect(app.spec.project).toBe(team);
    expect(app.spec.destination).toEqual({ server: IN_CLUSTER, namespace: `${team}-${env}` });
    expect(app.spec.source.targetRevision).toBe('main');
    expect(app.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': service,
      team,
      environment: env,
    });
  });

  test('no other Application renders a team path', () => {
    expect(teamApps).toHaveLength(SERVICES.length * ENVIRONMENTS.length);
    for (const app of teamApps) {
      const [, team, service] = TEAM_PATH.exec(app.spec.source.path) ?? [];
      expect(SERVICES).toContainEqual({ team, service });
    }
  });

  test.each(teamApps.map((app) => [appLabel(app), app] as const))(
    '%s: finalizer, no namespace creation, retry with backoff, automated sync',
    (_label, app) => {
      const env = app.spec.destination.namespace?.split('-').pop();
      expect(app.metadata.finalizers).toEqual([
        'resources-finalizer.argocd.argoproj.io/foreground',
      ]);
      expect(app.spec.syncPolicy?.syncOptions).toContain('CreateNamespace=false');
      expect(app.spec.syncPolicy?.syncOptions).not.toContain('CreateNamespace=true');
      expect(app.spec.syncPolicy?.retry).toEqual({
        limit: expect.any(Number),
        backoff: {
          duration: expect.any(String),
          factor: expect.any(Number),
          maxDuration: expect.any(String),
        },
      });
      expect(app.spec.syncPolicy?.automated).toEqual({
        enabled: true,
        prune: env !== 'prod',
        selfHeal: true,
      });
    },
  );
});

describe('projects confine each team', () => {
  const FORBIDDEN_TEAM_KINDS = [
    'NetworkPolicy',
    'ResourceQuota',
    'LimitRange',
    'Role',
    'RoleBinding',
    'Namespace',
    'Secret',
  ];

  test.each(['payments', 'billing'])(
    '%s: only its own namespaces, no cluster-scoped kinds, no platform kinds',
    (team) => {
      const { spec } = projectNamed(team);
      expect(spec.destinations).toEqual(
        ENVIRONMENTS.map((env) => ({ server: IN_CLUSTER, namespace: `${team}-${env}` })),
      );
      expect(spec.clusterResourceWhitelist ?? []).toEqual([]);
      expect(spec.namespaceResourceBlacklist).toBeUndefined();
      const kinds = (spec.namespaceResourceWhitelist ?? []).map((groupKind) => groupKind.kind);
      expect(
        kinds.filter((kind) => FORBIDDEN_TEAM_KINDS.includes(kind) || kind.includes('*')),
      ).toEqual([]);
      expect(
        (spec.namespaceResourceWhitelist ?? []).filter((groupKind) =>
          groupKind.group.includes('*'),
        ),
      ).toEqual([]);
      expect(spec.orphanedResources?.warn).toBe(true);
    },
  );

  test.each(['payments', 'billing'])(
    '%s: roles are bound to the SSO groups of the team',
    (team) => {
      const roles = projectNamed(team).spec.roles ?? [];
      expect(roles.map((role) => [role.name, role.groups])).toEqual([
        ['developer', [`${team}-developers`]],
        ['release', [`${team}-release`]],
      ]);
    },
  );

  test.each(['payments', 'billing'])(
    '%s: the sync window holds automatic prod syncs to working hours and lets people sync by hand',
    (team) => {
      const windows = projectNamed(team).spec.syncWindows ?? [];
      expect(windows).toHaveLength(1);
      const [window] = windows as [NonNullable<AppProject['spec']['syncWindows']>[number]];
      expect(window).toMatchObject({
        kind: 'allow',
        manualSync: true,
        schedule: '0 8 * * 1-5',
        duration: '10h',
      });
      // Which apps the pattern selects is answered by the real Argo CD (lab/test/bootstrap.test.ts).
      expect(window.applications).toEqual(['*-prod']);
    },
  );

  test('only the platform project may create cluster-scoped kinds: namespaces and the deployer-token guard', () => {
    expect(projectNamed('platform').spec.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy' },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding' },
    ]);
    for (const app of config.applications) {
      expect([app.metadata.name, app.spec.syncPolicy?.syncOptions]).toEqual([
        app.metadata.name,
        expect.arrayContaining(['CreateNamespace=false']),
      ]);
    }
  });
});
