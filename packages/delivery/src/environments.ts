import fs from 'node:fs';
import YAML from 'yaml';
import { DeliveryError } from './errors';
import { filesNamed, generatedHeader, type Generated } from './generator';
import type { Repository } from './repository';

// What each environment is made of, from catalogue.yaml, so that adding a service, a team or an
// environment never means copying kustomizations by hand:
//
//   deploy/platform/kustomization.yaml                   every environment's platform part
//   deploy/platform/<env>/kustomization.yaml             the environment's team namespaces and guard
//   deploy/platform/<env>/<team>/kustomization.yaml      one team namespace: namespace-base, the
//                                                        team's component and its per-environment
//                                                        additions (components/<team>/per-environment.yaml)
//   deploy/platform/<env>/deployer-guard/kustomization.yaml
//   deploy/platform/<env>/internal-ca/kustomization.yaml   the environment's CA (cert-manager)
//   deploy/envs/<env>/kustomization.yaml                 platform + every service overlay, for kubectl -k

const HEADER = `${generatedHeader('catalogue.yaml')}\n`;
const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };
const PLATFORM_LABELS = {
  'app.kubernetes.io/part-of': 'payments-platform',
  'app.kubernetes.io/managed-by': 'kustomize',
  'app.kubernetes.io/component': 'platform',
};
// Each guard in deploy/platform/deployer-guard: one ValidatingAdmissionPolicy and its binding of
// the same name.
const DEPLOYER_GUARDS = ['deployer-token-guard', 'deployer-identity-guard'];

/** A team's hand-written additions, in components/<team>/per-environment.yaml. */
interface PerEnvironment {
  replacements?: unknown[];
  /** Patches by environment name. */
  patches?: Record<string, unknown[]>;
}

const yamlText = (comment: string, object: object) =>
  `${HEADER}${comment
    .split('\n')
    .map((line) => `# ${line}`)
    .join(
      '\n',
    )}\n${YAML.stringify(object, { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true })}`;

// A team's hand-written additions that name its own policies (and so cannot be generic).
function perEnvironment(repo: Repository, team: string): Required<PerEnvironment> {
  const file = repo.path('deploy', 'platform', 'components', team, 'per-environment.yaml');
  if (!fs.existsSync(file)) return { replacements: [], patches: {} };
  const extra = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as PerEnvironment;
  const unknownEnvs = Object.keys(extra.patches ?? {}).filter(
    (env) => !repo.catalogue.environmentNames().includes(env),
  );
  if (unknownEnvs.length > 0)
    throw new DeliveryError(`${file}: patches for unknown environment ${unknownEnvs.join(', ')}`);
  return { replacements: extra.replacements ?? [], patches: extra.patches ?? {} };
}

function teamNamespace(repo: Repository, team: string, env: string): string {
  const component = `deploy/platform/components/${team}`;
  if (!fs.existsSync(repo.path(component, 'kustomization.yaml')))
    throw new DeliveryError(
      `${component}/kustomization.yaml: team ${team} has no platform component`,
    );
  const extra = perEnvironment(repo, team);
  return yamlText(
    `The ${team} team's ${env} namespace: what every team namespace gets, the team's component and its\nper-environment additions (${component}/per-environment.yaml).`,
    {
      ...KUSTOMIZATION,
      namespace: repo.catalogue.namespace(team, env),
      resources: ['../../namespace-base'],
      components: [`../../components/${team}`],
      labels: [{ pairs: { ...PLATFORM_LABELS, team, environment: env } }],
      ...(extra.replacements.length > 0 ? { replacements: extra.replacements } : {}),
      ...(extra.patches[env] ? { patches: extra.patches[env] } : {}),
    },
  );
}

function deployerGuard(env: string): string {
  return yamlText(`The deployer guards' admission policies for the ${env} namespaces.`, {
    ...KUSTOMIZATION,
    nameSuffix: `-${env}`,
    resources: ['../../deployer-guard'],
    labels: [{ pairs: { ...PLATFORM_LABELS, team: 'platform', environment: env } }],
    // nameSuffix renames each policy but not the policyName that refers to it.
    patches: DEPLOYER_GUARDS.map((guard) => ({
      target: { kind: 'ValidatingAdmissionPolicyBinding', name: guard },
      patch: [
        '- op: replace',
        '  path: /spec/policyName',
        `  value: ${guard}-${env}`,
        '- op: replace',
        '  path: /spec/matchResources/namespaceSelector/matchLabels/environment',
        `  value: ${env}`,
      ].join('\n'),
    })),
  });
}

/**
 * The environment's internal CA: deploy/platform/internal-ca named -<env>, with the references
 * between its objects (which nameSuffix does not follow into cert-manager's fields) renamed too.
 */
function internalCa(env: string): string {
  const replace = (path: string, value: string) =>
    ['- op: replace', `  path: ${path}`, `  value: ${value}`].join('\n');
  return yamlText(`The ${env} environment's internal CA (cert-manager), named -${env}.`, {
    ...KUSTOMIZATION,
    nameSuffix: `-${env}`,
    resources: ['../../internal-ca'],
    labels: [{ pairs: { ...PLATFORM_LABELS, team: 'platform', environment: env } }],
    patches: [
      {
        target: { group: 'cert-manager.io', kind: 'Certificate', name: 'internal-ca' },
        patch: [
          replace('/spec/issuerRef/name', `internal-ca-root-${env}`),
          replace('/spec/secretName', `internal-ca-${env}`),
          replace('/spec/commonName', `payments-platform ${env} internal CA`),
        ].join('\n'),
      },
      {
        target: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'internal-ca' },
        patch: replace('/spec/ca/secretName', `internal-ca-${env}`),
      },
    ],
  });
}

// A kustomization under deploy/envs or an environment's platform folder (one holding a
// deployer-guard) that the catalogue no longer asks for belongs to a removed environment or team.
function previousKustomizations(repo: Repository): string[] {
  return [
    ...filesNamed(repo.root, 'deploy/envs', 'kustomization.yaml'),
    ...fs
      .readdirSync(repo.path('deploy', 'platform'), { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() &&
          fs.existsSync(repo.path('deploy', 'platform', entry.name, 'deployer-guard')),
      )
      .flatMap((entry) =>
        filesNamed(repo.root, `deploy/platform/${entry.name}`, 'kustomization.yaml'),
      ),
  ];
}

/** deploy/envs/<env> and the platform layer of every environment. */
export function environments(repo: Repository): Generated {
  const { catalogue } = repo;
  const files = new Map<string, string>();
  const envs = catalogue.environmentNames();
  const teams = catalogue.teamNames();
  files.set(
    'deploy/platform/kustomization.yaml',
    yamlText(
      'Everything the platform team owns, for every environment: what the Argo CD "platform"\nApplications sync (one per environment, deploy/platform/<env>, and the monitoring CRDs\nthey all share, deploy/platform/monitoring-crds).',
      { ...KUSTOMIZATION, resources: [...envs, 'monitoring-crds'] },
    ),
  );
  for (const env of envs) {
    files.set(
      `deploy/platform/${env}/kustomization.yaml`,
      yamlText(
        `The platform's part of the ${env} environment: its team namespaces, the deployer-token guard\nand its internal CA.`,
        { ...KUSTOMIZATION, resources: [...teams, 'deployer-guard', 'internal-ca'] },
      ),
    );
    for (const team of teams)
      files.set(
        `deploy/platform/${env}/${team}/kustomization.yaml`,
        teamNamespace(repo, team, env),
      );
    files.set(`deploy/platform/${env}/deployer-guard/kustomization.yaml`, deployerGuard(env));
    files.set(`deploy/platform/${env}/internal-ca/kustomization.yaml`, internalCa(env));
    files.set(
      `deploy/envs/${env}/kustomization.yaml`,
      yamlText(
        `The whole ${env} environment for \`kubectl apply -k\` on a cluster without Argo CD\n(npx delivery deploy ${env}): the platform's namespaces and policies, then every service.`,
        {
          ...KUSTOMIZATION,
          resources: [
            `../../platform/${env}`,
            ...catalogue
              .serviceNames()
              .map(
                (service) =>
                  `../../${catalogue.overlayPath(service, env).replace(/^deploy\//, '')}`,
              ),
          ],
        },
      ),
    );
  }
  return {
    label: 'deploy/envs and deploy/platform/<env>',
    source: 'catalogue.yaml',
    files,
    previous: previousKustomizations(repo),
  };
}
