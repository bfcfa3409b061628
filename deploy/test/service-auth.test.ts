import {
  ENVIRONMENTS,
  KUSTOMIZATIONS,
  containerEnv,
  find,
  podTemplates,
  render,
  renderEnv,
  renderYaml,
} from './support/manifests';

// Both services fail closed: they start without bearer tokens only with PAYMENT_AUTH=disabled
// or ANTAEUS_AUTH=disabled, the local compatibility mode of `npm start`. No deployment may set
// either, and every deployed Antaeus reads its accepted tokens from a Secret.

const OPT_OUTS = ['PAYMENT_AUTH', 'ANTAEUS_AUTH'];

describe.each(KUSTOMIZATIONS)('kustomize build deploy/%s', (dir) => {
  it('sets no *_AUTH anywhere (authentication is never disabled in a deployment)', () => {
    // REDISCLI_AUTH is no opt-out: it hands the Redis password to redis-cli in Redis's probes.
    const yaml = renderYaml(dir).replaceAll('REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli', '');
    expect(yaml).not.toMatch(/_AUTH\b/);
    expect(yaml).not.toMatch(/=\s*disabled\b|:\s*['"]?disabled['"]?\s*$/m);
    for (const pod of podTemplates(render(dir))) {
      for (const container of pod.spec.containers) {
        const names = [
          ...(container.env ?? []).map((v) => v.name),
          ...Object.keys(containerEnv(render(dir), pod.namespace, container).values),
        ];
        expect(names.filter((name) => OPT_OUTS.includes(name))).toEqual([]);
      }
    }
  });
});

describe.each(ENVIRONMENTS)('the %s environment', (env) => {
  const objects = () => renderEnv(env);

  it.each([
    ['Deployment', 'antaeus'],
    ['CronJob', 'antaeus-monthly-billing'],
  ])('%s %s reads ANTAEUS_API_TOKENS from a Secret, never from a value', (kind, name) => {
    const pod = podTemplates(objects()).find(
      (p) => p.workload.kind === kind && p.workload.metadata.name === name,
    );
    expect(pod?.namespace).toBe(`billing-${env}`);
    const container = pod!.spec.containers[0]!;
    const variable = container.env?.find((v) => v.name === 'ANTAEUS_API_TOKENS');
    expect(variable).toEqual({
      name: 'ANTAEUS_API_TOKENS',
      valueFrom: { secretKeyRef: { name: 'antaeus-api-tokens', key: 'tokens' } },
    });
    const { values, secrets } = containerEnv(objects(), pod!.namespace, container);
    expect(values.ANTAEUS_API_TOKENS).toBeUndefined();
    expect(secrets.ANTAEUS_API_TOKENS).toEqual({ name: 'antaeus-api-tokens', key: 'tokens' });
  });

  it('payment reads PAYMENT_API_TOKENS from a Secret, never from a value', () => {
    const { spec, namespace } = podTemplates(objects()).find(
      (p) => p.workload.kind === 'Deployment' && p.workload.metadata.name === 'payment',
    )!;
    const { values, secrets } = containerEnv(objects(), namespace, spec.containers[0]!);
    expect(values.PAYMENT_API_TOKENS).toBeUndefined();
    expect(secrets.PAYMENT_API_TOKENS).toEqual({ name: 'payment-api-tokens', key: 'tokens' });
  });

  it('commits no Secret (they are created as the README says)', () => {
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(() => find(objects(), 'Secret', 'antaeus-api-tokens')).toThrow();
  });
});

// Antaeus's API starts billing runs: it is published on the internal ingress class only, never
// on a public load balancer (README, Security).
describe.each(ENVIRONMENTS)('deploy/envs/%s', (env) => {
  it('publishes Antaeus only through an Ingress of the internal class', () => {
    const ingresses = renderEnv(env).filter((object) => object.kind === 'Ingress');
    for (const ingress of ingresses) {
      expect([
        ingress.metadata.name,
        (ingress as { spec?: { ingressClassName?: string } }).spec?.ingressClassName,
      ]).toEqual([ingress.metadata.name, 'traefik-internal']);
    }
  });
});
