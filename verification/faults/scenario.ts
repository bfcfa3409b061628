import { sleep } from '@internal/test-kit';
import type { BillingRun as AntaeusBillingRun } from 'antaeus/dist/billing/model';
import { invoiceStatuses, ledgerBreaches } from '../lib/invariants';
import type { Exchange } from '../lib/load-balancer';
import { Stack } from '../lib/stack';

/** 100 customers x 22 invoices: 2,200 invoices, of which 2,100 start PENDING. */
export const SEED = { customers: 100, invoicesPerCustomer: 22 };

/** The fields of Antaeus's billing run that the scenarios read; the JSON carries them as is. */
export type BillingRun = Pick<
  AntaeusBillingRun,
  'id' | 'status' | 'pending' | 'attempted' | 'paid' | 'declined' | 'failed' | 'skipped'
>;

export interface ScenarioStack {
  stack: Stack;
  /** Invoices the seed created PAID: no billing run charged them, so the provider has none. */
  paidAtStart: Set<number>;
  pendingAtStart: number;
}

export async function startScenarioStack(): Promise<ScenarioStack> {
  const stack = await Stack.start(SEED);
  const statuses = await invoiceStatuses(stack);
  const paidAtStart = new Set([...statuses].filter(([, s]) => s === 'PAID').map(([id]) => id));
  return { stack, paidAtStart, pendingAtStart: statuses.size - paidAtStart.size };
}

/** A describe block with a fresh stack of its own for `name`, torn down afterwards. */
export function scenarioTest(
  title: string,
  name: string,
  body: (scenario: ScenarioStack) => Promise<void>,
): void {
  describe(title, () => {
    let scenario: ScenarioStack;
    beforeAll(async () => {
      scenario = await startScenarioStack();
    });
    afterAll(() => scenario?.stack.stop());
    it(name, () => body(scenario));
  });
}

/** Starts a background run and returns once it is well under way: the moment to strike. */
export async function runUnderWay(stack: Stack): Promise<{ id: string; before: BillingRun }> {
  const id = await startRun(stack);
  const before = await waitForRun(stack, id, (run) => run.attempted >= 400 || finished(run));
  if (before.status !== 'running') {
    throw new Error(
      `the run finished before the fault could be injected: ${JSON.stringify(before)}`,
    );
  }
  return { id, before };
}

/** Starts a billing run in the background (POST /rest/v1/billing-runs); returns its id. */
export async function startRun(stack: Stack): Promise<string> {
  const { status, body } = await stack.callAntaeus<BillingRun>('POST', '/rest/v1/billing-runs');
  if (status !== 202)
    throw new Error(`POST /rest/v1/billing-runs answered ${status}: ${JSON.stringify(body)}`);
  return body.id;
}

/**
 * Starts a run once no other is active: a run whose process was killed holds the database
 * until its lease (BILLING_CLAIM_LEASE_MS) runs out, and Antaeus answers 409 naming it until
 * then. Returns the new run's id and the runs that were in the way.
 */
export async function startRunWhenFree(
  stack: Stack,
  timeoutMs = 60_000,
): Promise<{ id: string; blockedBy: Set<string> }> {
  const deadline = Date.now() + timeoutMs;
  const blockedBy = new Set<string>();
  for (;;) {
    const { status, body } = await stack.callAntaeus<
      BillingRun | { error: { details: { activeRunId: string } } }
    >('POST', '/rest/v1/billing-runs');
    if (status === 202) return { id: (body as BillingRun).id, blockedBy };
    if (status !== 409 || Date.now() > deadline)
      throw new Error(`POST /rest/v1/billing-runs answered ${status}: ${JSON.stringify(body)}`);
    blockedBy.add(
      (body as { error: { details: { activeRunId: string } } }).error.details.activeRunId,
    );
    await sleep(250);
  }
}

export async function getRun(stack: Stack, id: string): Promise<BillingRun> {
  const { status, body } = await stack.callAntaeus<BillingRun>(
    'GET',
    `/rest/v1/billing-runs/${id}`,
  );
  if (status !== 200) throw new Error(`GET /rest/v1/billing-runs/${id} answered ${status}`);
  return body;
}

/** Polls the run until `done(run)` holds; fails with the last state seen after `timeoutMs`. */
export async function waitForRun(
  stack: Stack,
  id: string,
  done: (run: BillingRun) => boolean,
  timeoutMs = 90_000,
): Promise<BillingRun> {
  const deadline = Date.now() + timeoutMs;
  let run = await getRun(stack, id);
  while (!done(run)) {
    if (Date.now() > deadline) {
      throw new Error(
        `billing run ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(run)}`,
      );
    }
    await sleep(100);
    run = await getRun(stack, id);
  }
  return run;
}

export const finished = (run: BillingRun) => run.status !== 'running';
export const attemptedAtLeast = (n: number) => (run: BillingRun) =>
  run.attempted >= n || finished(run);

/**
 * Runs the original's synchronous pay call until one run ends with nothing failed and nothing
 * skipped: every charge whose outcome was unknown has had its idempotency key replayed and
 * every claim left by a dead run has expired. Returns the runs it took. Once the stack is
 * healed a replay succeeds at once, so three runs in a row with failures mean a charge that
 * can never settle (a slow moment can explain one), and waiting longer only delays the failure.
 */
export async function settle(stack: Stack, maxRounds = 8): Promise<BillingRun[]> {
  const runs: BillingRun[] = [];
  for (let round = 0; round < maxRounds; round += 1) {
    const pay = await stack.callAntaeus<boolean>('POST', '/rest/v1/invoices/pay');
    if (pay.status !== 200) throw new Error(`POST /rest/v1/invoices/pay answered ${pay.status}`);
    const run = await getRun(stack, pay.headers.get('x-billing-run-id') ?? '');
    runs.push(run);
    if (run.status === 'completed' && run.failed === 0 && run.skipped === 0) return runs;
    if (runs.length >= 3 && runs.slice(-3).every((r) => r.failed > 0)) break;
    // Claims of a killed process block their invoices until the lease ends.
    if (run.skipped > 0) await sleep(2_000);
  }
  throw new Error(
    `billing did not settle after ${runs.length} runs: ${JSON.stringify(runs)}\n` +
      `unsettled invoices: ${JSON.stringify(await unsettledInvoices(stack))}`,
  );
}

interface ChargeAttempt {
  invoiceId: number;
  outcome: string;
  requests: number;
  error: string | null;
}

/** For a failure message: PENDING invoices whose last attempt did not end in a decision. */
async function unsettledInvoices(stack: Stack): Promise<ChargeAttempt[]> {
  const pending = [...(await invoiceStatuses(stack))].filter(([, s]) => s === 'PENDING');
  const last = await Promise.all(
    pending.slice(0, 200).map(async ([id]) => {
      const { body } = await stack.callAntaeus<ChargeAttempt[]>(
        'GET',
        `/rest/v1/invoices/${id}/charges`,
      );
      return body.at(-1);
    }),
  );
  return last.filter(
    (a): a is ChargeAttempt => a !== undefined && !['approved', 'declined'].includes(a.outcome),
  );
}

/** Says whether a failed exchange is the fault the scenario injected, not a broken service. */
export type Blame = (exchange: Exchange) => boolean;

/**
 * The checks every scenario ends with: both services ready, billing settled, the provider's
 * ledger agreeing with Antaeus invoice by invoice, and no 5xx that the injected fault does not
 * explain, neither between Antaeus and payment nor from Antaeus to its own clients.
 */
export async function expectNothingLost(
  scenario: ScenarioStack,
  blame: Blame,
): Promise<BillingRun[]> {
  const { stack, paidAtStart } = scenario;
  await stack.waitReady();
  const settlingRuns = await settle(stack);
  expect(await ledgerBreaches(stack, paidAtStart)).toEqual([]);
  const unexplained = stack.balancer.exchanges
    .filter((e) => e.status >= 500 && !blame(e))
    .map(
      (e) =>
        `${e.method} ${e.path} -> ${e.status} from ${e.replica} (${e.transportError ?? e.errorCode}) at ${e.endedAt}`,
    );
  expect(unexplained).toEqual([]);
  const clientErrors = stack.clientCalls.filter((c) => c.status >= 500);
  expect(clientErrors).toEqual([]);
  return settlingRuns;
}

/** A 5xx from `replica` that ended between `from` and `to` (epoch milliseconds). */
export const fromReplicaDuring =
  (replica: string, from: number, to: number): Blame =>
  (e) =>
    e.replica === replica && e.endedAt >= from && e.endedAt <= to;

export const nobody: Blame = () => false;
