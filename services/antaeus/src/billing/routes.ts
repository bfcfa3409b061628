import Router from '@koa/router';
import { HttpError } from '@internal/service-kit';
import { sendJson } from '../json';
import { integerId } from '../path-params';
import type { InvoiceRepository } from '../invoices/repository';
import type { BillingEngine } from './engine';
import { attemptJson, paidEverything, runJson } from './model';
import type { BillingStore } from './store';

const DEFAULT_RUN_LIMIT = 20;
const MAX_RUN_LIMIT = 500;

function runLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_RUN_LIMIT;
  const value = typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= MAX_RUN_LIMIT)) {
    throw new HttpError(
      400,
      'invalid_parameter',
      `query parameter limit must be an integer from 1 to ${MAX_RUN_LIMIT}`,
      {
        parameter: 'limit',
        value: raw,
      },
    );
  }
  return value;
}

/** `?join=true|false`; anything else is the client's mistake, named. */
function joinParameter(raw: unknown): boolean {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new HttpError(400, 'invalid_parameter', 'query parameter join must be true or false', {
    parameter: 'join',
    value: raw,
  });
}

export function billingRoutes(
  router: Router,
  {
    engine,
    store,
    invoices,
  }: { engine: BillingEngine; store: BillingStore; invoices: InvoiceRepository },
): void {
  // The original's contract: one synchronous run, answered with whether everything got paid.
  // While a run is active this call joins it instead of being refused: the original's clients
  // know only a JSON boolean (anything else fails their call with a 500), the active run is
  // already charging exactly the invoices a new run would charge, and its answer is the one a
  // new run would have given. So N concurrent pay calls make one run and N identical answers,
  // and a client retrying pay can never multiply runs. X-Billing-Run-Id names the run either way.
  router.post('/rest/v1/invoices/pay', async (ctx) => {
    const { finished, joined } = engine.start('pay', { join: true });
    const run = await finished;
    ctx.set('X-Billing-Run-Id', run.id);
    if (joined) ctx.set('X-Billing-Run-Joined', 'true');
    sendJson(ctx, 200, paidEverything(run));
  });

  router.get('/rest/v1/invoices/:id/charges', (ctx) => {
    const id = integerId(ctx.params.id);
    if (!invoices.find(id)) throw new HttpError(404, 'not_found', `invoice ${id} does not exist`);
    sendJson(ctx, 200, store.attemptsOf(id).map(attemptJson));
  });

  router.get('/rest/v1/billing-runs', (ctx) => {
    sendJson(ctx, 200, store.recentRuns(runLimit(ctx.query.limit)).map(runJson));
  });

  // Starts a run in the background and answers at once (202); poll the Location for its counts.
  // While another run is active: 409 naming it, or with ?join=true that run (200).
  router.post('/rest/v1/billing-runs', (ctx) => {
    const started = engine.start('api', { join: joinParameter(ctx.query.join) });
    const { run, joined } = started;
    // A joined run is its starter's to log; this request does not wait for it.
    if (!joined) {
      started.finished.catch((err: unknown) =>
        ctx.state.log.error({ err, billingRunId: run.id }, 'billing run failed'),
      );
    }
    ctx.set('Location', `/rest/v1/billing-runs/${run.id}`);
    sendJson(ctx, joined ? 200 : 202, runJson(run));
  });

  router.get('/rest/v1/billing-runs/:id', (ctx) => {
    const run = store.findRun(ctx.params.id ?? '');
    if (!run) throw new HttpError(404, 'not_found', `billing run ${ctx.params.id} does not exist`);
    sendJson(ctx, 200, runJson(run));
  });
}
