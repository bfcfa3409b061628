import Router from '@koa/router';
import { sendJsonText, sendNotFound } from '../json';
import { integerId } from '../path-params';
import { invoiceJson, invoiceListJson, type InvoiceRepository } from './repository';

export function invoiceRoutes(router: Router, invoices: InvoiceRepository): void {
  router.get('/rest/v1/invoices', (ctx) => sendJsonText(ctx, invoiceListJson(invoices.list())));
  router.get('/rest/v1/invoices/:id', (ctx) => {
    const invoice = invoices.find(integerId(ctx.params.id));
    if (invoice) sendJsonText(ctx, invoiceJson(invoice));
    else sendNotFound(ctx);
  });
}
