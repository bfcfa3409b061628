import type { Context } from 'koa';

/**
 * Answers with JSON text built by the caller. Koa would send a bare string as text/plain, and
 * the compatible answers ("ok", "not found", true) are JSON strings and booleans.
 */
export function sendJson(ctx: Context, status: number, value: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(value);
}

/** For bodies already serialised (money keeps its two decimal places only that way). */
export function sendJsonText(ctx: Context, text: string): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = text;
}

/** The original's answer for an unknown customer or invoice: 404 with the JSON string "not found". */
export function sendNotFound(ctx: Context): void {
  sendJson(ctx, 404, 'not found');
}
