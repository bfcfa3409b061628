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
  type Environment,
} from './support/manifests';

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
