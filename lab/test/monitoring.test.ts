import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot, sleep } from '@internal/test-kit';
import { catalogue } from './support/catalogue';
import { eventually, kubectl, kubectlJson, run, secretValue } from './support/lab';
import { RUNNING_ENVS, pods } from './support/node';

// Monitoring as part of the platform (lab/scripts/monitoring.sh): the Prometheus Operator and its
// Prometheus, built from the pinned releases, scrape what each team's base ships (its
// ServiceMonitor, with the token /metrics demands) and evaluate its PrometheusRule. Here, on the
// running lab: every service of every running environment is a target that is up, through the
// platform's NetworkPolicy and discovery Role and the token the operator may read; each target
// refuses /metrics without that token; the rules of the repository's files are loaded and a
// recording rule has a value; the team projects ship exactly those two monitoring kinds.

const NAMESPACE = 'monitoring';
const PROMETHEUS = 'prometheus';

/** GET on the Prometheus HTTP API, through the API server's proxy to its governing Service. */
function prometheusApi<T>(apiPath: string): T {
  const answer = JSON.parse(
    kubectl(
      'get',
      '--raw',
      `/api/v1/namespaces/${NAMESPACE}/services/prometheus-operated:web/proxy${apiPath}`,
    ),
  ) as { status: string; data: T };
  expect(answer.status).toBe('success');
  return answer.data;
}

interface Target {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}
const activeTargets = () =>
  prometheusApi<{ activeTargets: Target[] }>('/api/v1/targets?state=active').activeTargets;

interface RuleGroup {
  name: string;
  file: string;
  rules: { type: 'recording' | 'alerting'; name: string; query: string }[];
}
const ruleGroups = () => prometheusApi<{ groups: RuleGroup[] }>('/api/v1/rules').groups;

type Endpoint = { port: string; authorization?: { credentials?: { name: string; key: string } } };
type PrometheusRuleFile = {
  kind: string;
  metadata: { name: string };
  spec: { groups: { name: string; rules: ({ record: string } | { alert: string })[] }[] };
};

/** Every (service, environment) the lab runs pods for. */
const RUNNING = RUNNING_ENVS.flatMap((env) =>
  catalogue.serviceNames().map((service) => ({
    service,
    env,
    namespace: catalogue.namespace(catalogue.teamOf(service), env),
  })),
);
const serverSelector = (service: string) =>
  `app.kubernetes.io/name=${service},app.kubernetes.io/component=server`;

/** The PrometheusRules of a service's base, as the repository has them. */
function repositoryRules(service: string): PrometheusRuleFile[] {
  const dir = path.join(repoRoot(), catalogue.deployDir(service), 'base', 'monitoring');
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8')))
    .map((doc) => doc.toJS() as PrometheusRuleFile)
    .filter((object) => object?.kind === 'PrometheusRule');
}

// The operator copies each ServiceMonitor's token into the Prometheus's configuration when it
// reconciles the Prometheus, which a change of the token Secret does not trigger: it may only get
// those Secrets by name in the team namespaces, never watch them (lab/README.md, Monitoring). The
// lab's other tests reseal tokens, so the test first has it reconcile, as a rotation of a metrics
// token ends; a reverted Role, policy or ServiceMonitor still fails every assertion below.
beforeAll(() => {
  kubectl(
    '-n',
    NAMESPACE,
    'annotate',
    '--overwrite',
    'prometheus',
    PROMETHEUS,
    `lab.payments-gitops.example/reconciled-for-test=${Date.now()}`,
  );
});

describe('the monitoring stack', () => {
  it('runs the operator and a Prometheus of the pinned release, Available', () => {
    const versions = Object.fromEntries(
      fs
        .readFileSync(path.join(repoRoot(), 'scripts/tools.versions'), 'utf8')
        .split('\n')
        .map((line) => /^([A-Z_]+)=(\S+)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1]!, match[2]!]),
    );
    // Prometheus 3.<minor>.<patch> is the Go module's v0.3<minor, 2 digits>.<patch>.
    const [, minor, patch] = /^v0\.3(\d\d)\.(\d+)$/.exec(versions.PROMETHEUS_VERSION!)!;
    expect(prometheusApi<{ version: string }>('/api/v1/status/buildinfo').version).toBe(
      `3.${Number(minor)}.${patch}`,
    );
    const operator = kubectlJson<{
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    }>('-n', NAMESPACE, 'get', 'deployment', 'prometheus-operator');
    expect(
      kubectl(
        '-n',
        NAMESPACE,
        'exec',
        'deploy/prometheus-operator',
        '--',
        '/operator',
        '--version',
      ),
    ).toContain(
      `prometheus-operator, version ${versions.PROMETHEUS_OPERATOR_VERSION!.replace(/^v/, '')} `,
    );
    // It watches exactly the catalogue's team namespaces.
    expect(operator.spec.template.spec.containers[0]!.args).toContain(
      `--namespaces=${catalogue
        .environmentNames()
        .flatMap((env) => catalogue.teamNames().map((team) => catalogue.namespace(team, env)))
        .join(',')}`,
    );
    const available = kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>(
      '-n',
      NAMESPACE,
      'get',
      'prometheus',
      PROMETHEUS,
    ).status?.conditions?.find((c) => c.type === 'Available');
    expect(available?.status).toBe('True');
  });
});

describe.each(RUNNING)('$service in $env', ({ service, namespace }) => {
  const targetsOf = () =>
    activeTargets().filter((t) => t.labels.namespace === namespace && t.labels.job === service);

  it('is scraped through its ServiceMonitor: one target per ready pod, every one up', async () => {
    const ready = () =>
      pods(namespace, serverSelector(service))
        .filter((pod) => pod.status.containerStatuses?.every((c) => c.ready))
        .map((pod) => pod.status.podIP!)
        .sort();
    // Scrapes run every 30 s; a target found since the last one is still "unknown". A new
    // configuration reaches Prometheus when the kubelet updates its mounted Secret (a minute or so).
    const targets = await eventually(
      `every ${service} target in ${namespace} up`,
      () => {
        const found = targetsOf();
        const hosts = found.map((t) => new URL(t.scrapeUrl).hostname).sort();
        if (JSON.stringify(hosts) !== JSON.stringify(ready())) return undefined;
        if (found.some((t) => t.health !== 'up')) {
          throw new Error(found.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`).join('; '));
        }
        return found;
      },
      240_000,
    );
    expect(targets.length).toBeGreaterThan(0);
  });

  it('needs its token: /metrics answers 401 without it, 200 with the Secret the ServiceMonitor names, and that scrape is up', () => {
    const monitor = kubectlJson<{ spec: { endpoints: Endpoint[] } }>(
      '-n',
      namespace,
      'get',
      'servicemonitor',
      service,
    );
    const credentials = monitor.spec.endpoints[0]!.authorization?.credentials;
    expect(credentials).toBeDefined();
    const token = secretValue(namespace, credentials!.name, credentials!.key);
    const targets = targetsOf();
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      // From the node, which every pod's NetworkPolicy admits (kubelet probes come from there).
      const status = (...headers: string[]) =>
        run('curl', [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--max-time',
          '5',
          ...headers,
          target.scrapeUrl,
        ]).stdout;
      expect([target.scrapeUrl, status()]).toEqual([target.scrapeUrl, '401']);
      expect([target.scrapeUrl, status('-H', 'Authorization: Bearer not-the-token')]).toEqual([
        target.scrapeUrl,
        '401',
      ]);
      expect([target.scrapeUrl, status('-H', `Authorization: Bearer ${token}`)]).toEqual([
        target.scrapeUrl,
        '200',
      ]);
      expect([target.scrapeUrl, target.health, target.lastError]).toEqual([
        target.scrapeUrl,
        'up',
        '',
      ]);
    }
  });

  it("has its base's PrometheusRules loaded: every group, with its recording and alerting rules", () => {
    const files = repositoryRules(service);
    expect(files.length).toBeGreaterThan(0);
    const groups = ruleGroups();
    for (const file of files) {
      // The operator writes each PrometheusRule as <namespace>-<name>-<uid>.yaml.
      const loaded = groups
        .filter((g) => path.basename(g.file).startsWith(`${namespace}-${file.metadata.name}-`))
        .map((g) => ({ name: g.name, rules: g.rules.map((r) => `${r.type}:${r.name}`) }));
      // The API lists the groups of a file by name; each group's rules keep the file's order.
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect(loaded.sort(byName)).toEqual(
        file.spec.groups
          .map((g) => ({
            name: g.name,
            rules: g.rules.map((r) =>
              'record' in r ? `recording:${r.record}` : `alerting:${r.alert}`,
            ),
          }))
          .sort(byName),
      );
    }
  });

  it('has its rules evaluated on its own namespace only: every query carries its namespace', () => {
    const loaded = ruleGroups()
      .filter((g) => path.basename(g.file).startsWith(`${namespace}-`))
      .flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThan(0);
    expect(
      loaded.filter((r) => !r.query.includes(`namespace="${namespace}"`)).map((r) => r.name),
    ).toEqual([]);
  });
});

describe('the recording rules', () => {
  const [first] = RUNNING_ENVS;
  const payments = catalogue.namespace(catalogue.teamOf('payment'), first!);
  const billing = catalogue.namespace(catalogue.teamOf('antaeus'), first!);
  const rule = 'namespace:payment_charge_requests:rate5m';

  it(`${rule} has a value for ${payments} while payment decides charges`, async () => {
    expect(
      repositoryRules('payment').flatMap((f) => f.spec.groups.flatMap((g) => g.rules)),
    ).toContainEqual(expect.objectContaining({ record: rule }));
    // Charge decisions asked of payment as Antaeus asks them (its token, the original client's
    // body), from the node: payment only decides, and Antaeus's invoices are left alone. Until two
    // scrapes 30 s apart have seen the counter grow and the rule has been evaluated on them (a
    // counter that did not grow in the window gives 0).
    const token = secretValue(billing, 'payment-api-token', 'token');
    const host = pods(payments, serverSelector('payment'))[0]!.status.podIP!;
    const deadline = Date.now() + 240_000;
    let value: string | undefined;
    while (value === undefined && Date.now() < deadline) {
      const res = await fetch(`http://${host}:9000/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ currency: {}, value: 1.5, customer_id: 1 }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const result = prometheusApi<{ result: { value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(`${rule}{namespace="${payments}"}`)}`,
      ).result;
      value = result[0]?.value[1];
      if (value === undefined || !(Number(value) > 0)) {
        value = undefined;
        await sleep(2_000);
      }
    }
    expect(Number(value)).toBeGreaterThan(0);
  });
});

describe('the team projects', () => {
  it.each(catalogue.teamNames())(
    '%s ships exactly ServiceMonitor and PrometheusRule of the monitoring kinds, and its apps have them Synced',
    (team) => {
      const project = kubectlJson<{
        spec: { namespaceResourceWhitelist: { group: string; kind: string }[] };
      }>('-n', 'argocd', 'get', 'appproject', team);
      expect(
        project.spec.namespaceResourceWhitelist
          .filter((entry) => entry.group === 'monitoring.coreos.com')
          .map((entry) => entry.kind)
          .sort(),
      ).toEqual(['PrometheusRule', 'ServiceMonitor']);
      for (const env of RUNNING_ENVS) {
        const namespace = catalogue.namespace(team, env);
        // What its deployer identity may write follows the whitelist (deploy/platform, generated).
        const canI = (resource: string) =>
          run('kubectl', [
            'auth',
            'can-i',
            'create',
            `${resource}.monitoring.coreos.com`,
            '-n',
            namespace,
            '--as',
            `system:serviceaccount:${namespace}:argocd-deployer`,
          ]).stdout.trim();
        expect([
          namespace,
          canI('servicemonitors'),
          canI('prometheusrules'),
          canI('podmonitors'),
          canI('probes'),
        ]).toEqual([namespace, 'yes', 'yes', 'no', 'no']);
        for (const service of catalogue.teams.find((t) => t.name === team)!.services) {
          const app = kubectlJson<{
            status: { resources: { kind: string; name: string; status: string }[] };
          }>('-n', 'argocd', 'get', 'application', `${service.name}-${env}`);
          expect(
            app.status.resources
              .filter((r) => r.kind === 'ServiceMonitor' || r.kind === 'PrometheusRule')
              .map((r) => `${r.kind}/${r.name}:${r.status}`)
              .sort(),
          ).toEqual([
            `PrometheusRule/${service.name}:Synced`,
            `ServiceMonitor/${service.name}:Synced`,
          ]);
        }
      }
    },
  );
});
