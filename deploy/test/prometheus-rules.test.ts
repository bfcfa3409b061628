import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { K8sObject } from '@internal/test-kit';
import { CATALOGUE, ROOT, ofKind, render, type Container } from './support/manifests';
import { inPromtoolDir, promtool } from './support/promtool';

// Each service's base ships its ServiceMonitor and PrometheusRule (deploy/teams/<team>/<service>/
// base/monitoring). The rules the base renders are what promtool checks and unit-tests here,
// with the tests next to them, and every alert needs a case where it fires and one where it
// stays quiet: an alert nobody saw fire may never fire, one nobody saw stay quiet may always.

/** The file the tests' rule_files name: the PrometheusRule's groups, as Prometheus reads them. */
const RULES_FILE = 'prometheus-rule.rules.yaml';
const TESTS_PATTERN = /rules\.test\.yaml$/;

interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}
interface RuleTests {
  rule_files?: string[];
  tests?: { alert_rule_test?: AlertTest[] }[];
}
interface RuleGroups {
  groups: { name: string; rules: { alert?: string; record?: string }[] }[];
}

/** What is wrong with the tests of these rules' alerts: missing cases, tests of no alert. */
function coverageProblems(rules: RuleGroups, tests: RuleTests[]): string[] {
  const alerts = rules.groups.flatMap((group) =>
    group.rules.flatMap((rule) => (rule.alert === undefined ? [] : [rule.alert])),
  );
  const cases = tests.flatMap((file) => (file.tests ?? []).flatMap((t) => t.alert_rule_test ?? []));
  const fires = new Set(
    cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname),
  );
  const quiet = new Set(
    cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname),
  );
  return [
    ...alerts.filter((alert) => !fires.has(alert)).map((alert) => `${alert}: no test fires it`),
    ...alerts
      .filter((alert) => !quiet.has(alert))
      .map((alert) => `${alert}: no test where it stays quiet`),
    // promtool passes a quiet case of a misspelt alert: it is quiet because it does not exist.
    ...[...new Set(cases.map((c) => c.alertname))]
      .filter((name) => !alerts.includes(name))
      .map((name) => `${name}: tested, but no such alert`),
  ];
}

const services = CATALOGUE.services.map(({ name }) => {
  const base = path.join(ROOT, CATALOGUE.deployDir(name), 'base');
  return { name, base, objects: render(path.relative(path.join(ROOT, 'deploy'), base)) };
});

describe.each(services)('$name ships its monitoring in its base', ({ base, objects }) => {
  test("one ServiceMonitor scraping its Service with the token its Deployment accepts on /metrics, one PrometheusRule", () => {
    const [monitor, ...otherMonitors] = ofKind(objects, 'ServiceMonitor');
    expect(otherMonitors).toEqual([]);
    expect(ofKind(objects, 'PrometheusRule')).toHaveLength(1);
    const spec = monitor?.spec as {
      selector: { matchLabels: Record<string, string> };
      endpoints: {
        port: string;
        authorization?: { credentials?: { name: string; key: string } };
      }[];
    };
    const services = ofKind(objects, 'Service').filter((service) =>
      Object.entries(spec.selector.matchLabels).every(
        ([key, value]) => service.metadata.labels?.[key] === value,
      ),
    );
    expect(services.map((service) => service.metadata.name)).toHaveLength(1);
    const ports = (services[0]?.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
    // The token the scrape sends is one the service accepts on /metrics (and nowhere else).
    const [deployment] = ofKind(objects, 'Deployment');
    const metricsTokens = (
      deployment?.spec as { template: { spec: { containers: Container[] } } }
    ).template.spec.containers
      .flatMap((container) => container.env ?? [])
      .filter((variable) => variable.name.endsWith('_METRICS_TOKENS'))
      .map((variable) => variable.valueFrom?.secretKeyRef);
    for (const endpoint of spec.endpoints) {
      expect(ports).toContain(endpoint.port);
      expect([endpoint.authorization?.credentials]).toEqual(metricsTokens);
    }
  });

  test('promtool checks the rules and passes their unit tests, a firing and a quiet case per alert', () => {
    const [rule] = ofKind(objects, 'PrometheusRule') as K8sObject[];
    const rules = { groups: (rule?.spec as RuleGroups).groups };
    const monitoring = path.join(base, 'monitoring');
    const testFiles = fs.readdirSync(monitoring).filter((file) => TESTS_PATTERN.test(file));
    expect(testFiles.length).toBeGreaterThan(0);
    const tests = testFiles.map(
      (file) => YAML.parse(fs.readFileSync(path.join(monitoring, file), 'utf8')) as RuleTests,
    );
    for (const file of tests) expect(file.rule_files).toEqual([RULES_FILE]);
    expect(coverageProblems(rules, tests)).toEqual([]);

    inPromtoolDir((dir) => {
      fs.writeFileSync(path.join(dir, RULES_FILE), YAML.stringify(rules));
      for (const file of testFiles)
        fs.copyFileSync(path.join(monitoring, file), path.join(dir, file));
      const check = promtool(['check', 'rules', RULES_FILE], dir);
      expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.any(String)]);
      const run = promtool(['test', 'rules', ...testFiles], dir);
      expect([run.status, run.stdout + run.stderr]).toEqual([0, expect.any(String)]);
    });
  });
});

describe('the coverage check', () => {
  const rules: RuleGroups = {
    groups: [{ name: 'g', rules: [{ record: 'r' }, { alert: 'A' }, { alert: 'B' }] }],
  };

  test('names an alert without a firing case, without a quiet case, and a test of no alert', () => {
    const tests: RuleTests[] = [
      {
        tests: [
          {
            alert_rule_test: [
              { alertname: 'A', exp_alerts: [{}] },
              { alertname: 'A' },
              { alertname: 'B', exp_alerts: [{}] },
              { alertname: 'Bee' },
            ],
          },
        ],
      },
    ];
    expect(coverageProblems(rules, tests)).toEqual([
      'B: no test where it stays quiet',
      'Bee: tested, but no such alert',
    ]);
    expect(coverageProblems(rules, [])).toEqual([
      'A: no test fires it',
      'B: no test fires it',
      'A: no test where it stays quiet',
      'B: no test where it stays quiet',
    ]);
  });

  test('a broken rule or a failing case fails promtool', () => {
    inPromtoolDir((dir) => {
      fs.writeFileSync(
        path.join(dir, RULES_FILE),
        YAML.stringify({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up ==' }] }] }),
      );
      expect(promtool(['check', 'rules', RULES_FILE], dir).status).not.toBe(0);
      fs.writeFileSync(
        path.join(dir, RULES_FILE),
        YAML.stringify({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0' }] }] }),
      );
      fs.writeFileSync(
        path.join(dir, 'rules.test.yaml'),
        YAML.stringify({
          rule_files: [RULES_FILE],
          tests: [
            {
              input_series: [{ series: 'up{job="x"}', values: '1x10' }],
              alert_rule_test: [{ eval_time: '5m', alertname: 'A', exp_alerts: [{}] }],
            },
          ],
        }),
      );
      expect(promtool(['test', 'rules', 'rules.test.yaml'], dir).status).not.toBe(0);
    });
  });
});

describe('deploy/platform/monitoring-crds', () => {
  const pins = fs.readFileSync(path.join(ROOT, 'scripts', 'tools.versions'), 'utf8');
  const pin = (key: string) => new RegExp(`^${key}=(\\S+)$`, 'm').exec(pins)?.[1];

  test("holds the pinned Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, unchanged", () => {
    const module = `${pin('PROMETHEUS_OPERATOR_MODULE')}@${pin('PROMETHEUS_OPERATOR_VERSION')}`;
    // From the module cache, which scripts/install-tools.sh filled.
    const { Dir } = JSON.parse(
      execFileSync('go', ['mod', 'download', '-json', module], {
        cwd: os.tmpdir(),
        encoding: 'utf8',
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      }),
    ) as { Dir: string };
    const vendored = path.join(ROOT, 'deploy', 'platform', 'monitoring-crds');
    const files = fs.readdirSync(vendored).filter((file) => file !== 'kustomization.yaml');
    expect(files.sort()).toEqual([
      'monitoring.coreos.com_prometheusrules.yaml',
      'monitoring.coreos.com_servicemonitors.yaml',
    ]);
    for (const file of files) {
      const upstream = path.join(Dir, 'example', 'prometheus-operator-crd', file);
      expect([file, fs.readFileSync(path.join(vendored, file), 'utf8')]).toEqual([
        file,
        fs.readFileSync(upstream, 'utf8'),
      ]);
    }
    expect(
      render('platform/monitoring-crds')
        .map((crd) => `${crd.kind}/${crd.metadata.name}`)
        .sort(),
    ).toEqual([
      'CustomResourceDefinition/prometheusrules.monitoring.coreos.com',
      'CustomResourceDefinition/servicemonitors.monitoring.coreos.com',
    ]);
  });
});
