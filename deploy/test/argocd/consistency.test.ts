import path from 'node:path';
import { readCatalogue } from '@internal/catalogue';
import { VIEW_ONLY_KINDS } from '@internal/delivery';
import { kustomizeBuild, repoRoot } from '@internal/test-kit';
import type { AppProject } from '../support/argocd/objects';
import { readRepositoryIdentity } from '../support/argocd/repository';
import { elementsOf } from '../support/argocd/service-apps';
import { argoCdConfig } from '../support/argocd/helpers';

const config = argoCdConfig();
const identity = readRepositoryIdentity(repoRoot());
const catalogue = readCatalogue(repoRoot());
const IN_CLUSTER = 'https://kubernetes.default.svc';
const TEAMS = catalogue.teamNames();
const TEAM_PATH = /^deploy\/teams\//;

const projectNamed = (name: string): AppProject => {
  const project = config.projects.find((candidate) => candidate.metadata.name === name);
  if (project === undefined) throw new Error(`no AppProject named ${name}`);
  return project;
};
const appSetNamed = (name: string) => {
  const appSet = config.applicationSets.find((candidate) => candidate.metadata.name === name);
  if (appSet === undefined) throw new Error(`no ApplicationSet named ${name}`);
  return appSet;
};

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

  test("the projects are exactly argocd-config, default, platform and each catalogue team's", () => {
    expect(config.projects.map((project) => project.metadata.name).sort()).toEqual(
      ['argocd-config', 'default', 'platform', ...TEAMS].sort(),
    );
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
    for (const name of ['argocd-cm', 'argocd-rbac-cm', 'argocd-notifications-cm']) {
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
    for (const app of [
      ...config.applications,
      ...config.applicationSets.map((appSet) => appSet.spec.template),
    ])
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

describe('one ApplicationSet per team makes one Application per service per environment', () => {
  test('the ApplicationSets are exactly the catalogue teams, and no Application file renders a team path', () => {
    expect(config.applicationSets.map((appSet) => appSet.metadata.name)).toEqual(TEAMS);
    expect(
      config.applications
        .filter((app) => TEAM_PATH.test(app.spec.source.path))
        .map((app) => app.metadata.name),
    ).toEqual([]);
  });

  test.each(catalogue.teams.map((team) => [team.name, team] as const))(
    '%s: one element per catalogue service and environment, with its overlay and namespace',
    (_name, team) => {
      expect(elementsOf(appSetNamed(team.name))).toEqual(
        team.services.flatMap((service) =>
          catalogue.environments.map((env) => ({
            service: service.name,
            environment: env.name,
            namespace: catalogue.namespace(team.name, env.name),
            path: catalogue.overlayPath(service.name, env.name),
            generatePaths: expect.stringMatching(/^\//),
            autoSync: env.autoSync,
            prune: env.prune,
          })),
        ),
      );
    },
  );

  test.each(TEAMS)(
    '%s: the project is a literal of the template, never a value an element or a path provides',
    (team) => {
      const { spec } = appSetNamed(team);
      expect(spec.template.spec.project).toBe(team);
      expect(spec.generators.map((generator) => Object.keys(generator))).toEqual([['list']]);
      expect(spec.templatePatch ?? '').not.toMatch(/\b(project|destination|source|repoURL)\b/);
      for (const element of elementsOf(appSetNamed(team)))
        expect(projectNamed(team).spec.destinations).toContainEqual({
          server: IN_CLUSTER,
          namespace: element.namespace,
        });
    },
  );

  test.each(TEAMS)(
    '%s: Go templates with missingkey=error; an Application goes when its service leaves the catalogue',
    (team) => {
      const { metadata, spec } = appSetNamed(team);
      expect(spec.goTemplate).toBe(true);
      expect(spec.goTemplateOptions).toEqual(['missingkey=error']);
      expect(spec.syncPolicy).toEqual({
        preserveResourcesOnDeletion: true,
        applicationsSync: 'sync',
      });
      expect(metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe(
        'Prune=false,Delete=false',
      );
    },
  );

  test.each(TEAMS)(
    '%s: the finalizer only where the environment prunes, no namespace creation, retry with backoff, automated sync',
    (team) => {
      const { template, templatePatch } = appSetNamed(team).spec;
      expect(template.metadata.name).toBe('{{.service}}-{{.environment}}');
      // Deleting an Application deletes its resources only where the environment prunes.
      expect(template.metadata.finalizers).toBeUndefined();
      expect(templatePatch).toMatch(
        /\{\{- if \.prune \}\}\nmetadata:\n {2}finalizers:\n {4}- resources-finalizer\.argocd\.argoproj\.io\/foreground\n\{\{- end \}\}/,
      );
      expect(template.spec.destination).toEqual({
        server: IN_CLUSTER,
        namespace: '{{.namespace}}',
      });
      expect(template.spec.source).toEqual({
        repoURL: identity.repoURL,
        targetRevision: 'main',
        path: '{{.path}}',
      });
      expect(template.spec.syncPolicy?.syncOptions).toContain('CreateNamespace=false');
      // refresh: a retry syncs the newest commit, so a revert is not held behind a failed release.
      expect(template.spec.syncPolicy?.retry).toEqual({
        limit: expect.any(Number),
        refresh: true,
        backoff: {
          duration: expect.any(String),
          factor: expect.any(Number),
          maxDuration: expect.any(String),
        },
      });
      expect(template.spec.syncPolicy?.automated).toEqual({
        enabled: true,
        prune: true,
        selfHeal: true,
      });
      // What the real controller makes of the patch for prod is checked in the lab.
      expect(templatePatch).toContain('prune: {{ .prune }}');
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

  test.each(TEAMS)(
    '%s: only its own namespaces, no cluster-scoped kinds, no platform kinds',
    (team) => {
      const { spec } = projectNamed(team);
      expect(spec.destinations).toEqual(
        catalogue.namespacesOf(team).map((namespace) => ({ server: IN_CLUSTER, namespace })),
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

  // The project says what Argo CD may sync into the team's namespaces; the apps, what they sync.
  const renderedKinds = (team: string) => {
    const groupOf = (apiVersion: string) =>
      apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    const rendered = catalogue.services
      .filter((service) => service.team === team)
      .flatMap((service) =>
        catalogue
          .environmentNames()
          .flatMap((env) =>
            kustomizeBuild(path.join(repoRoot(), catalogue.overlayPath(service.name, env))),
          ),
      );
    return [...new Set(rendered.map(({ apiVersion, kind }) => `${groupOf(apiVersion)}/${kind}`))];
  };
  const whitelisted = (team: string) =>
    (projectNamed(team).spec.namespaceResourceWhitelist ?? []).map(
      ({ group, kind }) => `${group}/${kind}`,
    );

  test.each(TEAMS)(
    "%s: whitelists exactly the kinds its apps' overlays render, besides the view-only kinds",
    (team) => {
      expect(
        whitelisted(team)
          .filter((kind) => !VIEW_ONLY_KINDS.includes(kind))
          .sort(),
      ).toEqual(renderedKinds(team).sort());
    },
  );

  // Listed so that Argo CD's resource tree shows an app's ReplicaSets, pods, Jobs and analyses,
  // which it drops for kinds the project does not permit; argocd-deployer only reads them.
  test.each(TEAMS)(
    '%s: no overlay ships a view-only kind, and the project shows what it creates',
    (team) => {
      expect(renderedKinds(team).filter((kind) => VIEW_ONLY_KINDS.includes(kind))).toEqual([]);
      const creates = (owner: string, children: string[]) =>
        whitelisted(team).includes(owner) ? children : [];
      expect(
        whitelisted(team)
          .filter((kind) => VIEW_ONLY_KINDS.includes(kind))
          .sort(),
      ).toEqual(
        [
          ...new Set([
            ...creates('apps/Deployment', ['apps/ReplicaSet', '/Pod']),
            ...creates('apps/StatefulSet', ['/Pod']),
            ...creates('batch/CronJob', ['batch/Job', '/Pod']),
            ...creates('argoproj.io/Rollout', [
              'apps/ReplicaSet',
              '/Pod',
              'argoproj.io/AnalysisRun',
            ]),
          ]),
        ].sort(),
      );
    },
  );

  test("payments alone ships Argo Rollouts' Rollout and AnalysisTemplate (payment's canary) and sees its AnalysisRuns", () => {
    const argoRollouts = (team: string) =>
      (projectNamed(team).spec.namespaceResourceWhitelist ?? [])
        .filter(({ group }) => group === 'argoproj.io')
        .map(({ kind }) => kind);
    expect(Object.fromEntries(TEAMS.map((team) => [team, argoRollouts(team)]))).toEqual({
      payments: ['Rollout', 'AnalysisTemplate', 'AnalysisRun'],
      billing: [],
    });
  });

  test.each(TEAMS)('%s: roles are bound to the SSO groups of the team', (team) => {
    const roles = projectNamed(team).spec.roles ?? [];
    expect(roles.map((role) => [role.name, role.groups])).toEqual([
      ['developer', [`${team}-developers`]],
      ['release', [`${team}-release`]],
    ]);
  });

  test.each(TEAMS)(
    "%s: the catalogue's sync windows hold automatic syncs to their hours and let people sync by hand",
    (team) => {
      const windows = projectNamed(team).spec.syncWindows ?? [];
      // Which apps the pattern selects is answered by the real Argo CD (lab/test/bootstrap.test.ts).
      expect(
        windows.map(({ kind, manualSync, schedule, duration, timeZone, applications }) => ({
          kind,
          manualSync,
          schedule,
          duration,
          timeZone,
          applications,
        })),
      ).toEqual(
        catalogue.environments.flatMap((env) =>
          env.syncWindow === undefined
            ? []
            : [
                {
                  kind: 'allow',
                  manualSync: true,
                  ...env.syncWindow,
                  applications: [`*-${env.name}`],
                },
              ],
        ),
      );
    },
  );

  test('only the platform project may create cluster-scoped kinds: namespaces, the deployer guards, the internal CA issuers and the monitoring CRDs', () => {
    const whitelist = projectNamed('platform').spec.clusterResourceWhitelist ?? [];
    expect([...new Set(whitelist.map(({ group, kind }) => `${group}/${kind}`))]).toEqual([
      '/Namespace',
      'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
      'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
      'cert-manager.io/ClusterIssuer',
      'apiextensions.k8s.io/CustomResourceDefinition',
    ]);
    expect(
      whitelist.filter(({ kind }) => kind === 'ClusterIssuer').map(({ name }) => name),
    ).toEqual(['internal-ca-*']);
    expect(
      whitelist.filter(({ kind }) => kind === 'CustomResourceDefinition').map(({ name }) => name),
    ).toEqual(['servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']);
    for (const app of config.applications) {
      expect([app.metadata.name, app.spec.syncPolicy?.syncOptions]).toEqual([
        app.metadata.name,
        expect.arrayContaining(['CreateNamespace=false']),
      ]);
    }
  });
});

describe("the platform project's cluster-scoped objects, by name", () => {
  const whitelist = projectNamed('platform').spec.clusterResourceWhitelist ?? [];
  /** Argo CD's isNamedResourceInList: Go's filepath.Match on the name; no name matches all. */
  const permitted = (kind: string, name: string) =>
    whitelist.some(
      (item) =>
        item.kind === kind &&
        (item.name === undefined ||
          new RegExp(`^${item.name.replaceAll('*', '[^/]*').replaceAll('?', '[^/]')}$`).test(name)),
    );
  const platform = kustomizeBuild(path.join(repoRoot(), 'deploy', 'platform'));

  test('every entry names its objects', () => {
    expect(whitelist.filter((item) => item.name === undefined)).toEqual([]);
  });

  test("permits exactly catalogue.yaml's namespaces", () => {
    const namespaces = TEAMS.flatMap((team) => catalogue.namespacesOf(team));
    expect(
      whitelist
        .filter((item) => item.kind === 'Namespace')
        .map((item) => item.name)
        .sort(),
    ).toEqual([...namespaces].sort());
  });

  test('permits every cluster-scoped object deploy/platform renders', () => {
    const clusterScoped = platform.filter((obj) => obj.metadata.namespace === undefined);
    expect(clusterScoped.length).toBeGreaterThan(0);
    for (const obj of clusterScoped)
      expect([obj.kind, obj.metadata.name, permitted(obj.kind, obj.metadata.name)]).toEqual([
        obj.kind,
        obj.metadata.name,
        true,
      ]);
  });

  test.each([
    ['Namespace', 'argocd'],
    ['Namespace', 'kube-system'],
    // A team's namespace in an environment the catalogue does not list.
    ['Namespace', `${TEAMS[0]}-qa`],
    ['ValidatingAdmissionPolicy', 'argocd-lockdown'],
    ['ValidatingAdmissionPolicyBinding', 'argocd-lockdown'],
    ['ClusterRole', `deployer-token-guard-${catalogue.environmentNames()[0]}`],
  ])('refuses %s %s', (kind, name) => {
    expect(permitted(kind, name)).toBe(false);
  });
});
