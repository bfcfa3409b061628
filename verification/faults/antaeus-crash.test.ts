import {
  attemptedAtLeast,
  expectNothingLost,
  finished,
  getRun,
  nobody,
  startRun,
  startScenarioStack,
  waitForRun,
  type ScenarioStack,
} from './scenario';

jest.setTimeout(150_000);

describe('Antaeus killed with SIGKILL mid-run, restarted, then a new run', () => {
  let scenario: ScenarioStack;
  beforeAll(async () => {
    scenario = await startScenarioStack();
  });
  afterAll(() => scenario?.stack.stop());

  it('replays every charge whose answer it lost, and charges nothing twice', async () => {
    const { stack } = scenario;
    const killedRun = await startRun(stack);
    const before = await waitForRun(stack, killedRun, attemptedAtLeast(400));
    expect(before.status).toBe('running');

    await stack.stopAntaeus('SIGKILL');
    await stack.startAntaeus();
    const afterRestart = await startRun(stack);
    const run = await waitForRun(stack, afterRestart, finished);
    expect(run.status).toBe('completed');
    // The dead run's claims were still leased: the new run skipped those invoices.
    expect(run.attempted).toBeGreaterThan(0);

    await expectNothingLost(scenario, nobody);
    expect((await getRun(stack, killedRun)).status).toBe('interrupted');
  });
});
