import path from 'node:path';
import YAML from 'yaml';
import { capture, type Finished } from './processes';

/** One object of `kustomize build` output, with just the fields the delivery tool reads. */
export interface RenderedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

export const parseRendered = (text: string): RenderedObject[] =>
  YAML.parseAllDocuments(text)
    .map((doc) => doc.toJS() as RenderedObject | null)
    .filter((object): object is RenderedObject => object !== null && typeof object === 'object');

/** `kustomize build` of a directory (relative to root), with its objects when it succeeded. */
export function kustomizeBuild(
  kustomize: string,
  root: string,
  dir: string,
): Finished & { objects: RenderedObject[] } {
  const rendered = capture(kustomize, ['build', path.resolve(root, dir)], { cwd: root });
  return { ...rendered, objects: rendered.status === 0 ? parseRendered(rendered.stdout) : [] };
}

interface ServicePort {
  port?: number;
  nodePort?: number;
}
interface EnvVar {
  name?: string;
  valueFrom?: { secretKeyRef?: { name?: string; key?: string } };
}

/** How a person reaches an environment's entry point from outside the cluster. */
export interface Exposure {
  service: string;
  namespace: string;
  port: number;
  nodePort?: number;
  ingress?: string;
  /** The Secret and key holding the API tokens the service accepts, when it takes any. */
  tokens?: { secret: string; key: string };
}

const podEnv = (deployment: RenderedObject): EnvVar[] => {
  const template = deployment.spec?.template as
    { spec?: { containers?: { env?: EnvVar[] }[] } } | undefined;
  return (template?.spec?.containers ?? []).flatMap((container) => container.env ?? []);
};

/**
 * The Services reachable from outside the cluster (a NodePort, or the backend of an Ingress),
 * each with the Secret of API tokens its Deployment reads from a `*_API_TOKENS` variable.
 */
export function exposures(objects: RenderedObject[]): Exposure[] {
  const find = (kind: string, name: string, namespace?: string) =>
    objects.find(
      (o) => o.kind === kind && o.metadata?.name === name && o.metadata?.namespace === namespace,
    );
  const ingressBackends = new Map<string, string>();
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    const rules = (ingress.spec?.rules ?? []) as {
      http?: { paths?: { backend?: { service?: { name?: string } } }[] };
    }[];
    for (const backend of rules.flatMap((rule) => rule.http?.paths ?? []))
      if (backend.backend?.service?.name)
        ingressBackends.set(
          `${ingress.metadata?.namespace}/${backend.backend.service.name}`,
          ingress.metadata?.name ?? '',
        );
  }
  return objects
    .filter((o) => o.kind === 'Service')
    .flatMap((service): Exposure[] => {
      const name = service.metadata?.name ?? '';
      const namespace = service.metadata?.namespace ?? '';
      const [port] = (service.spec?.ports ?? []) as ServicePort[];
      const ingress = ingressBackends.get(`${namespace}/${name}`);
      const nodePort = service.spec?.type === 'NodePort' ? port?.nodePort : undefined;
      if (!port?.port || (nodePort === undefined && ingress === undefined)) return [];
      const deployment = find('Deployment', name, namespace);
      const tokens = deployment
        ? podEnv(deployment).find((v) => v.name?.endsWith('_API_TOKENS'))?.valueFrom?.secretKeyRef
        : undefined;
      return [
        {
          service: name,
          namespace,
          port: port.port,
          nodePort,
          ingress,
          tokens: tokens?.name && tokens.key ? { secret: tokens.name, key: tokens.key } : undefined,
        },
      ];
    });
}

/** The objects of one kind among rendered objects, by namespace and name. */
export const objectsOfKind = (
  objects: RenderedObject[],
  kind: string,
): { namespace: string; name: string }[] =>
  objects
    .filter((o) => o.kind === kind && o.metadata?.name)
    .map((o) => ({ namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' }));
