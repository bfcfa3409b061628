import { sleep } from '@internal/test-kit';
import {
  attemptedAtLeast,
  expectNothingLost,
  finished,
  startRun,
  startScenarioStack,
  waitForRun,
  type Blame,
  type ScenarioStack,
} from './scenario';

jest.setTimeout(150_000);

describe('Redis killed mid-run and started again', () => {
  let scenario: ScenarioStack;
  beforeAll(async () => {
    scenario = await startScenarioStack();
  });
  afterAll(() => scenario?.stack.stop());

  it('loses no decision; payment answers only 503 store_unavailable while Redis is down', async () => {
    const { stack } = scenario;
    const id = await startRun(stack);
    const before = await waitForRun(stack, id, attemptedAtLeast(400));
    expect(before.status).toBe('running');

    const stoppedAt = Date.now();
    await stack.stopRedis('SIGKILL');
    await sleep(2_000);
    // The append-only file (fsync on every write) brings back every acknowledged decision.
    await stack.startRedis();
    await stack.waitReady();
    const healedAt = Date.now();

    await waitForRun(stack, id, finished);
    const outage = stack.balancer.exchanges.filter((e) => e.status >= 500);
    // The outage was really felt, and answered the way the contract asks: 503, retry later.
    expect(outage.length).toBeGreaterThan(0);
    const redisWasDown: Blame = (e) =>
      e.replica.startsWith('payment-') &&
      e.status === 503 &&
      e.errorCode === 'store_unavailable' &&
      e.endedAt >= stoppedAt &&
      e.endedAt <= healedAt;
    await expectNothingLost(scenario, redisWasDown);
  });
});
