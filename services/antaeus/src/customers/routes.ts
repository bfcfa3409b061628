import Router from '@koa/router';
import { sendJson, sendNotFound } from '../json';
import { sendJsonArray } from '../list-stream';
import { integerId } from '../path-params';
import type { CustomerRepository } from './repository';

export function customerRoutes(router: Router, customers: CustomerRepository): void {
  router.get('/rest/v1/customers', (ctx) =>
    sendJsonArray(ctx, customers.list, (customer) => JSON.stringify(customer)),
  );
  router.get('/rest/v1/customers/:id', (ctx) => {
    const customer = customers.find(integerId(ctx.params.id));
    if (customer) sendJson(ctx, 200, customer);
    else sendNotFound(ctx);
  });
}
