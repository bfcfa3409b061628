import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { catalogueQueries } from './catalogue-queries';
import { CERT_MANAGER_NAMESPACE, MONITORING_SERVICE_ACCOUNTS } from './applicationsets';
import { DeliveryError } from './errors';
import { driftReport, generate } from './generate';
import { kubeconformCommand } from './kubeconform';
import {
  imageFindings,
  scopeFindings,
  secretFindings,
  workloadFindings,
  type ManifestObject,
  type Scope,
} from './manifest-policies';
import { capture, runInherited } from './processes';
import { kustomizeBuild } from './rendered';
import type { Repository } from './repository';
import { toolPath, toolVersions } from './tools';

const KUBE_SCORE_CONFIG = 'deploy/kube-score.yaml';
const CRITICAL = 1;
const WARNING = 5;

interface KubeScoreConfig {
  ignoredTests?: Record<string, unknown>;
  optionalTests?: string[];
  targets?: Record<string, { ignoredTests?: Record<string, unknown> }>;
}
interface KubeScoreCheck {
  skipped?: boolean;
  grade: number;
  check: { id: string; name: string };
  comments?: { path?: string; summary: string }[];
}
interface KubeScoreObject {
  type_meta: { kind: string };
  object_meta: { namespace?: string; name?: string };
  checks: KubeScoreCheck[];
}

/** A pinned tool; missing, it is a usage problem (exit 2), as the checks cannot run at all. */
function tool(repo: Repository, name: string): string {
  const file = toolPath(repo, name);
  if (!fs.existsSync(file))
    throw new DeliveryError(`${name} is not installed at ${file}: run scripts/install-tools.sh`, 2);
  return file;
}

/** deploy/envs/<env> for every environment of the catalogue, and the platform layer. */
export const manifestTargets = (repo: Repository): string[] => [
  ...repo.catalogue.environmentNames().map((env) => `deploy/envs/${env}`),
  'deploy/platform',
];

function render(repo: Repository, dir: string) {
  const rendered = kustomizeBuild(tool(repo, 'kustomize'), repo.root, dir);
  return { ...rendered, objects: rendered.objects as ManifestObject[] };
}

/**
 * What the image and scope checks compare against, from the places that own each fact: the
 * catalogue (services, namespaces, environments), scripts/repository.env (the registry path),
 * and the platform's own cluster-scoped objects as their sources render them. The deployer guard
 * is named per environment by deploy/platform/<env>/deployer-guard (nameSuffix -<env>), the
 * internal CA by deploy/platform/<env>/internal-ca.
 */
function policyInputs(repo: Repository): { ownRepositories: string[]; scope: Scope } {
  const { catalogue } = repo;
  const environments = catalogue.environmentNames();
  const env = fs.readFileSync(repo.path('scripts', 'repository.env'), 'utf8');
  const registry = `ghcr.io/${/^GITHUB_REPOSITORY=(.*)$/m.exec(env)?.[1] ?? ''}`.toLowerCase();
  const names = (dir: string, kind: string) => {
    const { status, stderr, objects } = render(repo, dir);
    if (status !== 0) throw new DeliveryError(`kustomize build ${dir} failed\n${stderr}`, 2);
    return objects.filter((o) => o.kind === kind).map((o) => o.metadata?.name ?? '');
  };
  // Named -<env> by deploy/platform/<env>/<part> (nameSuffix).
  const perEnvironment = (part: string, kind: string) =>
    names(`deploy/platform/${part}`, kind).flatMap((name) =>
      environments.map((e) => `${name}-${e}`),
    );
  return {
    ownRepositories: catalogue.serviceNames().map((service) => `${registry}/${service}`),
    scope: {
      namespaces: catalogue.teamNames().flatMap((team) => catalogue.namespacesOf(team)),
      environments,
      clusterScoped: {
        ValidatingAdmissionPolicy: perEnvironment('deployer-guard', 'ValidatingAdmissionPolicy'),
        ValidatingAdmissionPolicyBinding: perEnvironment(
          'deployer-guard',
          'ValidatingAdmissionPolicyBinding',
        ),
        ClusterIssuer: perEnvironment('internal-ca', 'ClusterIssuer'),
        ClusterImagePolicy: names('deploy/platform/admission', 'ClusterImagePolicy'),
        CustomResourceDefinition: names(
          'deploy/platform/monitoring-crds',
          'CustomResourceDefinition',
        ),
      },
      elsewhere: {
        [`Certificate/${CERT_MANAGER_NAMESPACE}`]: perEnvironment('internal-ca', 'Certificate'),
      },
      serviceAccountsElsewhere: MONITORING_SERVICE_ACCOUNTS,
    },
  };
}

/** deploy/kube-score.yaml, checked: every exception must say why. */
function kubeScoreConfig(repo: Repository): KubeScoreConfig {
  const config = YAML.parse(
    fs.readFileSync(repo.path(KUBE_SCORE_CONFIG), 'utf8'),
  ) as KubeScoreConfig;
  const exceptions = [
    ...Object.entries(config.ignoredTests ?? {}),
    ...Object.values(config.targets ?? {}).flatMap((t) => Object.entries(t.ignoredTests ?? {})),
  ];
  for (const [test, reason] of exceptions)
    if (typeof reason !== 'string' || reason.trim() === '')
      throw new DeliveryError(
        `${KUBE_SCORE_CONFIG}: ignoring ${test} needs its reason as the value`,
        2,
      );
  return config;
}

/** kube-score's arguments for one target: the shared settings plus the target's exceptions. */
function kubeScoreArgs(repo: Repository, config: KubeScoreConfig, target: string): string[] {
  const minor = /^(\d+\.\d+)\./.exec(toolVersions(repo).KUBERNETES_SCHEMA_VERSION ?? '')?.[1];
  const ignored = {
    ...(config.ignoredTests ?? {}),
    ...(config.targets?.[target]?.ignoredTests ?? {}),
  };
  return [
    'score',
    '--output-format',
    'json',
    '--kubernetes-version',
    `v${minor}`,
    ...(config.optionalTests ?? []).flatMap((test) => ['--enable-optional-test', test]),
    ...Object.keys(ignored).flatMap((test) => ['--ignore-test', test]),
    '-',
  ];
}

/** Findings of kube-score's JSON report, worst first: "CRITICAL kind/namespace/name: ...". */
export function kubeScoreFindings(report: KubeScoreObject[]): { level: string; line: string }[] {
  const findings: { level: string; line: string }[] = [];
  for (const object of report) {
    const where = [object.type_meta.kind, object.object_meta.namespace, object.object_meta.name]
      .filter(Boolean)
      .join('/');
    for (const check of object.checks) {
      if (check.skipped || (check.grade !== CRITICAL && check.grade !== WARNING)) continue;
      const level = check.grade === CRITICAL ? 'CRITICAL' : 'WARNING';
      for (const comment of check.comments ?? [{ summary: check.check.name }]) {
        const container = comment.path ? ` (${comment.path})` : '';
        findings.push({
          level,
          line: `${level} ${where}${container}: ${comment.summary} [${check.check.id}]`,
        });
      }
    }
  }
  return findings.sort((a, b) => a.level.localeCompare(b.level));
}

/** Prints one check's verdict and findings; returns true when there are none. */
function printFindings(
  log: (line: string) => void,
  target: string,
  check: string,
  findings: string[],
  passed: string,
) {
  log(findings.length === 0 ? `ok   ${target}: ${check}, ${passed}` : `FAIL ${target}: ${check}`);
  for (const finding of findings) log(`       ${finding}`);
  return findings.length === 0;
}

/** The static checks on one kustomization directory (relative to the root); true when it passed. */
function checkTarget(
  repo: Repository,
  target: string,
  config: KubeScoreConfig,
  inputs: ReturnType<typeof policyInputs>,
  log: (line: string) => void,
): boolean {
  const rendered = render(repo, target);
  if (rendered.status !== 0) {
    log(`FAIL ${target}: kustomize build failed\n${rendered.stderr}`);
    return false;
  }
  const { objects } = rendered;
  const images = imageFindings(objects, inputs.ownRepositories);
  let passed = printFindings(
    log,
    target,
    'images',
    images,
    'every one pinned by digest but the own services',
  );
  const secrets = secretFindings(objects);
  passed = printFindings(log, target, 'secrets', secrets, 'none in plain text') && passed;
  const scope = scopeFindings(objects, inputs.scope);
  const scopeText = "only catalogue namespaces and the platform's own cluster-scoped objects";
  passed = printFindings(log, target, 'scope', scope, scopeText) && passed;
  const workloads = workloadFindings(objects);
  const workloadsText = 'every autoscaler and Rollout names what this target renders';
  passed = printFindings(log, target, 'workloads', workloads, workloadsText) && passed;

  const [kubeconform, kubeconformArgs] = kubeconformCommand(repo, ['-']);
  const schemas = capture(kubeconform, kubeconformArgs, { input: rendered.stdout });
  if (schemas.status === 0) log(`ok   ${target}: kubeconform, ${objects.length} objects valid`);
  else {
    passed = false;
    log(`FAIL ${target}: kubeconform\n${schemas.stdout}${schemas.stderr}`);
  }

  // kube-score exits 1 on a CRITICAL finding: its JSON report, not its status, is what counts.
  const scored = capture(tool(repo, 'kube-score'), kubeScoreArgs(repo, config, target), {
    input: rendered.stdout,
  });
  let report: KubeScoreObject[];
  try {
    report = JSON.parse(scored.stdout) as KubeScoreObject[];
  } catch {
    log(`FAIL ${target}: kube-score printed no report\n${scored.stdout}${scored.stderr}`);
    return false;
  }
  const findings = kubeScoreFindings(report);
  const critical = findings.filter((f) => f.level === 'CRITICAL').length;
  log(
    `${critical === 0 ? 'ok  ' : 'FAIL'} ${target}: kube-score, ${critical} critical, ${findings.length - critical} warnings`,
  );
  for (const finding of findings) log(`       ${finding.line}`);
  return passed && critical === 0;
}

/**
 * Each target rendered with the pinned kustomize, then kubeconform, kube-score (zero CRITICAL
 * findings), images pinned by digest, scope and workloads. Every target runs, so one report shows every
 * failure.
 */
export function staticChecks(
  repo: Repository,
  dirs: string[],
  log: (line: string) => void,
): boolean {
  for (const dir of dirs)
    if (!fs.existsSync(path.resolve(repo.root, dir, 'kustomization.yaml')))
      throw new DeliveryError(
        `${dir} is not a kustomization directory (relative to ${repo.root})`,
        2,
      );
  const config = kubeScoreConfig(repo);
  const inputs = policyInputs(repo);
  return dirs.map((dir) => checkTarget(repo, dir, config, inputs, log)).every(Boolean);
}

/** One check that reports through `log`; a DeliveryError is its failure, printed. */
function reported(log: (line: string) => void, title: string, check: () => boolean): boolean {
  log(`\n== ${title}`);
  try {
    return check();
  } catch (error) {
    if (!(error instanceof DeliveryError)) throw error;
    log(`error: ${error.message}`);
    return false;
  }
}

const catalogueValid = (repo: Repository, log: (line: string) => void): boolean =>
  reported(log, 'catalogue.yaml', () => {
    log(catalogueQueries.check(repo).join('\n'));
    return true;
  });

const generatedFilesMatch = (repo: Repository, log: (line: string) => void): boolean =>
  reported(log, 'generated files (delivery generate --check)', () => {
    const drift = generate(repo, { check: true }, log);
    if (drift.length > 0) log(driftReport(drift));
    return drift.length === 0;
  });

/**
 * Every check CI runs on the manifests: the pinned tools, the catalogue, the files generated
 * from it and the Dockerfiles from their template, the static checks of every target, then the
 * policy tests of the deploy workspace.
 */
export function checkEverything(repo: Repository, log: (line: string) => void): boolean {
  const step = (title: string, command: string, args: string[]) => {
    log(`\n== ${title}`);
    return runInherited(command, args, { cwd: repo.root }) === 0;
  };
  if (!step('pinned tools', 'bash', ['scripts/install-tools.sh'])) return false;
  const results = [catalogueValid(repo, log) && generatedFilesMatch(repo, log)];
  log('\n== render, kubeconform, kube-score');
  results.push(staticChecks(repo, manifestTargets(repo), log));
  results.push(
    step('policy tests (deploy)', 'npx', [
      'turbo',
      'run',
      'test',
      '--filter=deploy',
      '--concurrency=1',
    ]),
  );
  const passed = results.every(Boolean);
  log(passed ? '\ncheck:manifests passed' : '\ncheck:manifests FAILED');
  return passed;
}
