import path from 'node:path';
import { VIEW_ONLY_KINDS } from '@internal/delivery';
import { kustomizeBuild, repoRoot, type K8sObject } from '@internal/test-kit';
import type { AppProject } from '../support/argocd/objects';
import { argoCdConfig } from '../support/argocd/helpers';

type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[] };
type Subject = { kind: string; name: string; namespace?: string };
type RoleBinding = K8sObject & { roleRef: { kind: string; name: string }; subjects?: Subject[] };

const WRITE_VERBS = ['create', 'update', 'patch', 'delete'];
// What a team sync must never be able to write, whatever the project whitelist says.
const PLATFORM_RESOURCES = [
  'rbac.authorization.k8s.io/roles',
  'rbac.authorization.k8s.io/rolebindings',
  'networking.k8s.io/networkpolicies',
  '/secrets',
  '/resourcequotas',
  '/limitranges',
  '/namespaces',
];

const config = argoCdConfig();
// The platform's own projects sync as the controller; default deploys nothing.
const teamProjects = config.projects.filter(
  (project) => !['platform', 'argocd-config', 'default'].includes(project.metadata.name),
);
const argocdCm = config.objects.find(
  (obj) => obj.kind === 'ConfigMap' && obj.metadata.name === 'argocd-cm',
);

const resourceOf = (kind: string) => {
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
};

/** `group/resource` pairs the rules let a subject create, update, patch or delete. */
function writable(rules: Rule[]): Set<string> {
  const granted = new Set<string>();
  for (const rule of rules) {
    if (!(rule.verbs ?? []).some((verb) => verb === '*' || WRITE_VERBS.includes(verb))) continue;
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) granted.add(`${group}/${resource}`);
    }
  }
  return granted;
}

describe('team syncs run as a namespace ServiceAccount that Kubernetes RBAC confines', () => {
  const platform = kustomizeBuild(path.join(repoRoot(), 'deploy', 'platform'));

  test('impersonation is switched on in argocd-cm', () => {
    expect(
      argocdCm?.kind === 'ConfigMap' && argocdCm.data?.['application.sync.impersonation.enabled'],
    ).toBe('true');
  });

  test.each(teamProjects.map((project) => [project.metadata.name, project] as const))(
    '%s: every destination has its own ServiceAccount, and there is no catch-all',
    (_name, project: AppProject) => {
      const accounts = project.spec.destinationServiceAccounts ?? [];
      expect(accounts.map(({ server, namespace }) => ({ server, namespace }))).toEqual(
        project.spec.destinations,
      );
      expect(accounts.filter((account) => account.defaultServiceAccount.includes(':'))).toEqual([]);
    },
  );

  const bindings = teamProjects.flatMap((project) =>
    (project.spec.destinationServiceAccounts ?? []).map(
      (account) =>
        [
          `${project.metadata.name} -> ${account.namespace}/${account.defaultServiceAccount}`,
          project,
          account.namespace,
          account.defaultServiceAccount,
        ] as const,
    ),
  );

  test.each(bindings)(
    '%s may write every kind the project ships, none it only shows and none the platform owns',
    (_label, project, namespace, account) => {
      const inNamespace = platform.filter((obj) => obj.metadata.namespace === namespace);
      expect(
        inNamespace.filter((obj) => obj.kind === 'ServiceAccount' && obj.metadata.name === account),
      ).toHaveLength(1);
      const roleNames = inNamespace
        .filter((obj): obj is RoleBinding => obj.kind === 'RoleBinding')
        .filter((binding) =>
          (binding.subjects ?? []).some(
            (subject) =>
              subject.kind === 'ServiceAccount' &&
              subject.name === account &&
              (subject.namespace ?? namespace) === namespace,
          ),
        )
        .map((binding) => {
          expect(binding.roleRef.kind).toBe('Role');
          return binding.roleRef.name;
        });
      expect(roleNames.length).toBeGreaterThan(0);
      const rules = inNamespace
        .filter((obj) => obj.kind === 'Role' && roleNames.includes(obj.metadata.name))
        .flatMap((role) => (role as K8sObject & { rules?: Rule[] }).rules ?? []);
      const granted = writable(rules);
      const whitelist = project.spec.namespaceResourceWhitelist ?? [];
      const resources = (viewOnly: boolean) =>
        whitelist
          .filter(({ group, kind }) => VIEW_ONLY_KINDS.includes(`${group}/${kind}`) === viewOnly)
          .map(({ group, kind }) => `${group}/${resourceOf(kind)}`);
      expect(resources(false).filter((resource) => !granted.has(resource))).toEqual([]);
      // Shown by Argo CD, never written: a pod committed to Git is refused by Kubernetes.
      expect(resources(true).filter((resource) => granted.has(resource))).toEqual([]);
      expect(
        [...granted].filter(
          (resource) => PLATFORM_RESOURCES.includes(resource) || resource.includes('*'),
        ),
      ).toEqual([]);
    },
  );
});
