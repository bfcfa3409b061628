import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  DEPLOY_DIR,
  ENVIRONMENTS,
  find,
  ofKind,
  podTemplates,
  renderEnv,
  selects,
  type Environment,
} from './support/manifests';
import type { K8sObject } from '@internal/test-kit';

/** The internal ingress controller, as deploy/platform/internal-ingress names it (once). */
const INTERNAL_INGRESS = YAML.parse(
  fs.readFileSync(path.join(DEPLOY_DIR, 'platform/internal-ingress/controller.yaml'), 'utf8'),
) as { spec: { ingressClassName: string; namespace: string; podLabels: Record<string, string> } };
type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
type Peer = Record<string, unknown>;
type Rule = { from?: Peer[]; to?: Peer[]; ports?: { port?: number | string }[] };

// What the policies allow is asked of kube-router with real connections in the lab
// (lab/test/network-policy.test.ts); here only their shape, so a typo fails before any cluster.
describe.each(ENVIRONMENTS)('network policies in %s', (env: Environment) => {
  const objects = () => renderEnv(env);

  it('has every NetworkPolicy select at least one pod it was written for', () => {
    const pods = podTemplates(objects());
    for (const policy of ofKind(objects(), 'NetworkPolicy')) {
      const { matchLabels = {}, ...rest } = (policy.spec as { podSelector: Selector }).podSelector;
      // Only matchLabels: an expression would need an evaluator, which is the lab's job.
      expect(rest).toEqual({});
      const selecting = pods.filter(
        (p) =>
          p.namespace === policy.metadata.namespace &&
          Object.entries(matchLabels).every(([key, value]) => p.labels[key] === value),
      );
      expect([policy.metadata.namespace, policy.metadata.name, selecting.length > 0]).toEqual([
        policy.metadata.namespace,
        policy.metadata.name,
        true,
      ]);
    }
  });

  it('names no port by name and no ipBlock, which the lab does not exercise', () => {
    for (const policy of ofKind(objects(), 'NetworkPolicy')) {
      const spec = policy.spec as { ingress?: Rule[]; egress?: Rule[] };
      for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
        for (const { port } of rule.ports ?? []) expect(typeof port).toBe('number');
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
          expect(peer).not.toHaveProperty('ipBlock');
        }
      }
    }
  });
});

describe.each(ENVIRONMENTS)('platform layer in %s', (env: Environment) => {
  const objects = () => renderEnv(env);
  const teams = {
    payments: ['payments-developers', 'payments-release'],
    billing: ['billing-developers', 'billing-release'],
  };

  it.each(Object.keys(teams))(
    'gives the %s namespace restricted Pod Security, a quota, defaults and default-deny',
    (team) => {
      const namespace = `${team}-${env}`;
      expect(find(objects(), 'Namespace', namespace).metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
        team,
        environment: env,
      });
      find(objects(), 'ResourceQuota', 'team-quota', namespace);
      find(objects(), 'LimitRange', 'container-defaults', namespace);
      expect(find(objects(), 'NetworkPolicy', 'default-deny-all', namespace).spec).toEqual({
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
      });
      find(objects(), 'NetworkPolicy', 'allow-dns-egress', namespace);
      expect(find(objects(), 'ServiceAccount', 'argocd-deployer', namespace)).toMatchObject({
        automountServiceAccountToken: false,
      });
    },
  );

  it('binds each team group read-only, in its own namespaces only, without access to Secrets', () => {
    for (const binding of ofKind(objects(), 'RoleBinding').filter(
      (b) => b.metadata.name === 'team-read-only',
    )) {
      const team = binding.metadata.namespace!.split('-')[0] as keyof typeof teams;
      const groups = (
        binding as unknown as { subjects: { kind: string; name: string }[] }
      ).subjects.map((s) => `${s.kind}:${s.name}`);
      expect(groups).toEqual(teams[team].map((g) => `Group:${g}`));
    }
    for (const role of ofKind(objects(), 'Role')) {
      const rules = (role as unknown as { rules: { resources: string[]; verbs: string[] }[] })
        .rules;
      // The one exception, by name and checked below: the monitoring operator's scrape tokens.
      if (role.metadata.name === SCRAPE_CREDENTIALS) continue;
      for (const rule of rules) expect(rule.resources).not.toContain('secrets');
      if (role.metadata.name === 'team-read-only') {
        expect(new Set(rules.flatMap((r) => r.verbs))).toEqual(new Set(['get', 'list', 'watch']));
      }
    }
    expect(ofKind(objects(), 'ClusterRoleBinding')).toEqual([]);
  });
});

/** The Role by which the platform lets the Prometheus Operator read the scrape tokens. */
const SCRAPE_CREDENTIALS = 'prometheus-operator-scrape-credentials';
/** The cluster's monitoring stack, as lab/scripts/monitoring/ runs it. */
const MONITORING_NAMESPACE = 'monitoring';
const PROMETHEUS_PODS = {
  'app.kubernetes.io/name': 'prometheus',
  'operator.prometheus.io/name': 'prometheus',
};

type Endpoint = { port: string; authorization?: { credentials?: { name: string; key: string } } };
type ServiceMonitor = K8sObject & {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: Endpoint[] };
};

// Each team ships its ServiceMonitors (base/monitoring); the platform admits the scrape and lets
// the operator read the tokens they name. The two must agree in every environment, or the target
// is down (lab/test/monitoring.test.ts sees that on the lab).
describe.each(ENVIRONMENTS)(
  'monitoring in %s: the platform admits what the teams scrape',
  (env) => {
    const objects = () => renderEnv(env);
    const monitors = () => ofKind(objects(), 'ServiceMonitor') as ServiceMonitor[];
    const namespaces = () => [...new Set(monitors().map((m) => m.metadata.namespace!))].sort();

    it('has a ServiceMonitor in every team namespace with a Service', () => {
      const withServices = [
        ...new Set(ofKind(objects(), 'Service').map((s) => s.metadata.namespace!)),
      ];
      expect(namespaces()).toEqual(withServices.sort());
    });

    it("lets the Prometheus pods reach exactly the container port each ServiceMonitor's endpoint names", () => {
      for (const namespace of namespaces()) {
        const allowed = ofKind(objects(), 'NetworkPolicy')
          .filter((p) => p.metadata.namespace === namespace)
          .flatMap((p) => (p.spec as { ingress?: Rule[] }).ingress ?? [])
          .filter((rule) =>
            (rule.from ?? []).some(
              (peer) =>
                JSON.stringify(peer) ===
                JSON.stringify({
                  namespaceSelector: {
                    matchLabels: { 'kubernetes.io/metadata.name': MONITORING_NAMESPACE },
                  },
                  podSelector: { matchLabels: PROMETHEUS_PODS },
                }),
            ),
          )
          .flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
        const scraped = monitors()
          .filter((m) => m.metadata.namespace === namespace)
          .flatMap((monitor) => {
            const service = ofKind(objects(), 'Service').find(
              (s) =>
                s.metadata.namespace === namespace &&
                selects(monitor.spec.selector.matchLabels, s.metadata.labels ?? {}),
            )!;
            const pods = podTemplates(objects()).filter(
              (p) =>
                p.namespace === namespace &&
                selects((service.spec as { selector: Record<string, string> }).selector, p.labels),
            );
            return monitor.spec.endpoints.map((endpoint) => {
              const servicePort = (
                service.spec as { ports: { name: string; targetPort: number | string }[] }
              ).ports.find((p) => p.name === endpoint.port)!;
              const container = pods[0]!.spec.containers.flatMap((c) => c.ports ?? []);
              return typeof servicePort.targetPort === 'number'
                ? servicePort.targetPort
                : container.find((p) => p.name === servicePort.targetPort)!.containerPort;
            });
          });
        expect([namespace, [...new Set(allowed)].sort()]).toEqual([
          namespace,
          [...new Set(scraped)].sort(),
        ]);
      }
    });

    it('lets the Prometheus Operator get exactly the Secrets the ServiceMonitors name, and nothing else', () => {
      for (const namespace of namespaces()) {
        const named = monitors()
          .filter((m) => m.metadata.namespace === namespace)
          .flatMap((m) => m.spec.endpoints.map((e) => e.authorization?.credentials?.name))
          .filter((name): name is string => name !== undefined);
        expect(find(objects(), 'Role', SCRAPE_CREDENTIALS, namespace)).toMatchObject({
          rules: [
            {
              apiGroups: [''],
              resources: ['secrets'],
              resourceNames: [...new Set(named)].sort(),
              verbs: ['get'],
            },
          ],
        });
        expect(find(objects(), 'RoleBinding', SCRAPE_CREDENTIALS, namespace)).toMatchObject({
          roleRef: { kind: 'Role', name: SCRAPE_CREDENTIALS },
          subjects: [
            {
              kind: 'ServiceAccount',
              name: 'prometheus-operator',
              namespace: MONITORING_NAMESPACE,
            },
          ],
        });
      }
    });
  },
);

describe('the internal Ingress and the policy that admits its controller', () => {
  const withIngress = ENVIRONMENTS.filter((env) => ofKind(renderEnv(env), 'Ingress').length > 0);

  it('exist in staging and prod at least', () => {
    expect(withIngress).toEqual(expect.arrayContaining(['staging', 'prod']));
  });

  it.each(withIngress)(
    '%s: the policy admits exactly the controller of the class the rendered Ingress uses',
    (env) => {
      const [ingress, ...others] = ofKind(renderEnv(env), 'Ingress');
      expect(others).toEqual([]);
      const className = (ingress!.spec as { ingressClassName?: string }).ingressClassName;
      expect(className).toBe(INTERNAL_INGRESS.spec.ingressClassName);
      const policy = find(renderEnv(env), 'NetworkPolicy', 'antaeus-allow-external');
      expect((policy.spec as { ingress: unknown[] }).ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': INTERNAL_INGRESS.spec.namespace },
              },
              podSelector: { matchLabels: INTERNAL_INGRESS.spec.podLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: 8000 }],
        },
      ]);
    },
  );
});
