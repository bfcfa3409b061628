import { sleep } from '@internal/test-kit';
import {
  expectNothingLost,
  finished,
  fromReplicaDuring,
  nobody,
  runUnderWay,
  scenarioTest,
  waitForRun,
  type ScenarioStack,
} from './scenario';

jest.setTimeout(150_000);

const chargesBy = (scenario: ScenarioStack, replica: string, after: number) =>
  scenario.stack.balancer.exchanges.filter(
    (e) => e.replica === replica && e.path.startsWith('/v1/charges') && e.endedAt > after,
  ).length;

scenarioTest(
  'a payment replica killed with SIGKILL mid-run, then restarted',
  'loses no decision; only the killed replica fails requests, and only while it is down',
  async (scenario) => {
    const { stack } = scenario;
    const { id, before } = await runUnderWay(stack);
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
  },
);

scenarioTest(
  'a payment replica sent SIGTERM under load (graceful drain)',
  'finishes what it holds, exits 0, and no request fails anywhere',
  async (scenario) => {
    const { stack } = scenario;
    const { id } = await runUnderWay(stack);
    expect(await stack.stopPayment(1, 'SIGTERM')).toBe(0);
    await stack.startPayment(1);
    const run = await waitForRun(stack, id, finished);
    expect(run).toMatchObject({ status: 'completed', failed: 0 });
    await expectNothingLost(scenario, nobody);
  },
);
