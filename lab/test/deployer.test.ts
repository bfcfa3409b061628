import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { parse } from 'yaml';
import { VIEW_ONLY_KINDS } from '@internal/delivery';
import { kubectl, run } from './support/lab';
import { deploymentImage } from './support/node';

// What each team's argocd-deployer may do, asked of the real API server's RBAC, against the one
// source of truth: the team's AppProject whitelist.
const RESOURCES: Record<string, string> = {
  Deployment: 'deployments.apps',
  StatefulSet: 'statefulsets.apps',
  Service: 'services',
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers.autoscaling',
  PodDisruptionBudget: 'poddisruptionbudgets.policy',
  Ingress: 'ingresses.networking.k8s.io',
  CronJob: 'cronjobs.batch',
  Rollout: 'rollouts.argoproj.io',
  AnalysisTemplate: 'analysistemplates.argoproj.io',
};
// Kinds no team may write, whatever its project says.
const PLATFORM_ONLY = [
  'secrets',
  'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'networkpolicies.networking.k8s.io',
  'resourcequotas',
  'limitranges',
  'pods',
];

// What the shipped kinds create, which the project lists only so that Argo CD shows them.
const VIEW_ONLY: Record<string, string> = {
  ReplicaSet: 'replicasets.apps',
  Pod: 'pods',
  Job: 'jobs.batch',
  AnalysisRun: 'analysisruns.argoproj.io',
};

/** The project's whitelist as API resources: the kinds it ships, or those it only shows. */
const whitelist = (team: string, viewOnly = false): string[] => {
  const project = parse(
    fs.readFileSync(path.join(repoRoot(), 'argocd', 'projects', `${team}.yaml`), 'utf8'),
  ) as {
    spec: { namespaceResourceWhitelist: { group: string; kind: string }[] };
  };
  return project.spec.namespaceResourceWhitelist
    .map(({ group, kind }) => `${group}/${kind}`)
    .filter((groupKind) => VIEW_ONLY_KINDS.includes(groupKind) === viewOnly)
    .map((groupKind) => {
      const kind = groupKind.split('/')[1]!;
      return (viewOnly ? VIEW_ONLY : RESOURCES)[kind] ?? kind;
    });
};

const canI = (namespace: string, verb: string, resource: string) =>
  run('kubectl', [
    'auth',
    'can-i',
    verb,
    resource,
    '-n',
    namespace,
    `--as=system:serviceaccount:${namespace}:argocd-deployer`,
  ]).stdout.trim() === 'yes';

describe.each([
  ['payments', 'payments-dev'],
  ['billing', 'billing-staging'],
])(
  "%s's argocd-deployer Role is exactly its project's whitelist (real RBAC, %s)",
  (team, namespace) => {
    const allowed = whitelist(team);
    const others = Object.values(RESOURCES).filter((resource) => !allowed.includes(resource));

    test.each(allowed)('may create and delete %s', (resource) => {
      expect([
        resource,
        canI(namespace, 'create', resource),
        canI(namespace, 'delete', resource),
      ]).toEqual([resource, true, true]);
    });
    test.each(whitelist(team, true))(
      'may read %s, which its project only shows, but not create it',
      (resource) => {
        expect([
          resource,
          canI(namespace, 'list', resource),
          canI(namespace, 'create', resource),
        ]).toEqual([resource, true, false]);
      },
    );
    test('may not write a kind another team ships or the platform owns', () => {
      const granted = [...others, ...PLATFORM_ONLY].filter((resource) =>
        canI(namespace, 'create', resource),
      );
      expect(granted).toEqual([]);
    });
    test('may not touch another namespace', () => {
      const other = namespace.startsWith('payments') ? 'billing-dev' : 'payments-dev';
      expect(
        run('kubectl', [
          'auth',
          'can-i',
          'create',
          'deployments.apps',
          '-n',
          other,
          `--as=system:serviceaccount:${namespace}:argocd-deployer`,
        ]).stdout.trim(),
      ).toBe('no');
    });
  },
);

// A pod that meets the restricted profile and runs the image the lab built and signed (the team
// namespaces verify signatures at admission), so only the ServiceAccount decides.
const pod = (namespace: string, serviceAccountName?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'guard-probe', namespace },
  spec: {
    ...(serviceAccountName ? { serviceAccountName } : {}),
    automountServiceAccountToken: true,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'c',
        image: deploymentImage('payments-dev', 'payment'),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
});
const deployment = (namespace: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'guard-probe', namespace },
  spec: {
    selector: { matchLabels: { app: 'probe' } },
    template: {
      metadata: { labels: { app: 'probe' } },
      spec: pod(namespace, 'argocd-deployer').spec,
    },
  },
});
const dryRun = (object: object) =>
  run('kubectl', ['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(object) });

describe('the deployer-token guard (ValidatingAdmissionPolicy) on the real API server', () => {
  test.each(['payments-dev', 'billing-dev', 'payments-staging', 'billing-prod'])(
    '%s refuses a pod running as argocd-deployer, naming the rule',
    (namespace) => {
      const result = dryRun(pod(namespace, 'argocd-deployer'));
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(
        /deployer-token-guard-\w+.*denied request: deployer-token-guard: Pod guard-probe may not run as ServiceAccount argocd-deployer/,
      );
    },
  );
  test('refuses a Deployment whose pods would run as argocd-deployer', () => {
    const result = dryRun(deployment('payments-dev'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /deployer-token-guard: Deployment guard-probe may not run as ServiceAccount argocd-deployer/,
    );
  });
  test('admits a good pod with its own ServiceAccount', () => {
    kubectl('-n', 'payments-dev', 'get', 'serviceaccount', 'default');
    const result = dryRun(pod('payments-dev'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

const asDeployer = (namespace: string, ...args: string[]) =>
  run('kubectl', [
    '-n',
    namespace,
    `--as=system:serviceaccount:${namespace}:argocd-deployer`,
    ...args,
  ]);

/** argocd-deployer updates (annotates), then deletes, its own object: both refused by the guard. */
function expectGuarded(
  namespace: string,
  resource: 'serviceaccount' | 'rolebinding',
  kind: string,
) {
  const attempts = [
    ['update', ['annotate', resource, 'argocd-deployer', 'lab-probe=1']],
    ['delete', ['delete', resource, 'argocd-deployer']],
  ] as const;
  for (const [operation, args] of attempts) {
    const result = asDeployer(namespace, ...args, '--dry-run=server');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `deployer-identity-guard-\\w+.*denied request: deployer-identity-guard: argocd-deployer may not ${operation} ${kind} argocd-deployer, `,
      ),
    );
  }
}

function expectAllowed(namespace: string, ...args: string[]) {
  const result = asDeployer(namespace, ...args);
  expect({ args, stderr: result.stderr, status: result.status }).toEqual({
    args,
    stderr: '',
    status: 0,
  });
}

describe('the deployer-identity guard (ValidatingAdmissionPolicy) on the real API server', () => {
  test.each(['payments-dev', 'billing-staging', 'billing-prod'])(
    '%s: argocd-deployer may not update or delete its own ServiceAccount, which its Role otherwise allows',
    (namespace) => {
      expect(canI(namespace, 'update', 'serviceaccounts')).toBe(true);
      expect(canI(namespace, 'delete', 'serviceaccounts')).toBe(true);
      expectGuarded(namespace, 'serviceaccount', 'ServiceAccount');
    },
  );

  test('argocd-deployer still updates and deletes another ServiceAccount of its namespace', () => {
    const namespace = 'payments-dev';
    kubectl('-n', namespace, 'create', 'serviceaccount', 'identity-guard-probe');
    try {
      expectAllowed(namespace, 'annotate', 'serviceaccount', 'identity-guard-probe', 'lab-probe=1');
      expectAllowed(namespace, 'delete', 'serviceaccount', 'identity-guard-probe');
    } finally {
      run('kubectl', [
        '-n',
        namespace,
        'delete',
        'serviceaccount',
        'identity-guard-probe',
        '--ignore-not-found',
      ]);
    }
  });

  test("argocd-deployer's RoleBinding: RBAC refuses it today, and the policy still does where RBAC is widened", () => {
    const namespace = 'billing-dev';
    const rolebindings = 'rolebindings.rbac.authorization.k8s.io';
    expect(canI(namespace, 'update', rolebindings)).toBe(false);
    // A Role that would let the deployer change RoleBindings: a mistake the policy must outlast.
    kubectl(
      '-n',
      namespace,
      'create',
      'role',
      'identity-guard-probe',
      '--verb=get,update,patch,delete',
      `--resource=${rolebindings}`,
    );
    kubectl(
      '-n',
      namespace,
      'create',
      'rolebinding',
      'identity-guard-probe',
      '--role=identity-guard-probe',
      `--serviceaccount=${namespace}:argocd-deployer`,
    );
    try {
      expect(canI(namespace, 'update', rolebindings)).toBe(true);
      expectGuarded(namespace, 'rolebinding', 'RoleBinding');
      // A binding that grants argocd-deployer nothing is RBAC's business alone.
      expectAllowed(namespace, 'delete', 'rolebinding', 'team-read-only', '--dry-run=server');
    } finally {
      run('kubectl', [
        '-n',
        namespace,
        'delete',
        'rolebinding,role',
        'identity-guard-probe',
        '--ignore-not-found',
      ]);
    }
  });
});
