import { expectNothingLost, finished, getRun, nobody, scenarioTest, waitForRun } from './scenario';
import type { BillingRun } from './scenario';

jest.setTimeout(150_000);

interface RunRefused {
  error: { code: string; details: { activeRunId: string } };
}

scenarioTest(
  'several billing runs requested at once over 2,100 pending invoices',
  'starts exactly one, refuses the others naming it, joins the pay call to it, charges nothing twice',
  async (scenario) => {
    const { stack, pendingAtStart } = scenario;
    expect(pendingAtStart).toBeGreaterThanOrEqual(2_000);
    // Three background starts and the original's synchronous pay call, all at once.
    const starts = Promise.all(
      [0, 1, 2].map(() =>
        stack.callAntaeus<BillingRun | RunRefused>('POST', '/rest/v1/billing-runs'),
      ),
    );
    const pay = stack.callAntaeus<boolean>('POST', '/rest/v1/invoices/pay');
    const answers = await starts;
    const paid = await pay;

    // Exactly one run: whoever got there first started it, every other request names it.
    const runIds = new Set<string>();
    for (const answer of answers) {
      if (answer.status === 202) runIds.add((answer.body as BillingRun).id);
      else {
        expect(answer.status).toBe(409);
        const { error } = answer.body as RunRefused;
        expect(error.code).toBe('billing_run_active');
        runIds.add(error.details.activeRunId);
      }
    }
    expect(paid.status).toBe(200);
    expect(typeof paid.body).toBe('boolean');
    runIds.add(paid.headers.get('x-billing-run-id') ?? '');
    expect(runIds.size).toBe(1);
    expect(answers.filter((a) => a.status === 202).length).toBeLessThanOrEqual(1);

    const [id] = [...runIds] as [string];
    const run = await waitForRun(stack, id, finished);
    expect(run).toMatchObject({ status: 'completed', pending: pendingAtStart, skipped: 0 });
    expect(paid.body).toBe(run.paid === run.pending);
    const recent = await stack.callAntaeus<BillingRun[]>('GET', '/rest/v1/billing-runs');
    expect(recent.body.map((r) => r.id)).toEqual([id]);
    expect((await getRun(stack, id)).attempted).toBe(pendingAtStart);
    await expectNothingLost(scenario, nobody);
  },
);
