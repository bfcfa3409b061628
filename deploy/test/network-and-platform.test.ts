import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { K8sObject } from '@internal/test-kit';
import {
  DEPLOY_DIR,
  ENVIRONMENTS,
  find,
  ofKind,
  podTemplates,
  renderEnv,
  type Environment,
} from './support/manifests';
import { NetworkModel, type Endpoint } from './support/network-policy';

/** The internal ingress controller, as deploy/platform/internal-ingress names it (once). */
const INTERNAL_INGRESS = YAML.parse(
  fs.readFileSync(path.join(DEPLOY_DIR, 'platform/internal-ingress/controller.yaml'), 'utf8'),
) as { spec: { ingressClassName: string; namespace: string; podLabels: Record<string, string> } };
const INGRESS_CONTROLLER: Endpoint = {
  namespace: INTERNAL_INGRESS.spec.namespace,
  labels: INTERNAL_INGRESS.spec.podLabels,
};
/** A public controller beside it, and another pod of the internal controller's namespace. */
const PUBLIC_INGRESS_CONTROLLER: Endpoint = {
  namespace: 'ingress-nginx',
  labels: { ...INTERNAL_INGRESS.spec.podLabels, 'app.kubernetes.io/instance': 'ingress-nginx' },
};
const INGRESS_NAMESPACE_OTHER_POD: Endpoint = {
  namespace: INTERNAL_INGRESS.spec.namespace,
  labels: { 'app.kubernetes.io/component': 'admission-webhook' },
};
/** Namespaces a real cluster has that our manifests do not create. */
const CLUSTER_NAMESPACES = {
  'kube-system': {},
  'ingress-nginx': {},
  [INTERNAL_INGRESS.spec.namespace]: {},
  'some-other-team': {},
};
const KUBE_DNS: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
const INTERNET: Endpoint = { external: true };

function pod(
  objects: K8sObject[],
  kind: string,
  name: string,
): { namespace: string; labels: Record<string, string> } {
  const template = podTemplates(objects).find(
    (p) => p.workload.kind === kind && p.workload.metadata.name === name,
  );
  if (!template) throw new Error(`no ${kind} ${name}`);
  return { namespace: template.namespace, labels: template.labels };
}

describe.each(ENVIRONMENTS)('network policy in %s', (env: Environment) => {
  const objects = () => renderEnv(env);
  const model = () => new NetworkModel(objects(), CLUSTER_NAMESPACES);
  const payment = () => pod(objects(), 'Deployment', 'payment');
  const redis = () => pod(objects(), 'StatefulSet', 'payment-redis');
  const antaeus = () => pod(objects(), 'Deployment', 'antaeus');
  const billingJob = () => pod(objects(), 'CronJob', 'antaeus-monthly-billing');

  it('lets only Antaeus pods of the same environment reach payment, and only on its port', () => {
    const net = model();
    expect(net.allows(antaeus(), payment(), 9000)).toBe(true);
    expect(net.allows(billingJob(), payment(), 9000)).toBe(false);
    expect(net.allows(antaeus(), payment(), 9001)).toBe(false);
    // Same labels, wrong namespace: another team impersonating Antaeus gets nowhere.
    expect(
      net.allows({ namespace: 'some-other-team', labels: antaeus().labels }, payment(), 9000),
    ).toBe(false);
    expect(net.allows(redis(), payment(), 9000)).toBe(false);
    expect(net.allows(INGRESS_CONTROLLER, payment(), 9000)).toBe(false);
    expect(net.allows(INTERNET, payment(), 9000)).toBe(false);
    for (const other of ENVIRONMENTS.filter((e) => e !== env)) {
      const foreign = {
        namespace: `billing-${other}`,
        labels: { ...antaeus().labels, environment: other },
      };
      expect(net.allows(foreign, payment(), 9000)).toBe(false);
    }
  });

  it("guards payment's and Redis's own ingress, even against a pod whose egress is left open", () => {
    const net = model();
    const debugPod = {
      namespace: `billing-${env}`,
      labels: { 'app.kubernetes.io/name': 'debug-shell' },
    };
    expect(net.admits(payment(), antaeus(), 9000)).toBe(true);
    expect(net.admits(payment(), antaeus(), 9001)).toBe(false);
    expect(net.admits(payment(), debugPod, 9000)).toBe(false);
    expect(
      net.admits(payment(), { namespace: `payments-${env}`, labels: antaeus().labels }, 9000),
    ).toBe(false);
    expect(net.admits(redis(), payment(), 6379)).toBe(true);
    expect(net.admits(redis(), antaeus(), 6379)).toBe(false);
    expect(
      net.admits(
        redis(),
        { namespace: `payments-${env}`, labels: { 'app.kubernetes.io/name': 'debug-shell' } },
        6379,
      ),
    ).toBe(false);
  });

  it('lets payment reach only Redis and DNS, and nothing but payment reach Redis', () => {
    const net = model();
    expect(net.allows(payment(), redis(), 6379)).toBe(true);
    expect(net.allows(payment(), KUBE_DNS, 53, 'UDP')).toBe(true);
    expect(net.allows(payment(), antaeus(), 8000)).toBe(false);
    expect(net.allows(payment(), INTERNET, 443)).toBe(false);
    expect(net.allows(antaeus(), redis(), 6379)).toBe(false);
    expect(net.allows(billingJob(), redis(), 6379)).toBe(false);
    expect(net.allows(INGRESS_CONTROLLER, redis(), 6379)).toBe(false);
    expect(net.allows(redis(), INTERNET, 443)).toBe(false);
  });

  it('lets Antaeus reach only payment and DNS, and be reached from outside only on its port', () => {
    const net = model();
    expect(net.allows(antaeus(), KUBE_DNS, 53, 'UDP')).toBe(true);
    expect(net.allows(antaeus(), KUBE_DNS, 53, 'TCP')).toBe(true);
    expect(net.allows(antaeus(), redis(), 6379)).toBe(false);
    expect(net.allows(antaeus(), INTERNET, 443)).toBe(false);
    expect(net.allows(INGRESS_CONTROLLER, antaeus(), 8000)).toBe(true);
    expect(net.allows(INGRESS_CONTROLLER, antaeus(), 9000)).toBe(false);
    // Only the internal controller's own pods: not a public controller, not its namespace's others.
    expect(net.allows(PUBLIC_INGRESS_CONTROLLER, antaeus(), 8000)).toBe(env === 'dev');
    expect(net.allows(INGRESS_NAMESPACE_OTHER_POD, antaeus(), 8000)).toBe(env === 'dev');
    // dev publishes a NodePort to the reviewer; staging and prod only go through the Ingress.
    expect(net.allows(INTERNET, antaeus(), 8000)).toBe(env === 'dev');
    expect(net.allows(INTERNET, billingJob(), 8000)).toBe(false);
    // The billing job reaches the server's API and nothing else.
    expect(net.allows(billingJob(), antaeus(), 8000)).toBe(true);
    expect(net.allows(billingJob(), INTERNET, 443)).toBe(false);
  });

  it('has every NetworkPolicy select at least one pod it was written for', () => {
    const net = model();
    const pods = podTemplates(objects());
    for (const policy of ofKind(objects(), 'NetworkPolicy')) {
      const selecting = pods.filter((p) =>
        net.policiesSelecting(p.namespace, p.labels).includes(policy.metadata.name),
      );
      expect([policy.metadata.namespace, policy.metadata.name, selecting.length > 0]).toEqual([
        policy.metadata.namespace,
        policy.metadata.name,
        true,
      ]);
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
      for (const rule of rules) expect(rule.resources).not.toContain('secrets');
      if (role.metadata.name === 'team-read-only') {
        expect(new Set(rules.flatMap((r) => r.verbs))).toEqual(new Set(['get', 'list', 'watch']));
      }
    }
    expect(ofKind(objects(), 'ClusterRoleBinding')).toEqual([]);
  });
});

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
