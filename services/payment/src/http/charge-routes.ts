import { setTimeout as delay } from 'node:timers/promises';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Registry } from 'prom-client';
import { HttpError, jsonBody } from '@internal/service-kit';
import type { RandomSource } from '../random/prng';
import type { ChargeStore } from '../ledger/store';
import { chargeOnce, type ChargeOutcome } from '../idempotency/charge-once';
import { IdempotencyConflict } from '../idempotency/errors';
import { InvoiceChargeLimitReached, StoreFull } from '../ledger/errors';
import { CHARGE_ID, decide } from '../charges/decision';
import { chargeMetrics, type ChargeMetrics } from './charge-metrics';
import { chargeResponse, ledgerEntry } from './charge-responses';
import { parseChargeRequest, parseIdempotencyKey } from './charge-request';
import { parseListPage, pageCursor } from './list-page';

export interface ChargeRoutesOptions {
  store: ChargeStore;
  successRate: number;
  /** Added before a new decision is answered; a replayed one is answered at once. */
  decisionDelayMs: number;
  random: RandomSource;
  idempotencyWaitMs: number;
  bodyLimitBytes: number;
  /** Runs before anything else on these routes: authentication, when configured. */
  guard: Middleware;
  /** Runs after the guard on the charge routes, before the body is read: the rate limit. */
  limit: Middleware;
  registry: Registry;
}

/**
 * The store failing is our problem, not the client's: 503, so the client retries. What the
 * store refuses on purpose (a full store, an idempotency conflict, an invoice's limit) is a
 * domain error that chargeHttpError answers.
 */
async function fromStore<T>(
  ctx: Context,
  metrics: ChargeMetrics,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof StoreFull) metrics.storeFailed('full');
    if (isRefusal(err)) throw err;
    metrics.storeFailed('unavailable');
    ctx.state.log.error({ err }, 'charge store failed');
    throw new HttpError(503, 'store_unavailable', 'the decision store is unavailable; retry later');
  }
}

const isRefusal = (err: unknown) =>
  err instanceof IdempotencyConflict ||
  err instanceof StoreFull ||
  err instanceof InvoiceChargeLimitReached;

/**
 * POST /v1/charges and POST / (the original Antaeus's default endpoint) decide; GET
 * /v1/charges/{id} and GET /v1/charges?invoice_id= read the ledger every replica shares.
 * Every route works in the scope of the caller the guard identified (ctx.state.caller).
 */
export function registerChargeRoutes(router: Router, options: ChargeRoutesOptions): void {
  const { store, guard, limit } = options;
  const metrics = chargeMetrics(options.registry, options.successRate);
  const body = jsonBody(options.bodyLimitBytes);

  const createCharge = async (ctx: Context): Promise<void> => {
    const request = parseChargeRequest((ctx.request as { body?: unknown }).body);
    const key = parseIdempotencyKey(ctx.headers['idempotency-key']);
    if (request.currency === null) {
      ctx.state.log.warn(
        { customerId: request.customerId, invoiceId: request.invoiceId },
        'unknown currency: the legacy client sent {}; deciding without a currency code',
      );
    }
    const caller = ctx.state.caller as string;
    const decideNow = () => decide(request, caller, options.successRate, options.random);
    const outcome: ChargeOutcome = await fromStore(ctx, metrics, async () => {
      if (key !== undefined)
        return chargeOnce(store, caller, key, request, options.idempotencyWaitMs, decideNow);
      const decision = decideNow();
      await store.save(decision);
      return { decision, replayed: false };
    });
    metrics.decided(outcome);
    const { decision, replayed } = outcome;
    if (!replayed && options.decisionDelayMs > 0) await delay(options.decisionDelayMs);
    ctx.state.accessLog = {
      chargeId: decision.id,
      result: decision.result,
      replayed,
      customerId: decision.customerId,
      invoiceId: decision.invoiceId,
    };
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = chargeResponse(decision);
  };

  router.post('/', guard, limit, body, createCharge);
  router.post('/v1/charges', guard, limit, body, createCharge);

  router.get('/v1/charges', guard, async (ctx) => {
    const { invoiceId, offset, limit: pageSize } = parseListPage(ctx.query);
    const page = await fromStore(ctx, metrics, () =>
      store.listForInvoice(ctx.state.caller as string, invoiceId, offset, pageSize),
    );
    ctx.body = {
      invoice_id: invoiceId,
      charges: page.decisions.map(ledgerEntry),
      next_cursor: page.nextOffset === undefined ? null : pageCursor(page.nextOffset),
    };
  });

  router.get('/v1/charges/:id', guard, async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!CHARGE_ID.test(id)) {
      throw new HttpError(
        400,
        'invalid_request',
        'charge id must look like ch_ followed by 32 hex digits',
        [{ field: 'id', message: 'must match ^ch_[0-9a-f]{32}$' }],
      );
    }
    const decision = await fromStore(ctx, metrics, () => store.get(ctx.state.caller as string, id));
    if (!decision) throw new HttpError(404, 'not_found', `no charge ${id}`);
    ctx.body = ledgerEntry(decision);
  });
}
