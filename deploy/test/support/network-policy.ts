import type { K8sObject } from '@internal/test-kit';

/**
 * A small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) over rendered manifests, so
 * tests can ask "may this pod open a connection to that pod's port?" instead of eyeballing YAML.
 * Named ports and ipBlocks are not used by our policies and are rejected rather than guessed.
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

interface PolicyPort {
  port?: number | string;
  protocol?: string;
}

interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

/** A pod in the cluster, or a client outside it (a browser, a NodePort user). */
export type Endpoint = { namespace: string; labels: Record<string, string> } | { external: true };

export function matches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(
    ([key, value]) => labels[key] === value,
  );
  const byExpressions = (selector.matchExpressions ?? []).every(
    ({ key, operator, values = [] }) => {
      const value = labels[key];
      switch (operator) {
        case 'In':
          return value !== undefined && values.includes(value);
        case 'NotIn':
          return value === undefined || !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
      }
    },
  );
  return byLabels && byExpressions;
}

export class NetworkModel {
  private readonly policies: { namespace: string; name: string; spec: PolicySpec }[];
  private readonly namespaceLabels = new Map<string, Record<string, string>>();

  /**
   * `objects`: rendered manifests. `extraNamespaces`: namespaces that exist in the cluster but
   * not in the manifests (kube-system, the ingress controller's), with their labels.
   */
  constructor(objects: K8sObject[], extraNamespaces: Record<string, Record<string, string>> = {}) {
    for (const [name, labels] of Object.entries(extraNamespaces)) this.addNamespace(name, labels);
    for (const ns of objects.filter((o) => o.kind === 'Namespace'))
      this.addNamespace(ns.metadata.name, ns.metadata.labels ?? {});
    this.policies = objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => ({
        namespace: o.metadata.namespace ?? 'default',
        name: o.metadata.name,
        spec: o.spec as PolicySpec,
      }));
    for (const { name, spec } of this.policies) {
      for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
          if (peer.ipBlock)
            throw new Error(`NetworkPolicy ${name}: ipBlock peers are not modelled`);
        }
        for (const port of rule.ports ?? []) {
          if (typeof port.port === 'string')
            throw new Error(`NetworkPolicy ${name}: named ports are not modelled`);
        }
      }
    }
  }

  private addNamespace(name: string, labels: Record<string, string>): void {
    // The API server sets this label on every namespace; selectors rely on it.
    this.namespaceLabels.set(name, { ...labels, 'kubernetes.io/metadata.name': name });
  }

  /** Names of the policies whose podSelector picks a pod with these labels in this namespace. */
  policiesSelecting(namespace: string, labels: Record<string, string>): string[] {
    return this.policies
      .filter((p) => p.namespace === namespace && matches(p.spec.podSelector, labels))
      .map((p) => p.name);
  }

  /** Whether `source` may open a connection to `destination` on `port`/`protocol`. */
  allows(source: Endpoint, destination: Endpoint, port: number, protocol = 'TCP'): boolean {
    const egressOk =
      'external' in source || this.permits('Egress', source, destination, port, protocol);
    const ingressOk =
      'external' in destination || this.permits('Ingress', destination, source, port, protocol);
    return egressOk && ingressOk;
  }

  /** Whether the policies on `destination` alone admit `source`, whatever the source's own egress rules say. */
  admits(
    destination: { namespace: string; labels: Record<string, string> },
    source: Endpoint,
    port: number,
    protocol = 'TCP',
  ): boolean {
    return this.permits('Ingress', destination, source, port, protocol);
  }

  private permits(
    direction: 'Ingress' | 'Egress',
    pod: { namespace: string; labels: Record<string, string> },
    peer: Endpoint,
    port: number,
    protocol: string,
  ): boolean {
    const applicable = this.policies.filter(
      (p) =>
        p.namespace === pod.namespace &&
        matches(p.spec.podSelector, pod.labels) &&
        types(p.spec).includes(direction),
    );
    if (applicable.length === 0) return true;
    return applicable.some(({ namespace, spec }) =>
      (direction === 'Ingress' ? spec.ingress : spec.egress)?.some((rule) => {
        const peers = direction === 'Ingress' ? rule.from : rule.to;
        const peerOk =
          !peers || peers.length === 0 || peers.some((p) => this.peerMatches(p, namespace, peer));
        const portOk =
          !rule.ports ||
          rule.ports.length === 0 ||
          rule.ports.some(
            (p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port),
          );
        return peerOk && portOk;
      }),
    );
  }

  private peerMatches(peer: PolicyPeer, policyNamespace: string, endpoint: Endpoint): boolean {
    if ('external' in endpoint) return false;
    const namespaceOk = peer.namespaceSelector
      ? matches(peer.namespaceSelector, this.namespaceLabels.get(endpoint.namespace) ?? {})
      : endpoint.namespace === policyNamespace;
    return namespaceOk && matches(peer.podSelector, endpoint.labels);
  }
}

function types(spec: PolicySpec): ('Ingress' | 'Egress')[] {
  if (spec.policyTypes) return spec.policyTypes;
  return spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}
