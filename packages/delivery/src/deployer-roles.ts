import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { DeliveryError } from './errors';
import { generatedHeader, type Generated } from './generator';
import type { Repository } from './repository';

// Each team's `argocd-deployer` Role (deploy/platform/components/<team>/deployer-role.yaml), from
// the one source of what the team may ship: its AppProject's namespaceResourceWhitelist in
// argocd/projects/<team>.yaml. The Role Argo CD impersonates can then never be wider or narrower
// than the project.

const PROJECTS_DIR = 'argocd/projects';
// The API resource of each kind a team may ship. A kind missing here is an error, not a guess.
const RESOURCES: Record<string, string> = {
  'apps/Deployment': 'deployments',
  'apps/StatefulSet': 'statefulsets',
  '/Service': 'services',
  '/ServiceAccount': 'serviceaccounts',
  '/ConfigMap': 'configmaps',
  '/PersistentVolumeClaim': 'persistentvolumeclaims',
  'autoscaling/HorizontalPodAutoscaler': 'horizontalpodautoscalers',
  'policy/PodDisruptionBudget': 'poddisruptionbudgets',
  'networking.k8s.io/Ingress': 'ingresses',
  'batch/CronJob': 'cronjobs',
  'monitoring.coreos.com/ServiceMonitor': 'servicemonitors',
  'monitoring.coreos.com/PrometheusRule': 'prometheusrules',
  'bitnami.com/SealedSecret': 'sealedsecrets',
  'cert-manager.io/Certificate': 'certificates',
  'argoproj.io/Rollout': 'rollouts',
  'argoproj.io/AnalysisTemplate': 'analysistemplates',
};
// Kinds a project lists only so that Argo CD shows them: its resource tree drops every child whose
// kind the project does not permit, so without these an app shows no ReplicaSet, pod, Job or
// canary analysis. No team ships them: the Role only reads them (HEALTH_VIEWS), so Kubernetes
// refuses one committed to Git, and the deploy tests refuse one in an overlay.
export const VIEW_ONLY_KINDS = ['apps/ReplicaSet', '/Pod', 'batch/Job', 'argoproj.io/AnalysisRun'];
const WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
// Read-only views Argo CD needs to report health: what the shipped kinds create.
const HEALTH_VIEWS = [
  { apiGroups: [''], resources: ['pods', 'events', 'endpoints'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
  {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['get', 'list', 'watch'],
  },
  // A Rollout's analysis runs, whose failure is why the Rollout aborts.
  { apiGroups: ['argoproj.io'], resources: ['analysisruns'], verbs: ['get', 'list', 'watch'] },
];

/** The fields of an AppProject this generator reads. */
interface AppProject {
  metadata: { name: string };
  spec: {
    namespaceResourceWhitelist?: { group: string; kind: string }[];
    destinationServiceAccounts?: { defaultServiceAccount?: string }[];
  };
}

function roleText(file: string, project: AppProject): string {
  const team = project.metadata.name;
  const byGroup = new Map<string, string[]>();
  for (const { group, kind } of project.spec.namespaceResourceWhitelist ?? []) {
    if (VIEW_ONLY_KINDS.includes(`${group}/${kind}`)) continue;
    const resource = RESOURCES[`${group}/${kind}`];
    if (!resource)
      throw new DeliveryError(
        `${file}: namespaceResourceWhitelist kind "${group}/${kind}" has no API resource in packages/delivery/src/deployer-roles.ts`,
      );
    byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  const rules = [...byGroup].map(([group, resources]) => ({
    apiGroups: [group],
    resources,
    verbs: WRITE,
  }));
  return `${generatedHeader(`${PROJECTS_DIR}/${team}.yaml`)}
# The identity Argo CD impersonates to sync a ${team} namespace may write exactly the kinds the
# ${team} AppProject whitelists to ship, and read what those create so Argo CD can report health
# and show them (the project's view-only kinds).
${YAML.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'argocd-deployer' }, rules: [...rules, ...HEALTH_VIEWS] }, { aliasDuplicateObjects: false })}`;
}

/** The Role of every team project, the ones whose syncs run as argocd-deployer. */
export function deployerRoles(repo: Repository): Generated {
  const files = new Map<string, string>();
  for (const name of fs.readdirSync(repo.path(PROJECTS_DIR))) {
    const file = path.join(repo.root, PROJECTS_DIR, name);
    const project = YAML.parse(fs.readFileSync(file, 'utf8')) as AppProject;
    const deploysAsTeam = (project.spec.destinationServiceAccounts ?? []).some(
      (entry) => entry.defaultServiceAccount === 'argocd-deployer',
    );
    if (!deploysAsTeam) continue;
    const target = `deploy/platform/components/${project.metadata.name}/deployer-role.yaml`;
    if (!fs.existsSync(repo.path(path.dirname(target))))
      throw new DeliveryError(`${target}: no platform component for team ${project.metadata.name}`);
    files.set(target, roleText(file, project));
  }
  return { label: 'deployer Roles', source: PROJECTS_DIR, files };
}
