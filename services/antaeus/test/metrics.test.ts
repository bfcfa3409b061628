import { createLogger, createMetricsRegistry } from '@internal/service-kit';
import type { Registry } from 'prom-client';
import { BillingEngine } from '../src/billing/engine';
import { createBillingMetrics } from '../src/billing/metrics';
import { createHarness, type Harness } from './support/harness';
import { ScriptedProvider, type ChargeCall, type Script } from './support/scripted-provider';

/** The value of one sample in the registry's exposition, undefined when absent. */
async function sample(registry: Registry, name: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/**
 * The series the billing alerts read (deploy/teams/billing/antaeus/base/monitoring): payment
 * out of reach, runs interrupted, runs that do not end.
 */
describe('billing metrics', () => {
  let provider: ScriptedProvider;
  let harness: Harness;
  let registry: Registry;
  let engine: BillingEngine;

  async function setUp(script: (call: ChargeCall) => Script, now?: () => number) {
    provider = await ScriptedProvider.start(script);
    registry = createMetricsRegistry();
    const metrics = createBillingMetrics(registry, now);
    harness = createHarness({
      endpoint: provider.url,
      timeoutMs: 200,
      maxRetries: 2,
      onExchange: metrics.paymentExchange,
    });
    engine = new BillingEngine({
      store: harness.store,
      client: harness.client,
      concurrency: 4,
      claimLeaseMs: 60_000,
      logger: createLogger('antaeus-test', 'silent'),
      metrics,
    });
  }

  afterEach(async () => {
    harness?.close();
    await provider?.stop();
  });

  test('start at 0, so the first unreachable request or interrupted run is an increase', async () => {
    await setUp(() => ({ kind: 'decide', approve: true }));
    expect(
      await sample(
        registry,
        'antaeus_payment_request_duration_seconds_count{result="unreachable"}',
      ),
    ).toBe(0);
    expect(
      await sample(registry, 'antaeus_billing_run_duration_seconds_count{status="interrupted"}'),
    ).toBe(0);
    expect(await sample(registry, 'antaeus_charges_total{outcome="unknown"}')).toBe(0);
    expect(await sample(registry, 'antaeus_billing_run_running_seconds')).toBe(0);
  });

  test('a provider that resets or never answers is unreachable; one answering 503 is not', async () => {
    await setUp((call) =>
      call.keyUse === 1
        ? { kind: 'reset' }
        : call.keyUse === 2
          ? { kind: 'hang' }
          : { kind: 'status', status: 503 },
    );
    const run = await engine.start('api').finished;
    expect(run).toMatchObject({ status: 'completed', failed: 8 });
    expect(
      await sample(
        registry,
        'antaeus_payment_request_duration_seconds_count{result="unreachable"}',
      ),
    ).toBe(16);
    expect(
      await sample(registry, 'antaeus_payment_request_duration_seconds_count{result="retryable"}'),
    ).toBe(8);
    expect(await sample(registry, 'antaeus_charges_total{outcome="unknown"}')).toBe(8);
  });

  test('a run shows its age while it runs and is counted by status when it ends', async () => {
    let clock = Date.now();
    await setUp(
      () => ({ kind: 'decide', approve: true, delayMs: 50 }),
      () => clock,
    );
    const { run, finished } = engine.start('api');
    clock = run.startedAt + 90_000;
    expect(await sample(registry, 'antaeus_billing_run_running_seconds')).toBe(90);
    expect(await finished).toMatchObject({ status: 'completed', paid: 8 });
    expect(await sample(registry, 'antaeus_billing_run_running_seconds')).toBe(0);
    expect(
      await sample(registry, 'antaeus_billing_run_duration_seconds_count{status="completed"}'),
    ).toBe(1);
  });
});
