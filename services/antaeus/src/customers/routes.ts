import Router from '@koa/router';
import type { Middleware } from 'koa';
import { sendJson, sendNotFound } from '../json';
import { sendJsonArray } from '../list-stream';
import { integerId } from '../path-params';
import type { CustomerRepository } from './repository';

/** `listings` guards the full list (listingLimit). */
export function customerRoutes(
  router: Router,
  customers: CustomerRepository,
  listings: Middleware,
): void {
  router.get('/rest/v1/customers', listings, (ctx) =>
    sendJsonArray(ctx, customers.list, (customer) => JSON.stringify(customer)),
  );
  router.get('/rest/v1/customers/:id', (ctx) => {
    const customer = customers.find(integerId(ctx.params.id));
    if (customer) sendJson(ctx, 200, customer);
    else sendNotFound(ctx);
  });
}
