import { isDeepStrictEqual } from 'node:util';
import type { RenderedObject } from './rendered';

// Four checks check-manifests runs on every rendered target, besides the schemas and kube-score.
// Each returns findings, one line per offending object, naming the object and field.
//
//   secretFindings:   no Secret in plain text: Secrets reach Git only sealed (SealedSecret);
//   imageFindings:    every container image is pinned by digest (`repo:tag@sha256:<64 hex>`), but
//                     the project's own images, whose digest the release writes into the overlays;
//   scopeFindings:    nothing reaches outside the catalogue's namespaces: no cluster-scoped object
//                     but the platform's own (by name), no object in another namespace, no
//                     admission binding that could select another namespace;
//   workloadFindings: every autoscaler and Rollout names what the target renders, and a Rollout
//                     and the Deployment it runs pods from agree on who owns the pods and count.

const DIGEST = /@sha256:[0-9a-f]{64}$/;
const CONTAINER_FIELDS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

export interface ManifestObject extends RenderedObject {
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}
interface Container {
  name?: string;
  image?: string;
}
type PodSpec = Partial<Record<(typeof CONTAINER_FIELDS)[number], Container[]>>;
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** kind/namespace/name, as kube-score and kubectl name an object. */
export function objectName(object: ManifestObject): string {
  const { namespace, name } = object.metadata ?? {};
  return [object.kind, namespace, name].filter(Boolean).join('/');
}

/** The pod spec a workload object runs, if it runs one. */
function podSpec(object: ManifestObject): PodSpec | undefined {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (object.kind === 'Pod') return spec as PodSpec;
  const template = (
    object.kind === 'CronJob'
      ? (spec?.jobTemplate as { spec?: { template?: { spec?: PodSpec } } } | undefined)?.spec
          ?.template
      : (spec?.template as { spec?: PodSpec } | undefined)
  ) as { spec?: PodSpec } | undefined;
  return template?.spec;
}

/** An image's repository: the reference without its digest and tag (a registry port stays). */
export function imageRepository(image: string): string {
  const [reference = ''] = image.split('@');
  const slash = reference.lastIndexOf('/');
  return reference.slice(0, slash + 1) + reference.slice(slash + 1).replace(/:.*$/, '');
}

/**
 * Containers, initContainers and ephemeralContainers whose image carries no digest, unless its
 * repository is one of ownRepositories: those are the services of catalogue.yaml, built by
 * .github/workflows/release.yml, which writes the pushed digest into the dev overlay
 * (`delivery bump --digest` under BUMP_REQUIRE_DIGEST=true) and which `delivery promote` copies on
 * (it refuses a source without one). The committed overlays name the bootstrap tag 1.0.0, which
 * no registry holds, so there is no true digest to commit for them until a first release; the
 * deploy tests pin that exception to exactly these repositories.
 */
export function imageFindings(objects: ManifestObject[], ownRepositories: string[]): string[] {
  const findings: string[] = [];
  for (const object of objects) {
    const spec = podSpec(object);
    for (const field of CONTAINER_FIELDS) {
      for (const container of spec?.[field] ?? []) {
        const image = container.image ?? '';
        if (DIGEST.test(image) || ownRepositories.includes(imageRepository(image))) continue;
        findings.push(
          `${objectName(object)} ${field} ${container.name}: image ${image} is not pinned by digest (repo:tag@sha256:<64 hex>)`,
        );
      }
    }
  }
  return findings;
}

/**
 * Secret objects in a rendered target: their data would be committed in plain text (base64 is
 * not encryption). A Secret reaches Git only as a SealedSecret, which the cluster's controller
 * decrypts (`npm run seal`).
 */
export function secretFindings(objects: ManifestObject[]): string[] {
  return objects
    .filter((object) => object.kind === 'Secret')
    .map(
      (object) =>
        `${objectName(object)}: a plain Secret is committed; seal it instead (npm run seal -- <env> <secret> <key>)`,
    );
}

export interface Scope {
  namespaces: string[];
  environments: string[];
  /** By kind, the names of the cluster-scoped objects the platform may own. */
  clusterScoped: Record<string, string[]>;
  /**
   * By `<kind>/<namespace>`, the names of the platform's own objects in a namespace outside the
   * catalogue's (the internal CAs' Certificates in cert-manager's namespace).
   */
  elsewhere?: Record<string, string[]>;
  /**
   * The ServiceAccounts outside the catalogue's namespaces, as `<namespace>/<name>`, that the
   * platform's bindings may name (the monitoring stack's, which the platform lets discover and
   * read scrape tokens in the team namespaces).
   */
  serviceAccountsElsewhere?: string[];
}

/** Whether a label selector can only select namespaces of the catalogue. */
function confined(
  selector: LabelSelector | undefined,
  { namespaces, environments }: Scope,
): boolean {
  // kubernetes.io/metadata.name is set by the API server, so it cannot be forged. `environment`
  // is the label the platform layer gives its own namespaces (deploy/platform/<env>) and, as this
  // check refuses every other Namespace object, to no other namespace.
  const allowed: Record<string, string[]> = {
    'kubernetes.io/metadata.name': namespaces,
    environment: environments,
  };
  const byLabel = Object.entries(selector?.matchLabels ?? {}).some(([key, value]) =>
    allowed[key]?.includes(value),
  );
  const byExpression = (selector?.matchExpressions ?? []).some(
    ({ key, operator, values = [] }) =>
      operator === 'In' && values.length > 0 && values.every((v) => allowed[key]?.includes(v)),
  );
  return byLabel || byExpression;
}

/**
 * What in a rendered target reaches outside the catalogue's namespaces: Namespaces must be the
 * catalogue's, cluster-scoped objects of the kinds in `allowed.clusterScoped` (the deployer-token
 * guard of each environment, the image policies, the monitoring CRDs, the internal CAs' issuers)
 * the platform's own by name, the platform's objects `allowed.elsewhere` names are allowed
 * there, and every other object must name a catalogue namespace.
 */
export function scopeFindings(objects: ManifestObject[], allowed: Scope): string[] {
  const findings: string[] = [];
  const { namespaces, clusterScoped } = allowed;
  for (const object of objects) {
    const where = objectName(object);
    const { name = '', namespace } = object.metadata ?? {};
    const kind = object.kind ?? '';
    const ownNames = Object.hasOwn(clusterScoped, kind) ? clusterScoped[kind] : undefined;
    const key = `${kind}/${namespace ?? ''}`;
    const ownElsewhere =
      namespace !== undefined && allowed.elsewhere && Object.hasOwn(allowed.elsewhere, key)
        ? allowed.elsewhere[key]
        : undefined;
    if (kind === 'Namespace') {
      if (!namespaces.includes(name))
        findings.push(
          `${where}: a Namespace catalogue.yaml does not list (it lists ${namespaces.join(', ')})`,
        );
    } else if (ownNames) {
      if (!ownNames.includes(name))
        findings.push(
          `${where}: not one of the platform's own ${kind} objects (${ownNames.join(', ')})`,
        );
      if (kind === 'ValidatingAdmissionPolicyBinding') {
        const spec = object.spec as
          | { policyName?: string; matchResources?: { namespaceSelector?: LabelSelector } }
          | undefined;
        if (!(clusterScoped.ValidatingAdmissionPolicy ?? []).includes(spec?.policyName ?? ''))
          findings.push(`${where}: spec.policyName ${spec?.policyName} is not the platform's`);
        if (!confined(spec?.matchResources?.namespaceSelector, allowed))
          findings.push(
            `${where}: spec.matchResources.namespaceSelector could select namespaces outside catalogue.yaml (argocd, kube-system, ...): require kubernetes.io/metadata.name or environment of the catalogue`,
          );
      }
    } else if (ownElsewhere) {
      if (!ownElsewhere.includes(name))
        findings.push(
          `${where}: not one of the platform's own ${kind} objects in ${namespace} (${ownElsewhere.join(', ')})`,
        );
    } else if (namespace === undefined || !namespaces.includes(namespace)) {
      findings.push(
        namespace === undefined
          ? `${where}: names no namespace (cluster-scoped, or applied wherever the app points); only catalogue namespaces are allowed`
          : `${where}: metadata.namespace ${namespace} is not a namespace of catalogue.yaml`,
      );
    }
    for (const subject of object.subjects ?? []) {
      const subjectNamespace = subject.namespace ?? namespace ?? '';
      if (
        subject.kind === 'ServiceAccount' &&
        !namespaces.includes(subjectNamespace) &&
        !(allowed.serviceAccountsElsewhere ?? []).includes(`${subjectNamespace}/${subject.name}`)
      )
        findings.push(
          `${where}: subjects names ServiceAccount ${subject.namespace}/${subject.name}, outside catalogue.yaml's namespaces`,
        );
    }
  }
  return findings;
}

interface Analysis {
  templates?: { templateName?: string }[];
  args?: { name?: string }[];
}
interface TemplateArgument {
  name?: string;
  value?: string;
}
interface RolloutSpec {
  selector?: unknown;
  workloadRef?: ObjectReference;
  strategy?: { canary?: { analysis?: Analysis; steps?: { analysis?: Analysis }[] } };
}
interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
}

const apiGroup = (apiVersion = '') => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** What is wrong between one analysis of a Rollout and the AnalysisTemplates it names. */
function analysisFindings(
  where: string,
  analysis: Analysis,
  template: (name?: string) => ManifestObject | undefined,
): string[] {
  const findings: string[] = [];
  const supplied = new Set((analysis.args ?? []).map((arg) => arg.name));
  const declared = new Set<string | undefined>();
  let allRendered = true;
  for (const { templateName } of analysis.templates ?? []) {
    const found = template(templateName);
    if (!found) {
      allRendered = false;
      findings.push(
        `${where}: its analysis names AnalysisTemplate ${templateName}, which this target does not render`,
      );
      continue;
    }
    for (const arg of (found.spec?.args ?? []) as TemplateArgument[]) {
      declared.add(arg.name);
      if (arg.value === undefined && !supplied.has(arg.name))
        findings.push(
          `${where}: its analysis args do not supply ${arg.name}, which AnalysisTemplate ${templateName} requires (spec.args, no value)`,
        );
    }
  }
  // Only with every template at hand is an argument known to be declared by none.
  if (allRendered)
    for (const name of supplied)
      if (!declared.has(name))
        findings.push(
          `${where}: its analysis args supply ${name}, which no AnalysisTemplate it names declares`,
        );
  return findings;
}

/**
 * What would leave a workload without its pods or its scaler, or with two owners of either:
 * each HorizontalPodAutoscaler's spec.scaleTargetRef must name an object this target renders in
 * its namespace (kube-score checks Deployments and StatefulSets only); each Rollout's
 * spec.workloadRef a rendered Deployment with the Rollout's selector, no spec.replicas (the
 * Rollout scales it down, and replicas in Git would scale it up again at every sync) and no
 * autoscaler of its own (the Rollout's count is the one that serves); and each AnalysisTemplate
 * a Rollout's analysis names must be rendered, its arguments without a value supplied by the
 * Rollout and the Rollout's arguments declared by it.
 */
export function workloadFindings(objects: ManifestObject[]): string[] {
  const findings: string[] = [];
  const rendered = (namespace: string | undefined, { apiVersion, kind, name }: ObjectReference) =>
    objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata?.name === name &&
        o.metadata?.namespace === namespace &&
        apiGroup(o.apiVersion) === apiGroup(apiVersion),
    );
  // The Rollout that runs the pods of each Deployment, by `<namespace>/<name>` of the Deployment.
  const runBy = new Map<string, string>();

  for (const rollout of objects.filter((o) => o.kind === 'Rollout')) {
    const where = objectName(rollout);
    const namespace = rollout.metadata?.namespace;
    const spec = (rollout.spec ?? {}) as RolloutSpec;
    const ref = spec.workloadRef;
    const deployment = ref?.kind === 'Deployment' ? rendered(namespace, ref) : undefined;
    if (ref && !deployment)
      findings.push(
        `${where}: spec.workloadRef names ${ref.kind} ${ref.name} (${ref.apiVersion}), not a Deployment this target renders in ${namespace}`,
      );
    if (ref && deployment) {
      runBy.set(`${namespace}/${ref.name}`, rollout.metadata?.name ?? '');
      if (!isDeepStrictEqual(spec.selector, deployment.spec?.selector))
        findings.push(
          `${where}: spec.selector differs from Deployment ${ref.name}'s, so the Rollout would not own the pods it runs`,
        );
      if (deployment.spec?.replicas !== undefined)
        findings.push(
          `${objectName(deployment)}: spec.replicas is set, but Rollout ${rollout.metadata?.name} runs its pods (spec.workloadRef): every sync would scale up again what the Rollout scaled down`,
        );
    }
    const canary = spec.strategy?.canary;
    const template = (name?: string) =>
      rendered(namespace, { apiVersion: rollout.apiVersion, kind: 'AnalysisTemplate', name });
    for (const analysis of [canary?.analysis, ...(canary?.steps ?? []).map((s) => s.analysis)])
      if (analysis) findings.push(...analysisFindings(where, analysis, template));
  }

  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const namespace = hpa.metadata?.namespace;
    const target = (hpa.spec?.scaleTargetRef ?? {}) as ObjectReference;
    const named = `${objectName(hpa)}: spec.scaleTargetRef names ${target.kind} ${target.name} (${target.apiVersion})`;
    const rollout = runBy.get(`${namespace}/${target.name}`);
    if (!rendered(namespace, target))
      findings.push(`${named}, which this target does not render in ${namespace}`);
    else if (target.kind === 'Deployment' && rollout !== undefined)
      findings.push(`${named}, whose pods Rollout ${rollout} runs: scale the Rollout`);
  }
  return findings;
}
