import { sleep } from '@internal/test-kit';
import {
  attemptedAtLeast,
  expectNothingLost,
  finished,
  fromReplicaDuring,
  nobody,
  startRun,
  startScenarioStack,
  waitForRun,
  type ScenarioStack,
} from './scenario';

jest.setTimeout(150_000);

const chargesBy = (scenario: ScenarioStack, replica: string, after: number) =>
  scenario.stack.balancer.exchanges.filter(
    (e) => e.replica === replica && e.path.startsWith('/v1/charges') && e.endedAt > after,
  ).length;

describe('a payment replica killed with SIGKILL mid-run, then restarted', () => {
  let scenario: ScenarioStack;
  beforeAll(async () => {
    scenario = await startScenarioStack();
  });
  afterAll(() => scenario?.stack.stop());

  it('loses no decision; only the killed replica fails requests, and only while it is down', async () => {
    const { stack } = scenario;
    const id = await startRun(stack);
    const before = await waitForRun(stack, id, attemptedAtLeast(400));
    expect(before.status).toBe('running');

    const killedAt = Date.now();
    expect(await stack.stopPayment(1, 'SIGKILL')).toBe('SIGKILL');
    await sleep(1_000);
    await stack.startPayment(1);
    const restartedAt = Date.now();

    const run = await waitForRun(stack, id, finished);
    expect(run.attempted).toBeGreaterThan(before.attempted);
    // The survivor carried the load while the replica was down, and the restarted one rejoined.
    expect(chargesBy(scenario, 'payment-0', killedAt)).toBeGreaterThan(0);
    await expectNothingLost(scenario, fromReplicaDuring('payment-1', killedAt, restartedAt));
    expect(chargesBy(scenario, 'payment-1', restartedAt)).toBeGreaterThan(0);
  });
});

describe('a payment replica sent SIGTERM under load (graceful drain)', () => {
  let scenario: ScenarioStack;
  beforeAll(async () => {
    scenario = await startScenarioStack();
  });
  afterAll(() => scenario?.stack.stop());

  it('finishes what it holds, exits 0, and no request fails anywhere', async () => {
    const { stack } = scenario;
    const id = await startRun(stack);
    const before = await waitForRun(stack, id, attemptedAtLeast(400));
    expect(before.status).toBe('running');

    expect(await stack.stopPayment(1, 'SIGTERM')).toBe(0);
    await stack.startPayment(1);

    const run = await waitForRun(stack, id, finished);
    expect(run).toMatchObject({ status: 'completed', failed: 0 });
    await expectNothingLost(scenario, nobody);
  });
});
