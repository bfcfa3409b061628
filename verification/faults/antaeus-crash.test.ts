import {
  expectNothingLost,
  finished,
  getRun,
  nobody,
  runUnderWay,
  scenarioTest,
  startRun,
  waitForRun,
} from './scenario';

jest.setTimeout(150_000);

scenarioTest(
  'Antaeus killed with SIGKILL mid-run, restarted, then a new run',
  'replays every charge whose answer it lost, and charges nothing twice',
  async (scenario) => {
    const { stack } = scenario;
    const { id: killedRun } = await runUnderWay(stack);
    await stack.stopAntaeus('SIGKILL');
    await stack.startAntaeus();
    const run = await waitForRun(stack, await startRun(stack), finished);
    expect(run.status).toBe('completed');
    expect(run.attempted).toBeGreaterThan(0);
    await expectNothingLost(scenario, nobody);
    expect((await getRun(stack, killedRun)).status).toBe('interrupted');
  },
);
