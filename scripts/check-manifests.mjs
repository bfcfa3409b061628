#!/usr/bin/env node
// Every check CI runs on the manifests, in one command (`npm run check:manifests`):
//
//   1. the pinned tools (scripts/install-tools.sh), catalogue.yaml valid, the files generated from
//      it (ApplicationSets, environments, deployer Roles) and the services' Dockerfiles generated
//      from the one template;
//   2. each target, deploy/envs/<env> for every environment of catalogue.yaml and the platform
//      layer deploy/platform, rendered with the pinned kustomize, then
//      - kubeconform -strict against the pinned schemas (scripts/kubeconform.sh),
//      - kube-score with deploy/kube-score.yaml: zero CRITICAL findings,
//      - images: every container image pinned by digest, but the project's own
//        (scripts/lib/manifest-policies.mjs says why),
//      - scope: nothing outside catalogue.yaml's namespaces, and no cluster-scoped object but
//        the catalogue's Namespaces and the platform's own admission objects, by name;
//   3. the policy tests of the deploy and argocd workspaces.
//
//   node scripts/check-manifests.mjs                        all of it
//   node scripts/check-manifests.mjs --static [DIR...]      step 2 only, on every target or on
//                                                           the given kustomization directories
//                                                           (relative to the repository root)
//   node scripts/check-manifests.mjs --targets              the targets, one per line
//
// Exit 0 when everything passed, 1 when a check failed, 2 on bad usage or missing tools.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import catalogueModule from '@internal/catalogue';
import { imageFindings, scopeFindings } from './lib/manifest-policies.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS_BIN = path.join(process.env.TOOLS_DIR ?? path.join(ROOT, '.tools'), 'bin');
const KUBE_SCORE_CONFIG = 'deploy/kube-score.yaml';
const CRITICAL = 1;
const WARNING = 5;

class UsageError extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.error) throw result.error;
  return result;
}

function tool(name) {
  const file = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(file))
    throw new UsageError(`${name} is not installed at ${file}: run scripts/install-tools.sh`);
  return file;
}

/** KEY=VALUE lines of a settings file under scripts/ (tools.versions, repository.env). */
function settings(file) {
  const text = fs.readFileSync(path.join(ROOT, 'scripts', file), 'utf8');
  return Object.fromEntries(
    [...text.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map(([, key, value]) => [key, value]),
  );
}

function targets() {
  const environments = catalogueModule.readCatalogue(ROOT).environmentNames();
  return [...environments.map((env) => `deploy/envs/${env}`), 'deploy/platform'];
}

/** The objects of `kustomize build <dir>`, or the build's error. */
function render(dir) {
  const rendered = run(tool('kustomize'), ['build', path.resolve(ROOT, dir)]);
  const objects =
    rendered.status === 0
      ? YAML.parseAllDocuments(rendered.stdout)
          .map((doc) => doc.toJS())
          .filter((object) => object !== null)
      : [];
  return { ...rendered, objects };
}

/**
 * What the image and scope checks compare against, from the places that own each fact: the
 * catalogue (services, namespaces, environments), scripts/repository.env (the registry path),
 * and the platform's own cluster-scoped objects as their sources render them. The deployer guard
 * is named per environment by deploy/platform/<env>/deployer-guard (nameSuffix -<env>).
 */
function policyInputs() {
  const catalogue = catalogueModule.readCatalogue(ROOT);
  const environments = catalogue.environmentNames();
  const registry = `ghcr.io/${settings('repository.env').GITHUB_REPOSITORY}`.toLowerCase();
  const names = (dir, kind) => {
    const { status, stderr, objects } = render(dir);
    if (status !== 0) throw new UsageError(`kustomize build ${dir} failed\n${stderr}`);
    return objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
  };
  const perEnvironment = (kind) =>
    names('deploy/platform/deployer-guard', kind).flatMap((name) =>
      environments.map((env) => `${name}-${env}`),
    );
  return {
    ownRepositories: catalogue.serviceNames().map((service) => `${registry}/${service}`),
    scope: {
      namespaces: catalogue.teamNames().flatMap((team) => catalogue.namespacesOf(team)),
      environments,
      clusterScoped: {
        ValidatingAdmissionPolicy: perEnvironment('ValidatingAdmissionPolicy'),
        ValidatingAdmissionPolicyBinding: perEnvironment('ValidatingAdmissionPolicyBinding'),
        ClusterImagePolicy: names('deploy/platform/admission', 'ClusterImagePolicy'),
      },
    },
  };
}

/** Prints one check's verdict and findings; returns true when there are none. */
function printFindings(target, check, findings, passed) {
  console.log(
    findings.length === 0 ? `ok   ${target}: ${check}, ${passed}` : `FAIL ${target}: ${check}`,
  );
  for (const finding of findings) console.log(`       ${finding}`);
  return findings.length === 0;
}

/** deploy/kube-score.yaml, checked: every exception must say why. */
function kubeScoreConfig() {
  const config = YAML.parse(fs.readFileSync(path.join(ROOT, KUBE_SCORE_CONFIG), 'utf8'));
  const exceptions = [
    ...Object.entries(config.ignoredTests ?? {}),
    ...Object.values(config.targets ?? {}).flatMap((t) => Object.entries(t.ignoredTests ?? {})),
  ];
  for (const [test, reason] of exceptions) {
    if (typeof reason !== 'string' || reason.trim() === '')
      throw new UsageError(`${KUBE_SCORE_CONFIG}: ignoring ${test} needs its reason as the value`);
  }
  return config;
}

/** kube-score's arguments for one target: the shared settings plus the target's exceptions. */
function kubeScoreArgs(config, target) {
  const minor = /^(\d+\.\d+)\./.exec(settings('tools.versions').KUBERNETES_SCHEMA_VERSION)?.[1];
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
function kubeScoreFindings(report) {
  const findings = [];
  for (const object of report) {
    const { kind } = object.type_meta;
    const where = [kind, object.object_meta.namespace, object.object_meta.name]
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

/** Step 2 on one kustomization directory (relative to the root); returns true when it passed. */
function checkTarget(target, config, inputs) {
  const rendered = render(target);
  if (rendered.status !== 0) {
    console.log(`FAIL ${target}: kustomize build failed\n${rendered.stderr}`);
    return false;
  }
  const { objects } = rendered;
  let passed = printFindings(
    target,
    'images',
    imageFindings(objects, inputs.ownRepositories),
    'every one pinned by digest but the own services',
  );
  passed =
    printFindings(
      target,
      'scope',
      scopeFindings(objects, inputs.scope),
      "only catalogue namespaces and the platform's own cluster-scoped objects",
    ) && passed;

  const schemas = run('bash', [path.join(ROOT, 'scripts', 'kubeconform.sh'), '-'], {
    input: rendered.stdout,
  });
  if (schemas.status === 0) {
    console.log(`ok   ${target}: kubeconform, ${objects.length} objects valid`);
  } else {
    passed = false;
    console.log(`FAIL ${target}: kubeconform\n${schemas.stdout}${schemas.stderr}`);
  }

  // kube-score exits 1 on a CRITICAL finding: its JSON report, not its status, is what counts.
  const scored = run(tool('kube-score'), kubeScoreArgs(config, target), { input: rendered.stdout });
  let report;
  try {
    report = JSON.parse(scored.stdout);
  } catch {
    console.log(`FAIL ${target}: kube-score printed no report\n${scored.stdout}${scored.stderr}`);
    return false;
  }
  const findings = kubeScoreFindings(report);
  const critical = findings.filter((f) => f.level === 'CRITICAL').length;
  const verdict = critical === 0 ? 'ok  ' : 'FAIL';
  console.log(
    `${verdict} ${target}: kube-score, ${critical} critical, ${findings.length - critical} warnings`,
  );
  for (const finding of findings) console.log(`       ${finding.line}`);
  return passed && critical === 0;
}

function staticChecks(dirs) {
  const config = kubeScoreConfig();
  const inputs = policyInputs();
  for (const dir of dirs) {
    if (!fs.existsSync(path.resolve(ROOT, dir, 'kustomization.yaml')))
      throw new UsageError(`${dir} is not a kustomization directory (relative to ${ROOT})`);
  }
  // Every target runs, so one report shows every failure.
  return dirs.map((dir) => checkTarget(dir, config, inputs)).every(Boolean);
}

function step(title, command, args) {
  console.log(`\n== ${title}`);
  return run(command, args, { stdio: 'inherit' }).status === 0;
}

function everything() {
  const node = process.execPath;
  if (!step('pinned tools', 'bash', ['scripts/install-tools.sh'])) return false;
  const results = [
    step('catalogue.yaml', node, ['scripts/catalogue.mjs', 'check']) &&
      [
        ['applicationsets', 'catalogue.yaml'],
        ['environments', 'catalogue.yaml'],
        ['deployer-roles', 'catalogue.yaml'],
        ['dockerfiles', 'the service template'],
      ].every(([generated, source]) =>
        step(`${generated} generated from ${source}`, node, [
          `scripts/generate-${generated}.mjs`,
          '--check',
        ]),
      ),
  ];
  console.log('\n== render, kubeconform, kube-score');
  results.push(staticChecks(targets()));
  results.push(
    step('policy tests (deploy, argocd)', 'npx', [
      'turbo',
      'run',
      'test',
      '--filter=deploy',
      '--filter=argocd',
      '--concurrency=1',
    ]),
  );
  const passed = results.every(Boolean);
  console.log(passed ? '\ncheck:manifests passed' : '\ncheck:manifests FAILED');
  return passed;
}

function main(args) {
  if (args.length === 0) return everything();
  const [option, ...dirs] = args;
  if (option === '--targets' && dirs.length === 0) {
    console.log(targets().join('\n'));
    return true;
  }
  if (option === '--static') return staticChecks(dirs.length > 0 ? dirs : targets());
  throw new UsageError('usage: node scripts/check-manifests.mjs [--static [DIR...] | --targets]');
}

try {
  process.exit(main(process.argv.slice(2)) ? 0 : 1);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`check-manifests: ${error.message}`);
  process.exit(2);
}
