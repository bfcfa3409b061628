import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { toolsDir, type K8sObject } from '@internal/test-kit';
import {
  DELIVERY_CLI,
  ENVIRONMENTS,
  ROOT,
  find,
  ofKind,
  readSettings,
  renderEnv,
  renderYaml,
} from './support/manifests';
import { inPromtoolDir, promtool } from './support/promtool';

// payment's canary (deploy/teams/payments/payment/components/canary): where it runs, how it is
// wired to the Deployment, the HPA and its analysis, and what the analysis decides. The analysis
// queries run for real: each metric's query, its arguments filled in as Argo Rollouts fills them,
// becomes a recording rule that promtool evaluates on the series of a good canary and of bad ones;
// each metric's successCondition then judges the value promtool computed.

const CANARY_ENVIRONMENTS = ['staging', 'prod'];
const NAMESPACE = 'payments-staging';
/** The pod template hashes of the test's canary and stable pods. */
const CANARY = 'c';
const STABLE = 's';

interface Argument {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; podTemplateHashValue?: string };
}
interface Metric {
  name: string;
  interval: string;
  failureLimit: number;
  successCondition: string;
  provider: { prometheus: { address: string; query: string } };
}
interface AnalysisTemplateSpec {
  args: Argument[];
  metrics: Metric[];
}
interface RolloutSpec {
  replicas?: number;
  selector: unknown;
  workloadRef: Record<string, string>;
  strategy: {
    canary: {
      analysis: { templates: { templateName: string }[]; args: Argument[]; startingStep?: number };
      steps: { setWeight?: number; pause?: { duration: string } }[];
      trafficRouting?: unknown;
    };
  };
}

const namespaceOf = (env: string) => `payments-${env}`;
const objectSpec = <T>(object: K8sObject) => object.spec as T;
const rolloutSpec = (env: string) =>
  objectSpec<RolloutSpec>(find(renderEnv(env), 'Rollout', 'payment', namespaceOf(env)));
const templateSpec = (env: string) =>
  objectSpec<AnalysisTemplateSpec>(
    find(renderEnv(env), 'AnalysisTemplate', 'payment-canary', namespaceOf(env)),
  );

describe.each(CANARY_ENVIRONMENTS)('%s releases payment as a canary', (env) => {
  const objects = () => renderEnv(env);
  const namespace = namespaceOf(env);

  test('one Rollout payment runs the pods of the Deployment payment, whose count the HPA sets on the Rollout', () => {
    expect(ofKind(objects(), 'Rollout').map((r) => r.metadata.name)).toEqual(['payment']);
    const deployment = find(objects(), 'Deployment', 'payment', namespace);
    const rollout = find(objects(), 'Rollout', 'payment', namespace);
    const spec = rolloutSpec(env);
    expect(spec.workloadRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'payment',
      scaleDown: 'progressively',
    });
    expect(spec.selector).toEqual(objectSpec<{ selector: unknown }>(deployment).selector);
    expect(rollout.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'payment',
      'app.kubernetes.io/component': 'server',
    });
    expect(spec.replicas).toBeUndefined();
    expect(objectSpec<{ replicas?: number }>(deployment).replicas).toBeUndefined();
    const hpa = find(objects(), 'HorizontalPodAutoscaler', 'payment', namespace);
    expect(objectSpec<{ scaleTargetRef: unknown }>(hpa).scaleTargetRef).toEqual({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      name: 'payment',
    });
  });

  test('steps up through growing weights, each held, with no traffic router and the analysis from the start', () => {
    const { canary } = rolloutSpec(env).strategy;
    expect(canary.trafficRouting).toBeUndefined();
    expect(canary.analysis.startingStep).toBeUndefined();
    const weights = canary.steps.flatMap((step) => step.setWeight ?? []);
    expect(weights).toEqual([...weights].sort((a, b) => a - b));
    expect(weights.every((weight) => weight > 0 && weight < 100)).toBe(true);
    // setWeight, pause, setWeight, pause, ...: every weight is held before the next.
    expect(canary.steps.map((step) => Object.keys(step))).toEqual(
      weights.flatMap(() => [['setWeight'], ['pause']]),
    );
  });

  test('its AnalysisTemplate is the same everywhere, and the Rollout supplies every argument it lacks a value for, and no other', () => {
    expect(templateSpec(env)).toEqual(templateSpec(CANARY_ENVIRONMENTS[0]!));
    const { analysis } = rolloutSpec(env).strategy.canary;
    expect(analysis.templates).toEqual([{ templateName: 'payment-canary' }]);
    const declared = templateSpec(env).args;
    expect(analysis.args.map((arg) => arg.name).sort()).toEqual(
      declared
        .filter((arg) => arg.value === undefined)
        .map((arg) => arg.name)
        .sort(),
    );
    expect(analysis.args).toEqual([
      { name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
      { name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
    ]);
  });
});

describe('the canary steps', () => {
  const steps = (env: string) =>
    rolloutSpec(env).strategy.canary.steps.map((step) =>
      step.setWeight === undefined ? step.pause?.duration : step.setWeight,
    );

  test('staging: 25% for 90 s, long enough for a verdict, then 50% for a minute', () => {
    expect(steps('staging')).toEqual([25, '90s', 50, '60s']);
  });

  test('prod: longer, from a smaller first weight', () => {
    expect(steps('prod')).toEqual([10, '5m', 25, '10m', 50, '10m']);
  });
});

describe.each(ENVIRONMENTS.filter((env) => !CANARY_ENVIRONMENTS.includes(env)))(
  '%s rolls the Deployment itself',
  (env) => {
    test('no Rollout, no AnalysisTemplate, and the HPA scales the Deployment', () => {
      expect(ofKind(renderEnv(env), 'Rollout')).toEqual([]);
      expect(ofKind(renderEnv(env), 'AnalysisTemplate')).toEqual([]);
      const hpa = find(renderEnv(env), 'HorizontalPodAutoscaler', 'payment', namespaceOf(env));
      expect(objectSpec<{ scaleTargetRef: { kind: string } }>(hpa).scaleTargetRef.kind).toBe(
        'Deployment',
      );
    });
  },
);

test.each(ENVIRONMENTS)(
  "%s: payment's series carry the pod's rollouts-pod-template-hash, which the analysis selects by",
  (env) => {
    const monitor = find(renderEnv(env), 'ServiceMonitor', 'payment', namespaceOf(env));
    expect(objectSpec<{ podTargetLabels?: string[] }>(monitor).podTargetLabels).toEqual([
      'rollouts-pod-template-hash',
    ]);
  },
);

describe('the Rollout and AnalysisTemplate schemas', () => {
  const pins = readSettings(path.join(ROOT, 'scripts', 'tools.versions'));
  const kubeconform = (yaml: string) =>
    spawnSync(process.execPath, [DELIVERY_CLI, 'kubeconform', '-'], {
      input: yaml,
      encoding: 'utf8',
    });

  test("are the pinned Argo Rollouts release's", () => {
    const source = fs.readFileSync(path.join(toolsDir(), 'schemas', 'crds', '.source'), 'utf8');
    expect(source.split(' ')).toContain(
      `${pins.ARGO_ROLLOUTS_MODULE}@${pins.ARGO_ROLLOUTS_VERSION}`,
    );
  });

  test('catch a misspelt field, so the strict pass of each overlay means something', () => {
    const staging = renderYaml('envs/staging');
    for (const [field, misspelt] of [
      ['workloadRef:', 'workloadReference:'],
      ['successCondition:', 'successCriteria:'],
    ] as const) {
      const result = kubeconform(staging.replace(field, misspelt));
      expect([field, result.status === 0]).toEqual([field, false]);
      expect(result.stdout).toContain(
        `additional properties '${misspelt.slice(0, -1)}' not allowed`,
      );
    }
  });
});

// ---- The analysis, evaluated by promtool ----

/** A metric's query as the AnalysisRun runs it: `{{args.<name>}}` replaced, as Argo Rollouts does. */
function resolveArgs(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(.*?)\}\}/g, (_, tag: string) => {
    const [, name] = /^args\.(.+)$/.exec(tag.trim()) ?? [];
    const value = name === undefined ? undefined : values[name];
    if (value === undefined) throw new Error(`failed to resolve {{${tag}}}`);
    return value;
  });
}

/** The arguments the Rollout supplies in NAMESPACE for pods CANARY and STABLE, then the defaults. */
function argumentValues(): Record<string, string> {
  const supplied = rolloutSpec('staging').strategy.canary.analysis.args;
  const values: Record<string, string> = {};
  for (const { name, value } of templateSpec('staging').args)
    if (value !== undefined) values[name] = value;
  for (const { name, valueFrom } of supplied) {
    if (valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') values[name] = NAMESPACE;
    else if (valueFrom?.podTemplateHashValue === 'Latest') values[name] = CANARY;
    else if (valueFrom?.podTemplateHashValue === 'Stable') values[name] = STABLE;
    else throw new Error(`the test does not know what the Rollout supplies as ${name}`);
  }
  return values;
}

/** Whether an Argo Rollouts successCondition of the form `result[0] <op> <number>` holds. */
function succeeds(condition: string, result: number): boolean {
  const [, op, bound] = /^result\[0\] (<=|<|>=|>) (\d+(?:\.\d+)?)$/.exec(condition.trim()) ?? [];
  if (op === undefined) throw new Error(`the test cannot evaluate successCondition ${condition}`);
  const limit = Number(bound);
  return { '<=': result <= limit, '<': result < limit, '>=': result >= limit, '>': result > limit }[
    op
  ]!;
}

const recordName = (metric: string) => `payment_canary:${metric.replaceAll('-', '_')}`;

// Series every 30 s (the ServiceMonitor's interval); a value string is promtool's expanding
// notation per 30 s, so '0+300x40' is 10 a second for 20 minutes.
type Series = Record<string, string>;
const base = (hash: string) =>
  `job="payment", namespace="${NAMESPACE}", pod="payment-${hash}", rollouts_pod_template_hash="${hash}"`;
/** Requests answered: http_request_duration_seconds_count. */
const answered = (hash: string, request: string, status: number, values: string): Series => ({
  [`http_request_duration_seconds_count{${base(hash)}, ${request}, status="${status}"}`]: values,
});
const CHARGE = 'method="POST", route="/v1/charges"';
/** Requests by how long they took (charges unless named): cumulative counts per bucket bound. */
const latency = (hash: string, buckets: Record<string, string>, request = CHARGE): Series =>
  Object.fromEntries(
    Object.entries(buckets).map(([le, values]) => [
      `http_request_duration_seconds_bucket{${base(hash)}, ${request}, status="200", le="${le}"}`,
      values,
    ]),
  );
const decisions = (hash: string, approved: string, declined: string): Series => ({
  [`charges_total{${base(hash)}, outcome="approved"}`]: approved,
  [`charges_total{${base(hash)}, outcome="declined"}`]: declined,
});
/** 10 charges a second, all answered 200 within 25 ms, half of them approved. */
const healthy = (hash: string): Series => ({
  ...answered(hash, CHARGE, 200, '0+300x40'),
  ...latency(hash, { '0.025': '0+300x40', '0.5': '0+300x40', '+Inf': '0+300x40' }),
  ...decisions(hash, '0+150x40', '0+150x40'),
});
/** The stable pods keep serving beside every canary, some of their answers 5xx and slow: the
 * canary is judged on its own pods. */
const stable: Series = {
  ...healthy(STABLE),
  ...answered(STABLE, CHARGE, 503, '0+300x40'),
  ...latency(STABLE, {
    '0.025': '0+300x40',
    '0.5': '0+300x40',
    '2.5': '0+600x40',
    '+Inf': '0+600x40',
  }),
};

interface Scenario {
  name: string;
  series: Series;
  /** Each metric's value at 10 minutes, in thousandths (promtool compares exactly). */
  expected: Record<string, number>;
  /** The metric the successCondition fails on, if any. */
  fails?: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'a good canary: 1% 5xx, charges in 25 ms, approving as stable does; failing probes are not the API, nor slow listings charges',
    series: {
      ...stable,
      ...healthy(CANARY),
      ...answered(CANARY, CHARGE, 503, '0+3x40'),
      ...answered(CANARY, 'method="GET", route="/readyz"', 503, '0+300x40'),
      ...latency(
        CANARY,
        { '2.5': '0+30x40', '+Inf': '0+30x40' },
        'method="GET", route="/v1/charges"',
      ),
    },
    expected: { 'error-ratio': 10, 'latency-p99': 25, 'approval-vs-stable': 1000 },
  },
  {
    name: 'a canary declining every charge',
    series: { ...stable, ...healthy(CANARY), ...decisions(CANARY, '0x40', '0+300x40') },
    expected: { 'error-ratio': 0, 'latency-p99': 25, 'approval-vs-stable': 0 },
    fails: 'approval-vs-stable',
  },
  {
    name: 'a slow canary: 5% of charges take 1-2.5 s',
    series: {
      ...stable,
      ...healthy(CANARY),
      ...latency(CANARY, {
        '0.025': '0+285x40',
        '0.5': '0+285x40',
        '1': '0+285x40',
        '2.5': '0+300x40',
        '+Inf': '0+300x40',
      }),
    },
    // The 297th of 300 (the 99th percentile) is 12/15 into the 1-2.5 s bucket.
    expected: { 'error-ratio': 0, 'latency-p99': 2200, 'approval-vs-stable': 1000 },
    fails: 'latency-p99',
  },
  {
    name: 'a canary answering 10% of its requests with 5xx',
    series: {
      ...stable,
      ...healthy(CANARY),
      ...answered(CANARY, CHARGE, 200, '0+270x40'),
      ...answered(CANARY, CHARGE, 503, '0+30x40'),
    },
    expected: { 'error-ratio': 100, 'latency-p99': 25, 'approval-vs-stable': 1000 },
    fails: 'error-ratio',
  },
  {
    name: 'a canary without traffic: its counters at 0, probes only',
    series: {
      ...stable,
      ...answered(CANARY, CHARGE, 200, '0x40'),
      ...answered(CANARY, CHARGE, 503, '0x40'),
      ...latency(CANARY, { '0.025': '0x40', '+Inf': '0x40' }),
      ...decisions(CANARY, '0x40', '0x40'),
      ...answered(CANARY, 'method="GET", route="/healthz"', 200, '0+15x40'),
    },
    expected: { 'error-ratio': 0, 'latency-p99': 0, 'approval-vs-stable': 1000 },
  },
  {
    name: 'a canary with too few decisions to judge (about 40 in 2 minutes), all declined',
    series: { ...stable, ...healthy(CANARY), ...decisions(CANARY, '0x40', '0+10x40') },
    expected: { 'error-ratio': 0, 'latency-p99': 25, 'approval-vs-stable': 1000 },
  },
  {
    name: 'stable pods without decisions: no ratio to compare with',
    series: { ...healthy(STABLE), ...decisions(STABLE, '0x40', '0x40'), ...healthy(CANARY) },
    expected: { 'error-ratio': 0, 'latency-p99': 25, 'approval-vs-stable': 1000 },
  },
];

describe("payment's canary analysis on Prometheus series (promtool)", () => {
  const RULES_FILE = 'payment-canary.rules.yaml';
  const metrics = () => templateSpec('staging').metrics;
  const rules = () => ({
    groups: [
      {
        name: 'payment-canary',
        rules: metrics().map((metric) => ({
          record: recordName(metric.name),
          expr: resolveArgs(metric.provider.prometheus.query, argumentValues()),
        })),
      },
    ],
  });

  test('every metric queries the Prometheus the arguments name, every 30 s, failing at the second failed measurement', () => {
    expect(metrics().map((metric) => metric.name)).toEqual([
      'error-ratio',
      'latency-p99',
      'approval-vs-stable',
    ]);
    for (const metric of metrics()) {
      expect(resolveArgs(metric.provider.prometheus.address, argumentValues())).toBe(
        'http://prometheus-operated.monitoring.svc:9090',
      );
      expect([metric.name, metric.interval, metric.failureLimit]).toEqual([metric.name, '30s', 1]);
    }
  });

  test('every query selects the canary pods, and only approval-vs-stable the stable ones', () => {
    for (const { record, expr } of rules().groups[0]!.rules) {
      expect([record, expr]).toEqual([
        record,
        expect.stringContaining(`rollouts_pod_template_hash="${CANARY}"`),
      ]);
      expect([record, expr.includes(`rollouts_pod_template_hash="${STABLE}"`)]).toEqual([
        record,
        record === recordName('approval-vs-stable'),
      ]);
    }
  });

  test('promtool accepts the queries as rules', () => {
    inPromtoolDir((dir) => {
      fs.writeFileSync(path.join(dir, RULES_FILE), YAML.stringify(rules()));
      const check = promtool(['check', 'rules', RULES_FILE], dir);
      expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.any(String)]);
    });
  });

  test.each(SCENARIOS)('$name', ({ series, expected, fails }) => {
    expect(Object.keys(expected)).toEqual(metrics().map((metric) => metric.name));
    const tests = {
      rule_files: [RULES_FILE],
      evaluation_interval: '30s',
      tests: [
        {
          interval: '30s',
          input_series: Object.entries(series).map(([name, values]) => ({ series: name, values })),
          promql_expr_test: metrics().map((metric) => ({
            expr: `round(${recordName(metric.name)} * 1000)`,
            eval_time: '10m',
            exp_samples: [{ labels: '{}', value: expected[metric.name] }],
          })),
        },
      ],
    };
    inPromtoolDir((dir) => {
      fs.writeFileSync(path.join(dir, RULES_FILE), YAML.stringify(rules()));
      fs.writeFileSync(path.join(dir, 'canary.test.yaml'), YAML.stringify(tests));
      const run = promtool(['test', 'rules', 'canary.test.yaml'], dir);
      expect([run.status, run.stdout + run.stderr]).toEqual([0, expect.any(String)]);
    });
    const failing = metrics()
      .filter((metric) => !succeeds(metric.successCondition, expected[metric.name]! / 1000))
      .map((metric) => metric.name);
    expect(failing).toEqual(fails === undefined ? [] : [fails]);
  });

  test('the successCondition reader refuses what it cannot evaluate', () => {
    expect(succeeds('result[0] <= 0.05', 0.05)).toBe(true);
    expect(succeeds('result[0] < 0.5', 0.5)).toBe(false);
    expect(() => succeeds('result[0] <= 0.05 && result[1] > 0', 0)).toThrow(/cannot evaluate/);
    expect(() => resolveArgs('{{args.missing}}', {})).toThrow(/failed to resolve/);
  });
});
