import fs from 'node:fs';
import path from 'node:path';
import { DeliveryError } from './errors';
import { capture, runInherited } from './processes';
import { exposures, objectsOfKind, parseRendered, type Exposure } from './rendered';
import type { Repository } from './repository';
import { requireInstalled, toolPath } from './tools';

export interface DeployOptions {
  env: string;
  dryRun: boolean;
  kubectl: string;
  rolloutTimeout: string;
  log: (line: string) => void;
}

/** Whether a command name or path can be run, as the shell's `command -v` decides. */
function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return executable(command);
  return (env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && executable(path.join(dir, command)));
}

/** A command line as the shell would read it back, for a dry run's plan. */
const shellQuote = (args: string[]) =>
  args
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');

function render(repo: Repository, options: DeployOptions): string {
  const dir = repo.path('deploy', 'envs', options.env);
  const [command, args] = options.dryRun
    ? [requireInstalled(toolPath(repo, 'kustomize')), ['build', dir]]
    : [options.kubectl, ['kustomize', dir]];
  const rendered = capture(command, args);
  if (rendered.status !== 0)
    throw new DeliveryError(`cannot render deploy/envs/${options.env}: ${rendered.stderr.trim()}`);
  return rendered.stdout;
}

/**
 * The controllers an environment needs, each known by a CRD it installs, in the order asked; one
 * with a `kind` only where the environment renders an object of that kind.
 */
const REQUIRED_CONTROLLERS: { crd: string; kind?: string; missing: (env: string) => string }[] = [
  // The services' Secrets arrive sealed: without the controller they never become Secrets and
  // the rollouts would only time out.
  {
    crd: 'sealedsecrets.bitnami.com',
    missing: (env) =>
      `Sealed Secrets controller (CRD sealedsecrets.bitnami.com): install it, then seal ${env} for its key: delivery seal-environment ${env} --cert <(kubeseal --fetch-cert)`,
  },
  // Every environment's platform layer has its internal CA, a cert-manager ClusterIssuer.
  {
    crd: 'clusterissuers.cert-manager.io',
    missing: (env) =>
      `cert-manager (CRD clusterissuers.cert-manager.io), which issues ${env}'s internal CA and the services' certificates: install cert-manager first`,
  },
  // A service released as a canary runs its pods from its Rollout: without the controller, none.
  {
    crd: 'rollouts.argoproj.io',
    kind: 'Rollout',
    missing: (env) =>
      `Argo Rollouts controller (CRD rollouts.argoproj.io), which runs the pods of ${env}'s canary releases: install Argo Rollouts first`,
  },
];

/**
 * Deploys one whole environment without Argo CD: the platform layer, then every service of the
 * catalogue with its SealedSecrets (the cluster's Sealed Secrets controller decrypts them; the
 * environment must be sealed for its key: `delivery seal-environment <env> --cert <file>`), then
 * waits for the rollouts and prints how to reach the environment. A dry run renders the environment with the
 * pinned kustomize and prints the kubectl commands instead of running them.
 */
export function deploy(repo: Repository, options: DeployOptions): void {
  const { env, dryRun, kubectl, log } = options;
  repo.requireEnvironment(env);
  if (!dryRun && !onPath(kubectl))
    throw new DeliveryError(
      `${kubectl} not found: install kubectl and point it at the cluster (kubectl config use-context ...)`,
    );
  const objects = parseRendered(render(repo, options));
  if (dryRun) log(`deploy: dry run: deploy/envs/${env} renders ${objects.length} objects`);

  const run = (...args: string[]) => {
    if (dryRun) return log(`+ ${shellQuote([kubectl, ...args])}`);
    const status = runInherited(kubectl, args);
    if (status !== 0)
      throw new DeliveryError(`${kubectl} ${args.join(' ')} failed (exit ${status})`, status);
  };

  // What the environment needs the cluster to run already, asked before anything changes.
  if (!dryRun)
    for (const { crd, kind, missing } of REQUIRED_CONTROLLERS)
      if (
        (kind === undefined || objectsOfKind(objects, kind).length > 0) &&
        capture(kubectl, ['get', 'crd', crd]).status !== 0
      )
        throw new DeliveryError(`the cluster has no ${missing(env)}`);
  // Namespaces, quotas, network policies and RBAC first.
  run('apply', '-k', repo.path('deploy', 'platform', env));
  // The CRDs of the services' ServiceMonitors and PrometheusRules, established before those apply.
  const crds = repo.path('deploy', 'platform', 'monitoring-crds');
  run('apply', '-k', crds);
  run(
    'wait',
    '--for',
    'condition=Established',
    ...fs
      .readdirSync(crds)
      .filter((file) => file !== 'kustomization.yaml')
      .flatMap((file) => ['-f', path.join(crds, file)]),
  );
  run('apply', '-k', repo.path('deploy', 'envs', env));
  const timeout = ['--timeout', options.rolloutTimeout];
  for (const { namespace, name } of objectsOfKind(objects, 'StatefulSet'))
    run('-n', namespace, 'rollout', 'status', `statefulset/${name}`, ...timeout);
  const rollouts = objectsOfKind(objects, 'Rollout');
  for (const { name, team } of repo.catalogue.services) {
    const namespace = repo.catalogue.namespace(team, env);
    // A canary's Rollout runs the service's pods and scales its Deployment down: wait for the
    // Rollout (kubectl's rollout status knows only the built-in kinds).
    if (rollouts.some((rollout) => rollout.namespace === namespace && rollout.name === name))
      run(
        '-n',
        namespace,
        'wait',
        `rollouts.argoproj.io/${name}`,
        '--for=jsonpath={.status.phase}=Healthy',
        ...timeout,
      );
    else run('-n', namespace, 'rollout', 'status', `deployment/${name}`, ...timeout);
  }

  log('');
  for (const exposure of exposures(objects)) log(howToReach(exposure, options).join('\n'));
}

function howToReach(exposure: Exposure, { kubectl, dryRun }: DeployOptions): string[] {
  const { service, namespace, port, nodePort, ingress, tokens } = exposure;
  const portForward = `  ${kubectl} -n ${namespace} port-forward service/${service} ${port}:${port} &`;
  const reach =
    nodePort !== undefined
      ? [
          `${service} is on NodePort ${nodePort} of every node:`,
          `  curl http://<node-ip>:${nodePort}/rest/health`,
          `  (kind: create the cluster with deploy/kind-cluster.yaml, then use http://localhost:${nodePort})`,
          'Or, from any machine with kubectl:',
          portForward,
        ]
      : [
          `${service} is behind the Ingress at https://${ingressHost(namespace, ingress ?? '', kubectl, dryRun)} (point DNS at the ingress controller).`,
          'Without DNS:',
          portForward,
        ];
  const token = tokens
    ? [
        `${service}'s mutating endpoints need a token of the Secret ${namespace}/${tokens.secret}:`,
        `  export ANTAEUS_TOKEN="$(${kubectl} -n ${namespace} get secret ${tokens.secret} -o jsonpath='{.data.${tokens.key}}' | base64 -d | cut -d, -f1)"`,
      ]
    : [];
  return [...reach, ...token, `  npx delivery smoke http://localhost:${port}`];
}

function ingressHost(namespace: string, ingress: string, kubectl: string, dryRun: boolean): string {
  if (dryRun) return '<ingress host>';
  const host = capture(kubectl, [
    '-n',
    namespace,
    'get',
    'ingress',
    ingress,
    '-o',
    'jsonpath={.spec.rules[0].host}',
  ]);
  return host.status === 0 && host.stdout.trim() ? host.stdout.trim() : '<ingress host>';
}
