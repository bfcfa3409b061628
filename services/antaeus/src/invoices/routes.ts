import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { sendJsonText, sendNotFound } from '../json';
import { sendJsonArray } from '../list-stream';
import { decodePathSegment, integerId } from '../path-params';
import { invoiceJson, type InvoiceRepository } from './repository';

/**
 * `/rest/v1/invoices/{id}` except the literal `pay`, so that `GET /rest/v1/invoices/pay` is a
 * 405 naming only POST instead of a bad invoice id (and `Allow` never advertises GET there).
 */
const INVOICE_BY_ID = /^\/rest\/v1\/invoices\/(?!pay\/?$)([^/]+)\/?$/i;
const INVOICE_BY_ID_TEMPLATE = '/rest/v1/invoices/:id';

/** `listings` guards the full list (listingLimit). */
export function invoiceRoutes(
  router: Router,
  invoices: InvoiceRepository,
  listings: Middleware,
): void {
  router.get('/rest/v1/invoices', listings, (ctx) =>
    sendJsonArray(ctx, invoices.list, invoiceJson),
  );
  router.get(INVOICE_BY_ID, (ctx) => {
    // The metrics label is the route template, not the regular expression.
    (ctx as Context & { _matchedRoute?: string })._matchedRoute = INVOICE_BY_ID_TEMPLATE;
    // A regular-expression route's capture is raw; :id parameters arrive decoded.
    const invoice = invoices.find(integerId(decodePathSegment(ctx.captures?.[0])));
    if (invoice) sendJsonText(ctx, invoiceJson(invoice));
    else sendNotFound(ctx);
  });
}
