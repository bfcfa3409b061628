import { sleep } from '@internal/test-kit';
import {
  expectNothingLost,
  finished,
  runUnderWay,
  scenarioTest,
  waitForRun,
  type Blame,
} from './scenario';

jest.setTimeout(150_000);

scenarioTest(
  'Redis killed mid-run and started again',
  'loses no decision; payment answers only 503 store_unavailable while Redis is down',
  async (scenario) => {
    const { stack } = scenario;
    const { id } = await runUnderWay(stack);
    const stoppedAt = Date.now();
    await stack.stopRedis('SIGKILL');
    await sleep(2_000);
    // Redis comes back from its files with the manifests' durability settings: every decision
    // payment acknowledged must still be there.
    await stack.startRedis();
    await stack.waitReady();
    const healedAt = Date.now();

    await waitForRun(stack, id, finished);
    // The outage was really felt, and answered the way the contract asks: 503, retry later.
    expect(stack.balancer.exchanges.filter((e) => e.status >= 500).length).toBeGreaterThan(0);
    const redisWasDown: Blame = (e) =>
      e.replica.startsWith('payment-') &&
      e.status === 503 &&
      e.errorCode === 'store_unavailable' &&
      e.endedAt >= stoppedAt &&
      e.endedAt <= healedAt;
    await expectNothingLost(scenario, redisWasDown);
  },
);
