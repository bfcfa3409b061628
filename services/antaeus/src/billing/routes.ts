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

export function billingRoutes(
  router: Router,
  {
    engine,
    store,
    invoices,
  }: { engine: BillingEngine; store: BillingStore; invoices: InvoiceRepository },
): void {
  // The original's contract: one synchronous run, answered with whether everything got paid.
  router.post('/rest/v1/invoices/pay', async (ctx) => {
    const run = await engine.start('pay').finished;
    ctx.set('X-Billing-Run-Id', run.id);
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

  // Starts a run in the background and answers at once; poll the Location for its counts.
  router.post('/rest/v1/billing-runs', (ctx) => {
    const { run, finished } = engine.start('api');
    finished.catch((err: unknown) =>
      ctx.state.log.error({ err, billingRunId: run.id }, 'billing run failed'),
    );
    ctx.set('Location', `/rest/v1/billing-runs/${run.id}`);
    sendJson(ctx, 202, runJson(run));
  });

  router.get('/rest/v1/billing-runs/:id', (ctx) => {
    const run = store.findRun(ctx.params.id ?? '');
    if (!run) throw new HttpError(404, 'not_found', `billing run ${ctx.params.id} does not exist`);
    sendJson(ctx, 200, runJson(run));
  });
}
