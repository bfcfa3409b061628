import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { readCatalogue } from '@internal/catalogue';
import { expandVariables, repoRoot, tool, type K8sObject } from '@internal/test-kit';

export const ROOT = repoRoot(__dirname);
export const DEPLOY_DIR = path.join(ROOT, 'deploy');
/**
 * The delivery tool, run with `node` on the checkout it is in. Resolved through node_modules: a
 * clone that runs these tests (scripts/test/new-service.test.ts) links this checkout's, built.
 */
export const DELIVERY_CLI = require.resolve('@internal/delivery/bin/delivery.js');

/** catalogue.yaml: the teams, services and environments (in promotion order). */
export const CATALOGUE = readCatalogue(ROOT);
export const ENVIRONMENTS = CATALOGUE.environmentNames();
export type Environment = string;

/** Every kustomization a person or Argo CD applies, relative to deploy/. */
export const KUSTOMIZATIONS = [
  'platform',
  ...ENVIRONMENTS.map((env) => `platform/${env}`),
  ...CATALOGUE.serviceNames().flatMap((service) =>
    ENVIRONMENTS.map((env) => path.relative('deploy', CATALOGUE.overlayPath(service, env))),
  ),
  ...ENVIRONMENTS.map((env) => `envs/${env}`),
];

const rendered = new Map<string, { yaml: string; objects: K8sObject[] }>();

function build(dir: string) {
  let output = rendered.get(dir);
  if (!output) {
    const yaml = execFileSync(tool('kustomize'), ['build', path.join(DEPLOY_DIR, dir)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const objects = YAML.parseAllDocuments(yaml)
      .map((doc) => doc.toJS() as K8sObject | null)
      .filter((object): object is K8sObject => object !== null);
    output = { yaml, objects };
    rendered.set(dir, output);
  }
  return output;
}

/** The objects of `kustomize build deploy/<dir>`, rendered once per test file. */
export const render = (dir: string): K8sObject[] => build(dir).objects;

/** The YAML text `kustomize build deploy/<dir>` printed. */
export const renderYaml = (dir: string): string => build(dir).yaml;

export const renderEnv = (env: Environment) => render(`envs/${env}`);

export function find(
  objects: K8sObject[],
  kind: string,
  name: string,
  namespace?: string,
): K8sObject {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name} in the rendered manifests`);
  return found;
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & {
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface PodSpec {
  containers: Container[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

/** A pod template of a workload, with where it runs and the labels its pods carry. */
export interface PodTemplate {
  workload: K8sObject;
  namespace: string;
  labels: Record<string, string>;
  spec: PodSpec;
}

type Template = { metadata?: { labels?: Record<string, string> }; spec: PodSpec };

export function podTemplates(objects: K8sObject[]): PodTemplate[] {
  return objects.flatMap((workload) => {
    const spec = workload.spec as Record<string, unknown> | undefined;
    let template: Template | undefined;
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(workload.kind)) {
      template = spec?.template as Template;
    } else if (workload.kind === 'CronJob') {
      template = (spec?.jobTemplate as { spec: { template: Template } }).spec.template;
    }
    if (!template) return [];
    return [
      {
        workload,
        namespace: workload.metadata.namespace ?? 'default',
        labels: template.metadata?.labels ?? {},
        spec: template.spec,
      },
    ];
  });
}

export function podTemplate(objects: K8sObject[], kind: string, name: string): PodTemplate {
  const found = podTemplates(objects).find(
    (p) => p.workload.kind === kind && p.workload.metadata.name === name,
  );
  if (!found) throw new Error(`no ${kind} ${name} with a pod template`);
  return found;
}

/**
 * The environment a container starts with: ConfigMap entries (envFrom and configMapKeyRef) and
 * literal values resolved from the rendered objects; Secret references listed by name. With
 * `secretValues` (test values by `<secret>/<key>`) the Secret variables get theirs too. Each
 * literal value is expanded as the kubelet does, in order: `$(VAR)` names a variable of envFrom
 * or one listed before it; a Secret variable without a value here stays `$(VAR)`.
 */
export function containerEnv(
  objects: K8sObject[],
  namespace: string,
  container: Container,
  secretValues?: Record<string, string>,
): { values: Record<string, string>; secrets: Record<string, { name: string; key: string }> } {
  const configMap = (name: string) =>
    find(objects, 'ConfigMap', name, namespace).data as Record<string, string>;
  const values: Record<string, string> = {};
  const secrets: Record<string, { name: string; key: string }> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(values, configMap(source.configMapRef.name));
    if (source.secretRef)
      throw new Error(`${container.name}: envFrom secretRef hides which variables are secret`);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined)
      values[variable.name] = expandVariables(variable.value, values);
    const from = variable.valueFrom;
    if (from?.configMapKeyRef) {
      const { name, key } = from.configMapKeyRef;
      const value = configMap(name)[key];
      if (value === undefined)
        throw new Error(`${container.name}: ConfigMap ${name} has no key ${key}`);
      values[variable.name] = value;
    }
    if (from?.secretKeyRef) {
      const { name, key } = from.secretKeyRef;
      secrets[variable.name] = from.secretKeyRef;
      if (secretValues) {
        const value = secretValues[`${name}/${key}`];
        if (value === undefined)
          throw new Error(`no test value for Secret ${namespace}/${name} key ${key}`);
        values[variable.name] = value;
      }
    }
  }
  return { values, secrets };
}

/** A container's command and args as the kubelet runs them: `$(VAR)` expanded from `env`. */
export function containerCommand(
  container: Container,
  env: Record<string, string>,
): { command?: string[]; args: string[] } {
  return {
    command: container.command?.map((word) => expandVariables(word, env)),
    args: (container.args ?? []).map((word) => expandVariables(word, env)),
  };
}

/** KEY=VALUE lines of a shell-style settings file (comments and blank lines ignored). */
export function readSettings(file: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [, key, value] = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()) ?? [];
    if (key !== undefined && value !== undefined) settings[key] = value;
  }
  return settings;
}

/** The image registry path derived from the one place the repository is named. */
export function imageRegistryPath(): string {
  const repository = readSettings(path.join(ROOT, 'scripts/repository.env')).GITHUB_REPOSITORY;
  if (!repository) throw new Error('scripts/repository.env does not set GITHUB_REPOSITORY');
  return `ghcr.io/${repository}`;
}

export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}
