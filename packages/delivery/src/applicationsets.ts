import fs from 'node:fs';
import path from 'node:path';
import {
  renderedDirectories,
  type Catalogue,
  type Environment,
  type Team,
} from '@internal/catalogue';
import YAML from 'yaml';
import { DeliveryError } from './errors';
import { generatedHeader, type Generated } from './generator';
import type { Repository } from './repository';

// What argocd/ derives from catalogue.yaml: one Argo CD ApplicationSet per team
// (argocd/applicationsets/<team>.yaml) and the kustomization listing them, one platform
// Application per environment (argocd/applications/platform/platform-<env>.yaml), the platform
// AppProject and argocd/kustomization.yaml, so no team or environment is listed by hand there.
// An ApplicationSet has one list element per service and environment, with the overlay path,
// namespace and manifest-generate-paths worked out here. The team's project is a literal in each
// template, never a value from a list element or a path a team can write.

const OUT_DIR = 'argocd/applicationsets';
const PLATFORM_APPS_DIR = 'argocd/applications/platform';
const IN_CLUSTER = 'https://kubernetes.default.svc';
/** Where cert-manager keeps the CA keys of ClusterIssuers (its cluster resource namespace), as
 * deploy/platform/internal-ca puts the CAs' Certificates. */
export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The cluster's monitoring stack (lab/scripts/monitoring runs it): the Prometheus Operator and
 * its Prometheus, to which the platform's monitoring Roles in the team namespaces are bound
 * (deploy/platform/namespace-base/monitoring.yaml, deploy/platform/components/<team>/monitoring.yaml). */
export const MONITORING_SERVICE_ACCOUNTS = [
  'monitoring/prometheus',
  'monitoring/prometheus-operator',
];
const GENERATED = generatedHeader('catalogue.yaml');

/** What every generated Argo CD object is made from. */
interface ArgoCdSources {
  catalogue: Catalogue;
  /** The repository every Application clones. */
  repoURL: string;
  /** What a commit must touch to refresh the app of a kustomization directory. */
  generatePaths(dir: string): string;
}

// The repository every Application clones, from scripts/repository.env (as adopt-fork sets it).
function repoURL(repo: Repository): string {
  const env = fs.readFileSync(repo.path('scripts', 'repository.env'), 'utf8');
  const value = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(env)?.[1]?.trim();
  return value('REPOSITORY_URL') ?? `https://github.com/${value('GITHUB_REPOSITORY')}.git`;
}

// What a commit must touch to refresh the app: every directory its kustomization renders.
function generatePaths(repo: Repository, dir: string): string {
  let rendered: string[];
  try {
    rendered = renderedDirectories(repo.path(dir));
  } catch (error) {
    throw new DeliveryError((error as Error).message);
  }
  return rendered
    .map((absolute) => `/${path.relative(repo.root, absolute).split(path.sep).join('/')}`)
    .join(';');
}

function applicationSet(argocd: ArgoCdSources, team: Team) {
  const { catalogue } = argocd;
  const elements = team.services.flatMap((service) =>
    catalogue.environments.map((env) => {
      const overlay = catalogue.overlayPath(service.name, env.name);
      return {
        service: service.name,
        environment: env.name,
        namespace: catalogue.namespace(team.name, env.name),
        path: overlay,
        generatePaths: argocd.generatePaths(overlay),
        autoSync: env.autoSync,
        prune: env.prune,
      };
    }),
  );
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: {
      name: team.name,
      namespace: 'argocd',
      labels: { 'app.kubernetes.io/part-of': 'payments-platform', team: team.name },
      annotations: {
        // Root never prunes or deletes an ApplicationSet: that would delete every app it made.
        'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      },
    },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      // A service that leaves the catalogue (npm run remove-service) loses its Applications; the
      // finalizer below then deletes their resources, except where the environment never prunes
      // by itself (prod): there the objects stay, orphaned, for the release group to remove.
      // preserveResourcesOnDeletion keeps the controller from giving every Application a
      // resources finalizer of its own (it does when the template has none, as prod's has not).
      syncPolicy: { preserveResourcesOnDeletion: true, applicationsSync: 'sync' },
      generators: [{ list: { elements } }],
      template: {
        metadata: {
          name: '{{.service}}-{{.environment}}',
          labels: {
            'app.kubernetes.io/name': '{{.service}}',
            'app.kubernetes.io/part-of': 'payments-platform',
            team: team.name,
            environment: '{{.environment}}',
          },
          annotations: { 'argocd.argoproj.io/manifest-generate-paths': '{{.generatePaths}}' },
        },
        spec: {
          project: team.name,
          source: { repoURL: argocd.repoURL, targetRevision: 'main', path: '{{.path}}' },
          destination: { server: IN_CLUSTER, namespace: '{{.namespace}}' },
          syncPolicy: {
            automated: { enabled: true, prune: true, selfHeal: true },
            syncOptions: ['CreateNamespace=false', 'FailOnSharedResource=true', 'PruneLast=true'],
            // A retry takes the newest commit: a sync that fails on a release (a canary its
            // analysis aborted) would otherwise be retried on that release while its revert waits.
            retry: {
              limit: 5,
              refresh: true,
              backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
            },
          },
          revisionHistoryLimit: 10,
        },
      },
      // Booleans cannot come from a string template field: an environment that does not sync by
      // itself or does not prune (prod) gets them here, and only one that prunes gets the
      // finalizer that deletes an Application's resources with it.
      templatePatch: [
        '{{- if .prune }}',
        'metadata:',
        '  finalizers:',
        '    - resources-finalizer.argocd.argoproj.io/foreground',
        '{{- end }}',
        '{{- if or (not .autoSync) (not .prune) }}',
        'spec:',
        '  syncPolicy:',
        '    automated:',
        '      enabled: {{ .autoSync }}',
        '      prune: {{ .prune }}',
        '{{- end }}',
        '',
      ].join('\n'),
    },
  };
}

const HEADER = (team: string) => `${GENERATED}
# One Application per ${team} service per environment (<service>-<env>), always in the ${team}
# project: the project, repository and template are fixed here, and the list elements come from
# the platform-owned catalogue. A service removed from the catalogue loses its Applications and,
# where its environment prunes, their resources; prod's stay for the release group to remove.
`;

// How every platform Application syncs after its automated settings: never creating a namespace
// or taking an object another Application holds, and retrying a failed sync.
const PLATFORM_SYNC_TAIL = `    syncOptions:
      - CreateNamespace=false
      - FailOnSharedResource=true
    retry:
      limit: 5
      backoff:
        duration: 10s
        factor: 2
        maxDuration: 3m
  revisionHistoryLimit: 10
`;

// The platform layer of one environment. Its sync window, if any, is the platform project's.
function platformApplication(argocd: ArgoCdSources, env: Environment) {
  const dir = `deploy/platform/${env.name}`;
  const windowed = env.syncWindow
    ? "    # Automated only inside the platform project's sync window (like the services' apps).\n"
    : '';
  return `${GENERATED}
# Namespaces, quotas, network policies and team RBAC of the ${env.name} environment (${dir}).
# One Application per environment, so a platform change reaches the next one only when promoted.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: platform-${env.name}
  namespace: argocd
  labels:
    app.kubernetes.io/part-of: payments-platform
    team: platform
    environment: ${env.name}
  annotations:
    argocd.argoproj.io/manifest-generate-paths: ${argocd.generatePaths(dir)}
    # Created before the team apps, whose namespaces it provides.
    argocd.argoproj.io/sync-wave: '-1'
  # No resources finalizer on purpose: deleting this Application must never delete the namespaces
  # and everything running in them.
spec:
  project: platform
  source:
    repoURL: ${argocd.repoURL}
    targetRevision: main
    path: ${dir}
  destination:
    server: ${IN_CLUSTER}
  syncPolicy:
${windowed}    automated:
      enabled: ${env.autoSync}
      # Pruning here could delete a namespace and everything in it: removals are synced by hand.
      prune: false
      selfHeal: true
${PLATFORM_SYNC_TAIL}`;
}

// The CRDs of the kinds the teams' bases ship for monitoring (ServiceMonitor, PrometheusRule):
// cluster-scoped and shared by every environment, so one Application of their own; three
// environment apps holding them would fail on FailOnSharedResource.
const MONITORING_CRDS_DIR = 'deploy/platform/monitoring-crds';
const MONITORING_CRDS = [
  'servicemonitors.monitoring.coreos.com',
  'prometheusrules.monitoring.coreos.com',
];
function monitoringCrdsApplication(argocd: ArgoCdSources) {
  return `${GENERATED}
# The ServiceMonitor and PrometheusRule CRDs (${MONITORING_CRDS_DIR}), for every environment at
# once: the team apps ship objects of these kinds, so the CRDs exist first.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: platform-monitoring-crds
  namespace: argocd
  labels:
    app.kubernetes.io/part-of: payments-platform
    team: platform
  annotations:
    argocd.argoproj.io/manifest-generate-paths: ${argocd.generatePaths(MONITORING_CRDS_DIR)}
    argocd.argoproj.io/sync-wave: '-1'
  # No resources finalizer on purpose: deleting a CRD deletes every object of its kind, in every
  # environment.
spec:
  project: platform
  source:
    repoURL: ${argocd.repoURL}
    targetRevision: main
    path: ${MONITORING_CRDS_DIR}
  destination:
    server: ${IN_CLUSTER}
  syncPolicy:
    automated:
      enabled: true
      # A CRD removed from Git is removed from the cluster by hand, never by a sync.
      prune: false
      selfHeal: true
${PLATFORM_SYNC_TAIL}`;
}

// Every team namespace of every environment: the only namespaces the platform apps may write,
// and the only Namespace objects they may create.
function teamNamespaces(catalogue: Catalogue): string[] {
  return catalogue.teams.flatMap((team) => catalogue.namespacesOf(team.name));
}

function platformProject({ catalogue, repoURL }: ArgoCdSources) {
  const namespaces = teamNamespaces(catalogue);
  const destinations = namespaces
    .map((ns) => `    - server: ${IN_CLUSTER}\n      namespace: ${ns}\n`)
    .join('');
  const namespaceObjects = namespaces
    .map((ns) => `    - group: ''\n      kind: Namespace\n      name: ${ns}\n`)
    .join('');
  // Each environment with a sync window: the environments the platform project restricts.
  const windows = catalogue.environments
    .map(({ name, syncWindow }) =>
      syncWindow
        ? `    - kind: allow
      description: Automatic ${name} syncs only inside its window in catalogue.yaml
      schedule: '${syncWindow.schedule}'
      duration: ${syncWindow.duration}
      timeZone: ${syncWindow.timeZone}
      applications:
        - platform-${name}
      manualSync: true
`
        : '',
    )
    .join('');
  const syncWindows = windows
    ? `  syncWindows:
    # The platform layer is promoted like a service: an environment with a sync window syncs by
    # itself only inside it, and a platform admin may sync it by hand at any time.
${windows}`
    : '';
  return `${GENERATED}
# The platform team's project: the cluster foundations the team projects may not ship
# (deploy/platform: namespaces, quotas, network policy, team RBAC). It cannot write the argocd
# namespace or any Argo CD kind; Argo CD's own configuration is the argocd-config project's.
# Only platform-admins act on it: it has no roles, so no team group is granted anything here.
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: platform
  namespace: argocd
  labels:
    app.kubernetes.io/part-of: payments-platform
    team: platform
  annotations:
    argocd.argoproj.io/sync-wave: '-2'
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  description: Argo CD configuration, namespaces, quotas, network policy and team RBAC (team platform)
  sourceRepos:
    - ${repoURL}
  destinations:
    # The platform apps name no destination namespace: every object they render names its own,
    # and Argo CD still checks each object's namespace against the entries below.
    - server: ${IN_CLUSTER}
      namespace: ''
${destinations}    # Each environment's internal CA Certificate (deploy/platform/internal-ca): cert-manager keeps
    # the keys of ClusterIssuers in its cluster resource namespace.
    - server: ${IN_CLUSTER}
      namespace: ${CERT_MANAGER_NAMESPACE}
  # The platform's own syncs create namespaces and RBAC, so they run as Argo CD's controller.
  destinationServiceAccounts:
    - server: ${IN_CLUSTER}
      namespace: '*'
      defaultServiceAccount: argocd:argocd-application-controller
  # Cluster-scoped objects by name too (Argo CD v3.5 and later; a glob, Go's filepath.Match), so
  # the platform apps cannot create or delete a namespace outside catalogue.yaml's (argocd,
  # kube-system) or an admission policy of another owner. npm run check:manifests refuses the
  # same in the rendered layer; deploy/test/argocd/consistency.test.ts keeps the two in step.
  clusterResourceWhitelist:
${namespaceObjects}    # The deployer guards, one per environment (deploy/platform/deployer-guard, named -<env>).
    - group: admissionregistration.k8s.io
      kind: ValidatingAdmissionPolicy
      name: deployer-*-guard-*
    - group: admissionregistration.k8s.io
      kind: ValidatingAdmissionPolicyBinding
      name: deployer-*-guard-*
    # Each environment's internal CA issuers (deploy/platform/internal-ca, named -<env>).
    - group: cert-manager.io
      kind: ClusterIssuer
      name: internal-ca-*
    # The teams' monitoring kinds (${MONITORING_CRDS_DIR}), and no other CRD.
${MONITORING_CRDS.map((name) => `    - group: apiextensions.k8s.io\n      kind: CustomResourceDefinition\n      name: ${name}\n`).join('')}  namespaceResourceWhitelist:
    - group: ''
      kind: ServiceAccount
    - group: ''
      kind: ResourceQuota
    - group: ''
      kind: LimitRange
    - group: networking.k8s.io
      kind: NetworkPolicy
    - group: rbac.authorization.k8s.io
      kind: Role
    - group: rbac.authorization.k8s.io
      kind: RoleBinding
    - group: cert-manager.io
      kind: Certificate
  # No orphaned-resource monitoring: the platform apps have no destination namespace; each team
  # namespace's orphans are reported by the team project that deploys there.
${syncWindows}`;
}

// Everything the root Application syncs from argocd/: Argo CD's own projects and configuration,
// then what the catalogue's teams and environments need.
function rootKustomization(catalogue: Catalogue) {
  return `${GENERATED}
# Everything the root Application syncs from argocd/.
${YAML.stringify({
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: [
    'bootstrap/root-app.yaml',
    'projects/argocd-config.yaml',
    'projects/default.yaml',
    'projects/platform.yaml',
    ...catalogue.teams.map((team) => `projects/${team.name}.yaml`),
    'platform/argocd-cm.yaml',
    'platform/argocd-rbac-cm.yaml',
    'platform/argocd-notifications-cm.yaml',
    ...catalogue.environments.map((env) => `applications/platform/platform-${env.name}.yaml`),
    'applications/platform/platform-monitoring-crds.yaml',
    // One ApplicationSet per team: the service Applications.
    'applicationsets',
  ],
})}`;
}

/** The ApplicationSets, platform Applications and project, and argocd/kustomization.yaml. */
export function applicationSets(repo: Repository): Generated {
  const { catalogue } = repo;
  const argocd: ArgoCdSources = {
    catalogue,
    repoURL: repoURL(repo),
    generatePaths: (dir) => generatePaths(repo, dir),
  };
  const files = new Map<string, string>();
  for (const team of catalogue.teams) {
    files.set(
      `${OUT_DIR}/${team.name}.yaml`,
      `${HEADER(team.name)}${YAML.stringify(applicationSet(argocd, team), { lineWidth: 0, aliasDuplicateObjects: false })}`,
    );
  }
  files.set(
    `${OUT_DIR}/kustomization.yaml`,
    `${GENERATED}
${YAML.stringify({
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: catalogue.teams.map((team) => `${team.name}.yaml`),
})}`,
  );
  for (const env of catalogue.environments)
    files.set(`${PLATFORM_APPS_DIR}/platform-${env.name}.yaml`, platformApplication(argocd, env));
  files.set(
    `${PLATFORM_APPS_DIR}/platform-monitoring-crds.yaml`,
    monitoringCrdsApplication(argocd),
  );
  files.set('argocd/projects/platform.yaml', platformProject(argocd));
  files.set('argocd/kustomization.yaml', rootKustomization(catalogue));
  // Every file in these folders is generated: one the catalogue no longer lists is a removed
  // team's or environment's.
  const previous = [OUT_DIR, PLATFORM_APPS_DIR].flatMap((dir) =>
    fs.existsSync(repo.path(dir))
      ? fs.readdirSync(repo.path(dir)).map((file) => `${dir}/${file}`)
      : [],
  );
  return { label: 'argocd', source: 'catalogue.yaml', files, previous };
}
