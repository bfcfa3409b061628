import {
  expectNothingLost,
  finished,
  nobody,
  scenarioTest,
  startRun,
  waitForRun,
} from './scenario';

jest.setTimeout(150_000);

scenarioTest(
  'several billing runs at once over 2,100 pending invoices',
  'charges no invoice twice and loses no decision',
  async (scenario) => {
    const { stack, pendingAtStart } = scenario;
    expect(pendingAtStart).toBeGreaterThanOrEqual(2_000);
    // Three background runs and the original's synchronous pay call, all racing for claims.
    const ids = await Promise.all([startRun(stack), startRun(stack), startRun(stack)]);
    const pay = stack.callAntaeus<boolean>('POST', '/rest/v1/invoices/pay');
    const runs = await Promise.all(ids.map((id) => waitForRun(stack, id, finished)));
    expect((await pay).status).toBe(200);
    // The runs really overlapped: more than one of them won claims.
    expect(runs.filter((run) => run.attempted > 0).length).toBeGreaterThan(1);
    await expectNothingLost(scenario, nobody);
  },
);
