import { DeliveryError } from './errors';
import { kustomizeBuild } from './rendered';
import type { Repository } from './repository';
import { requireInstalled, toolPath } from './tools';

/** A Secret one service reads in one environment, and the keys it reads from it. */
export interface SecretUse {
  secret: string;
  namespace: string;
  service: string;
  /** The keys read by name; a Secret mounted or loaded whole has none listed and takes any key. */
  keys: string[];
  /** Read whole (envFrom, a volume without items): any key is legitimate. */
  whole: boolean;
  /** The objects that read it, by kind and name: the workloads a new value must roll. */
  readers: { kind: string; name: string }[];
}

type Node = unknown;

/**
 * Every reference to a Secret in one rendered object: secretKeyRef and the Prometheus Operator's
 * SecretKeySelectors (bearerTokenSecret, authorization.credentials) by key; envFrom secretRef and
 * secret volumes whole, or by key when the volume lists items.
 */
function references(node: Node, found: { secret: string; key?: string }[] = []) {
  if (Array.isArray(node)) {
    for (const item of node) references(item, found);
    return found;
  }
  if (node === null || typeof node !== 'object') return found;
  for (const [field, value] of Object.entries(node as Record<string, unknown>)) {
    const ref = value as { name?: unknown; key?: unknown; secretName?: unknown; items?: unknown };
    if (['secretKeyRef', 'bearerTokenSecret', 'credentials'].includes(field)) {
      if (typeof ref?.name === 'string' && typeof ref.key === 'string')
        found.push({ secret: ref.name, key: ref.key });
    } else if (field === 'secretRef' && typeof ref?.name === 'string') {
      found.push({ secret: ref.name });
    } else if (field === 'secret' && typeof ref?.secretName === 'string') {
      const items = Array.isArray(ref.items) ? (ref.items as { key?: unknown }[]) : [];
      const keys = items.flatMap((item) => (typeof item.key === 'string' ? [item.key] : []));
      if (keys.length === 0) found.push({ secret: ref.secretName });
      for (const key of keys) found.push({ secret: ref.secretName, key });
    } else {
      references(value, found);
    }
  }
  return found;
}

/** The rendered overlay of one service in one environment, with the pinned kustomize. */
function renderOverlay(repo: Repository, service: string, env: string) {
  const dir = repo.catalogue.overlayPath(service, env);
  const kustomize = requireInstalled(toolPath(repo, 'kustomize'));
  const { status, stderr, objects } = kustomizeBuild(kustomize, repo.root, dir);
  if (status !== 0) throw new DeliveryError(`kustomize build ${dir} failed\n${stderr}`);
  return objects;
}

/** The Secrets cert-manager makes from the Certificates among `objects` (spec.secretName). */
function issuedSecrets(objects: ReturnType<typeof renderOverlay>): Set<string> {
  return new Set(
    objects
      .filter((o) => o.kind === 'Certificate' && o.apiVersion?.startsWith('cert-manager.io/'))
      .map((o) => (o.spec as { secretName?: string } | undefined)?.secretName ?? ''),
  );
}

/**
 * The Secrets the services of one environment read, found in their rendered manifests: the
 * manifests, not a second list, say which Secrets exist and which service's folder holds each.
 * A certificate's Secret, which cert-manager makes in the cluster, is not one of them.
 */
export function secretUses(repo: Repository, env: string): SecretUse[] {
  const uses = new Map<string, SecretUse>();
  for (const service of repo.catalogue.serviceNames()) {
    const namespace = repo.catalogue.namespace(repo.catalogue.teamOf(service), env);
    const objects = renderOverlay(repo, service, env);
    const issued = issuedSecrets(objects);
    for (const object of objects) {
      if (object.kind === 'SealedSecret') continue;
      for (const { secret, key } of references(object)) {
        if (issued.has(secret)) continue;
        const id = `${namespace}/${secret}`;
        const use = uses.get(id) ?? {
          secret,
          namespace,
          service,
          keys: [],
          whole: false,
          readers: [],
        };
        if (use.service !== service)
          throw new DeliveryError(
            `Secret ${id} is read by both ${use.service} and ${service}: each Secret belongs to one service's folder`,
          );
        const reader = { kind: object.kind ?? '', name: object.metadata?.name ?? '' };
        if (!use.readers.some((r) => r.kind === reader.kind && r.name === reader.name))
          use.readers.push(reader);
        if (key === undefined) use.whole = true;
        else if (!use.keys.includes(key)) use.keys.push(key);
        uses.set(id, use);
      }
    }
  }
  return [...uses.values()].sort((a, b) => a.secret.localeCompare(b.secret));
}
