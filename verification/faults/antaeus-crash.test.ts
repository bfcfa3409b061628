import {
  expectNothingLost,
  finished,
  getRun,
  nobody,
  runUnderWay,
  scenarioTest,
  startRunWhenFree,
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
    // The killed run blocks new ones until its lease runs out, then is closed as interrupted.
    const { id, blockedBy } = await startRunWhenFree(stack);
    expect([...blockedBy]).toEqual([killedRun]);
    const run = await waitForRun(stack, id, finished);
    expect(run.status).toBe('completed');
    expect(run.attempted).toBeGreaterThan(0);
    await expectNothingLost(scenario, nobody);
    expect((await getRun(stack, killedRun)).status).toBe('interrupted');
  },
);
