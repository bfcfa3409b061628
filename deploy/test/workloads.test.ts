import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  DEPLOY_DIR,
  CATALOGUE,
  ENVIRONMENTS,
  ROOT,
  containerEnv,
  find,
  imageRegistryPath,
  ofKind,
  podTemplate,
  podTemplates,
  renderEnv,
  selects,
  type Container,
  type PodTemplate,
} from './support/manifests';

/** The paths each service's OpenAPI document says it serves (the apps serve their spec). */
function servedPaths(service: string): string[] {
  const spec = YAML.parse(
    fs.readFileSync(path.join(ROOT, 'services', service, 'openapi.yaml'), 'utf8'),
  ) as {
    paths: Record<string, unknown>;
  };
  return Object.keys(spec.paths);
}

const OUR_SERVICES = Object.fromEntries(
  CATALOGUE.services.map(({ name, team }) => [name, team]),
) as Record<string, string>;
/** Third-party images we run: an exact release and its digest (a tag can be rebuilt in place). */
const THIRD_PARTY_IMAGES = [
  /^docker\.io\/library\/redis:\d+\.\d+\.\d+-alpine@sha256:[0-9a-f]{64}$/,
];

function portNumber(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`${container.name} has no port named ${port}`);
  return named.containerPort;
}

describe.each(ENVIRONMENTS)('rendered %s environment', (env) => {
  const objects = () => renderEnv(env);
  const templates = () => podTemplates(objects());

  it('runs every container restricted: non-root, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    expect(templates().length).toBeGreaterThan(0);
    for (const { workload, spec } of templates()) {
      const where = `${workload.kind} ${workload.metadata.name}`;
      expect([where, spec.securityContext?.runAsNonRoot]).toEqual([where, true]);
      expect([where, spec.securityContext?.seccompProfile?.type]).toEqual([
        where,
        'RuntimeDefault',
      ]);
      expect([where, spec.automountServiceAccountToken]).toEqual([where, false]);
      for (const container of spec.containers) {
        expect([where, container.securityContext]).toEqual([
          where,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
        for (const kind of ['requests', 'limits'] as const) {
          expect([where, container.resources?.[kind]]).toEqual([
            where,
            expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
          ]);
        }
      }
    }
  });

  it('pulls our images from the registry named in scripts/repository.env, tagged, and pins third-party images', () => {
    const registry = imageRegistryPath();
    for (const { spec } of templates()) {
      for (const { image } of spec.containers) {
        const ours = Object.keys(OUR_SERVICES).some((name) =>
          image.startsWith(`${registry}/${name}:`),
        );
        const pinned = THIRD_PARTY_IMAGES.some((pattern) => pattern.test(image));
        expect([image, ours || pinned]).toEqual([image, true]);
        expect(image).not.toMatch(/:latest$/);
      }
    }
  });

  it('probes paths the apps serve, on the port that answers without a client certificate, which the Service targets', () => {
    for (const [service, team] of Object.entries(OUR_SERVICES)) {
      const namespace = `${team}-${env}`;
      const { spec } = podTemplate(objects(), 'Deployment', service);
      const container = spec.containers[0]!;
      const { values } = containerEnv(objects(), namespace, container);
      const appPort = Number(values.PORT);
      const opsPort = values.OPS_PORT === undefined ? undefined : Number(values.OPS_PORT);
      const ports = opsPort === undefined ? [appPort] : [appPort, opsPort];
      expect(container.ports?.map((p) => p.containerPort).sort()).toEqual([...ports].sort());
      // Under mutual TLS the service port refuses the kubelet (no client certificate) at the
      // handshake: the probes must use the ops port.
      const probePort = values.TLS_CLIENT_CA_FILE === undefined ? appPort : opsPort;
      expect([service, probePort]).toEqual([service, expect.any(Number)]);
      const paths = servedPaths(service);
      for (const probe of [
        container.startupProbe,
        container.readinessProbe,
        container.livenessProbe,
      ]) {
        expect(probe?.httpGet).toBeDefined();
        expect(paths).toContain(probe!.httpGet!.path);
        expect(portNumber(container, probe!.httpGet!.port)).toBe(probePort);
      }
      expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      const svc = find(objects(), 'Service', service, namespace).spec as {
        ports: { name: string; port: number; targetPort: number | string }[];
      };
      expect(svc.ports.map((p) => portNumber(container, p.targetPort)).sort()).toEqual(
        [...ports].sort(),
      );
      for (const port of svc.ports) expect(port.port).toBe(portNumber(container, port.targetPort));
    }
  });

  it("points Antaeus's PAYMENT_PROVIDER_ENDPOINT at the payment Service of the same environment", () => {
    const antaeus = podTemplate(objects(), 'Deployment', 'antaeus');
    const { values } = containerEnv(objects(), `billing-${env}`, antaeus.spec.containers[0]!);
    const endpoint = new URL(values.PAYMENT_PROVIDER_ENDPOINT ?? 'missing:');
    const [serviceName, namespace, ...rest] = endpoint.hostname.split('.');
    expect(rest.join('.')).toBe('svc.cluster.local');
    expect(namespace).toBe(`payments-${env}`);
    const payment = find(objects(), 'Service', serviceName!, namespace).spec as {
      ports: { port: number }[];
    };
    expect(payment.ports.map((p) => p.port)).toContain(Number(endpoint.port));
    expect(servedPaths('payment')).toContain(endpoint.pathname);
  });

  it('speaks mutual TLS between Antaeus and payment exactly where payment serves it, with certificates of the same CA', () => {
    const paymentContainer = podTemplate(objects(), 'Deployment', 'payment').spec.containers[0]!;
    const antaeusContainer = podTemplate(objects(), 'Deployment', 'antaeus').spec.containers[0]!;
    const payment = containerEnv(objects(), `payments-${env}`, paymentContainer).values;
    const antaeus = containerEnv(objects(), `billing-${env}`, antaeusContainer).values;
    const mutual = payment.TLS_CLIENT_CA_FILE !== undefined;
    // The first environment stays plain HTTP: the unmodified Kotlin Antaeus must reach it.
    expect(mutual).toBe(env !== ENVIRONMENTS[0]);
    expect(new URL(antaeus.PAYMENT_PROVIDER_ENDPOINT!).protocol).toBe(mutual ? 'https:' : 'http:');
    expect(antaeus.PAYMENT_TLS_CERT_FILE !== undefined).toBe(mutual);
    if (!mutual) return;
    const issuer = (name: string, namespace: string) =>
      (find(objects(), 'Certificate', name, namespace).spec as { issuerRef: { name: string } })
        .issuerRef.name;
    expect(issuer('payment-tls', `payments-${env}`)).toBe(`internal-ca-${env}`);
    expect(issuer('antaeus-client-tls', `billing-${env}`)).toBe(`internal-ca-${env}`);
  });

  it("has Antaeus's private entrance certified by the environment's internal CA, where it has one", () => {
    const ingresses = objects().filter((o) => o.kind === 'Ingress');
    expect(ingresses.length).toBe(env === ENVIRONMENTS[0] ? 0 : 1);
    for (const ingress of ingresses)
      expect(ingress.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBe(
        `internal-ca-${env}`,
      );
  });

  it('has Services, PDBs and HPAs that select exactly the pods they mean to', () => {
    const pods = templates();
    const selected = (namespace: string, selector: Record<string, string>) =>
      pods.filter(
        (p) =>
          p.namespace === namespace && p.workload.kind !== 'CronJob' && selects(selector, p.labels),
      );
    for (const svc of ofKind(objects(), 'Service')) {
      const matched = selected(
        svc.metadata.namespace!,
        (svc.spec as { selector: Record<string, string> }).selector,
      );
      expect([svc.metadata.name, matched.map((p) => p.workload.metadata.name)]).toEqual([
        svc.metadata.name,
        [svc.metadata.name],
      ]);
    }
    for (const pdb of ofKind(objects(), 'PodDisruptionBudget')) {
      const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels;
      expect(
        selected(pdb.metadata.namespace!, selector).map((p) => p.workload.metadata.name),
      ).toEqual([pdb.metadata.name]);
    }
    for (const hpa of ofKind(objects(), 'HorizontalPodAutoscaler')) {
      const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } })
        .scaleTargetRef;
      find(objects(), target.kind, target.name, hpa.metadata.namespace);
    }
    for (const { workload, spec } of pods) {
      const selector = (workload.spec as { selector?: { matchLabels: Record<string, string> } })
        .selector;
      if (selector)
        expect(
          selects(
            selector.matchLabels,
            podTemplate(objects(), workload.kind, workload.metadata.name).labels,
          ),
        ).toBe(true);
      find(
        objects(),
        'ServiceAccount',
        spec.serviceAccountName ?? 'default',
        workload.metadata.namespace,
      );
    }
  });

  it('gives every pod a grace period longer than the drain and shutdown time its app is configured with', () => {
    for (const [service, team] of Object.entries(OUR_SERVICES)) {
      const { spec } = podTemplate(objects(), 'Deployment', service);
      const { values } = containerEnv(objects(), `${team}-${env}`, spec.containers[0]!);
      const drainMs = Number(values.DRAIN_DELAY_MS) + Number(values.SHUTDOWN_TIMEOUT_MS);
      expect(drainMs).toBeGreaterThan(0);
      expect((spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(drainMs);
    }
  });

  it('references Secrets and never carries a Secret value', () => {
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    const payment = podTemplate(objects(), 'Deployment', 'payment');
    expect(containerEnv(objects(), `payments-${env}`, payment.spec.containers[0]!).secrets).toEqual(
      {
        PAYMENT_API_TOKENS: { name: 'payment-api-tokens', key: 'tokens' },
        PAYMENT_METRICS_TOKENS: { name: 'payment-api-tokens', key: 'metrics-token' },
        REDIS_PASSWORD: { name: 'payment-redis', key: 'password' },
      },
    );
    const redis = podTemplate(objects(), 'StatefulSet', 'payment-redis');
    expect(containerEnv(objects(), `payments-${env}`, redis.spec.containers[0]!).secrets).toEqual({
      REDIS_PASSWORD: { name: 'payment-redis', key: 'password' },
    });
    const antaeus = podTemplate(objects(), 'Deployment', 'antaeus');
    expect(containerEnv(objects(), `billing-${env}`, antaeus.spec.containers[0]!).secrets).toEqual({
      PAYMENT_API_TOKEN: { name: 'payment-api-token', key: 'token' },
      ANTAEUS_API_TOKENS: { name: 'antaeus-api-tokens', key: 'tokens' },
      ANTAEUS_METRICS_TOKENS: { name: 'antaeus-api-tokens', key: 'metrics-token' },
    });
    const job = podTemplate(objects(), 'CronJob', 'antaeus-monthly-billing');
    expect(containerEnv(objects(), `billing-${env}`, job.spec.containers[0]!).secrets).toEqual({
      ANTAEUS_API_TOKENS: { name: 'antaeus-api-tokens', key: 'tokens' },
    });
  });

  it('makes Redis require the password of the Secret payment-redis, and payment send it', () => {
    const namespace = `payments-${env}`;
    const redis = podTemplate(objects(), 'StatefulSet', 'payment-redis').spec.containers[0]!;
    // The kubelet substitutes the password into the args; the durable options stay.
    expect(redis.command).toBeUndefined();
    expect(redis.args?.slice(0, 2)).toEqual(['--requirepass', '$(REDIS_PASSWORD)']);
    const options = Object.fromEntries(
      (redis.args ?? []).flatMap((arg, i, all) =>
        arg.startsWith('--') ? [[arg, all[i + 1]]] : [],
      ),
    );
    expect(options).toMatchObject({
      '--appendonly': 'yes',
      '--appendfsync': 'always',
      '--maxmemory-policy': 'noeviction',
    });
    // The probes authenticate through the environment, never with the password in argv, and
    // count only a PONG (redis-cli exits 0 on NOAUTH too).
    for (const probe of [redis.startupProbe, redis.readinessProbe]) {
      const command = probe?.exec?.command ?? [];
      expect(command.slice(0, 2)).toEqual(['sh', '-c']);
      expect(command[2]).toMatch(/REDISCLI_AUTH="\$REDIS_PASSWORD" redis-cli ping \| grep -q PONG/);
      expect(command[2]).not.toMatch(/-a\b|--pass|\$\(/);
    }

    const payment = podTemplate(objects(), 'Deployment', 'payment').spec.containers[0]!;
    const names = (payment.env ?? []).map((v) => v.name);
    // A dependent variable is expanded only from those declared before it.
    expect(names.indexOf('REDIS_PASSWORD')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
    const configMap = payment.envFrom?.[0]?.configMapRef?.name ?? '';
    expect(find(objects(), 'ConfigMap', configMap, namespace).data).not.toHaveProperty('REDIS_URL');
    const { values } = containerEnv(objects(), namespace, payment, {
      'payment-api-tokens/tokens': 'antaeus:t',
      'payment-api-tokens/metrics-token': 'm',
      'payment-redis/password': 'the-password',
    });
    const url = new URL(values.REDIS_URL ?? 'missing:');
    expect([url.protocol, url.username, url.password]).toEqual(['redis:', '', 'the-password']);
    const service = find(objects(), 'Service', url.hostname, namespace).spec as {
      ports: { port: number }[];
    };
    expect(service.ports.map((p) => p.port)).toContain(Number(url.port));
  });

  it('lets the HPA own payment replicas, and keeps Antaeus a single SQLite writer', () => {
    const payment = find(objects(), 'Deployment', 'payment', `payments-${env}`).spec as {
      replicas?: number;
    };
    expect(payment.replicas).toBeUndefined();
    const hpa = find(objects(), 'HorizontalPodAutoscaler', 'payment', `payments-${env}`).spec as {
      minReplicas: number;
    };
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(env === 'dev' ? 1 : 2);
    const antaeus = find(objects(), 'Deployment', 'antaeus', `billing-${env}`).spec as {
      replicas: number;
      strategy: { type: string };
    };
    expect(antaeus).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  });

  it('keeps payment idempotency keys and decisions longer than the monthly billing interval', () => {
    // An unknown outcome is replayed with its key by the next run, at the latest a month later;
    // a key that expired by then would be decided afresh and could charge the invoice twice.
    const longestMonthSeconds = 31 * 86_400;
    const payment = podTemplate(objects(), 'Deployment', 'payment');
    const { values } = containerEnv(objects(), `payments-${env}`, payment.spec.containers[0]!);
    expect(Number(values.IDEMPOTENCY_TTL_SECONDS)).toBeGreaterThan(longestMonthSeconds);
    expect(Number(values.LEDGER_TTL_SECONDS)).toBeGreaterThanOrEqual(
      Number(values.IDEMPOTENCY_TTL_SECONDS),
    );
  });

  it('bills monthly through the Antaeus Service with the CLI the image ships', () => {
    const cronJob = find(objects(), 'CronJob', 'antaeus-monthly-billing', `billing-${env}`)
      .spec as {
      suspend?: boolean;
      schedule: string;
    };
    expect(cronJob.schedule).toMatch(/^\S+ \S+ 1 \* \*$/);
    expect(cronJob.suspend).toBeUndefined();
    const [container] = podTemplate(objects(), 'CronJob', 'antaeus-monthly-billing').spec
      .containers;
    const command = container!.command ?? [];
    // The image's working directory is /app and holds the repository layout (services/antaeus/Dockerfile).
    const cli = command[1] ?? '';
    expect(command[0]).toBe('node');
    expect(
      fs.existsSync(path.join(ROOT, cli.replace('/dist/', '/src/').replace(/\.js$/, '.ts'))),
    ).toBe(true);
    const url = new URL(command[command.indexOf('--url') + 1] ?? 'missing:');
    const server = podTemplate(objects(), 'Deployment', 'antaeus');
    const service = find(objects(), 'Service', url.hostname, `billing-${env}`).spec as {
      ports: { port: number }[];
    };
    expect(service.ports.map((p) => p.port)).toContain(Number(url.port));
    expect(
      selects((service as unknown as { selector: Record<string, string> }).selector, server.labels),
    ).toBe(true);
  });

  it('keeps the Antaeus database where the environment needs it, and exposes Antaeus as intended', () => {
    const dataVolume = (template: PodTemplate) =>
      template.spec.volumes?.find((v) => v.name === 'data');
    const server = podTemplate(objects(), 'Deployment', 'antaeus');
    const service = find(objects(), 'Service', 'antaeus', `billing-${env}`).spec as {
      type: string;
    };
    if (env === 'dev') {
      expect(dataVolume(server)).toHaveProperty('emptyDir');
      expect(service.type).toBe('NodePort');
      expect(ofKind(objects(), 'Ingress')).toEqual([]);
    } else {
      expect(dataVolume(server)).toEqual({
        name: 'data',
        persistentVolumeClaim: { claimName: 'antaeus-data' },
      });
      find(objects(), 'PersistentVolumeClaim', 'antaeus-data', `billing-${env}`);
      expect(service.type).toBe('ClusterIP');
      const ingress = find(objects(), 'Ingress', 'antaeus', `billing-${env}`).spec as {
        rules: {
          http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] };
        }[];
      };
      expect(ingress.rules[0]!.http.paths[0]!.backend.service).toEqual({
        name: 'antaeus',
        port: { name: 'http' },
      });
    }
    expect(
      ofKind(objects(), 'Ingress').some((i) => JSON.stringify(i.spec).includes('"payment"')),
    ).toBe(false);
  });
});

describe('image tags', () => {
  it('live only in the overlays, one images: entry each', () => {
    const registry = imageRegistryPath();
    for (const [service, team] of Object.entries(OUR_SERVICES)) {
      const serviceDir = path.join(DEPLOY_DIR, 'teams', team, service);
      const baseText = fs
        .readdirSync(path.join(serviceDir, 'base'), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'));
      expect(baseText.join('\n')).not.toMatch(new RegExp(`${registry}/${service}:`));
      for (const env of ENVIRONMENTS) {
        const kustomization = YAML.parse(
          fs.readFileSync(path.join(serviceDir, 'overlays', env, 'kustomization.yaml'), 'utf8'),
        ) as {
          images: { name: string; newTag: string }[];
        };
        expect(kustomization.images).toEqual([
          { name: `${registry}/${service}`, newTag: expect.stringMatching(/^[\w.-]+$/) },
        ]);
      }
    }
  });
});
