import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { formatMinorUnits, type Currency } from '../money';
import { backoffDelayMs } from './backoff';

export interface ChargeRequest {
  invoiceId: number;
  customerId: number;
  amountMinor: number;
  currency: Currency;
}

/**
 * What a charge came to after retries. `rejected`: the provider refused the request itself
 * (a 4xx other than 408/409/429), so nothing was charged. `unknown`: no decision could be read
 * (network errors, timeouts, 5xx, malformed answers until retries ran out), so the charge may
 * or may not have happened and must be retried with the same idempotency key.
 */
export type ChargeOutcome =
  | { kind: 'approved'; chargeId: string | undefined; requests: number }
  | { kind: 'declined'; chargeId: string | undefined; reason: string | undefined; requests: number }
  | { kind: 'rejected'; status: number; error: string; requests: number }
  | { kind: 'unknown'; error: string; requests: number };

/** How one HTTP exchange ended, for the latency histogram. */
export type ExchangeResult = 'approved' | 'declined' | 'rejected' | 'retryable';

export interface PaymentClientOptions {
  endpoint: string;
  apiToken?: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Upper bound of open connections; the billing concurrency is the natural value. */
  maxSockets: number;
  random?: () => number;
  onExchange?: (result: ExchangeResult, seconds: number) => void;
}

type Exchange =
  | { result: 'approved' | 'declined'; chargeId: string | undefined; reason: string | undefined }
  | { result: 'rejected'; status: number; error: string }
  | { result: 'retryable'; error: string };

const MAX_RESPONSE_BYTES = 64 * 1024;
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 429]);

function describeError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed?.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: the raw text below says what the provider sent
  }
  return body.slice(0, 200) || 'empty body';
}

function interpret(status: number, body: string): Exchange {
  if (status >= 200 && status < 300) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return {
        result: 'retryable',
        error: `malformed answer (HTTP ${status}, not JSON): ${body.slice(0, 200)}`,
      };
    }
    const decision = parsed as { result?: unknown; id?: unknown; reason?: unknown };
    if (typeof decision?.result !== 'boolean') {
      return {
        result: 'retryable',
        error: `malformed answer (HTTP ${status}, no boolean "result"): ${body.slice(0, 200)}`,
      };
    }
    return {
      result: decision.result ? 'approved' : 'declined',
      chargeId: typeof decision.id === 'string' ? decision.id : undefined,
      reason: typeof decision.reason === 'string' ? decision.reason : undefined,
    };
  }
  if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) {
    return { result: 'retryable', error: `HTTP ${status}: ${describeError(body)}` };
  }
  return { result: 'rejected', status, error: `HTTP ${status}: ${describeError(body)}` };
}

/**
 * Charges invoices at the payment provider over keep-alive connections. Every request for one
 * charge carries the same Idempotency-Key, so a retry after a lost answer gets the provider's
 * original decision instead of a second charge.
 */
export class PaymentClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly requestOptions: http.RequestOptions;
  /** The headers every charge request carries, as name, value pairs. */
  private readonly fixedHeaders: string[];

  constructor(private readonly options: PaymentClientOptions) {
    const url = new URL(options.endpoint);
    const secure = url.protocol === 'https:';
    this.transport = secure ? https : http;
    const AgentClass = secure ? https.Agent : http.Agent;
    this.agent = new AgentClass({
      keepAlive: true,
      maxSockets: options.maxSockets,
      scheduling: 'lifo',
    });
    // The endpoint taken apart once, not for every request as a URL argument would be.
    this.requestOptions = { ...urlToHttpOptions(url), method: 'POST', agent: this.agent };
    // Headers as a flat list: Node writes them as given, skipping the per-header validation
    // and bookkeeping of an object (a tenth of the client's CPU per charge). So they are
    // validated here, once; the per-request ones are a length and a key Antaeus made itself.
    this.fixedHeaders = [
      'host',
      url.host,
      'content-type',
      'application/json',
      'accept',
      'application/json',
      ...(options.apiToken ? ['authorization', `Bearer ${options.apiToken}`] : []),
    ];
    for (let i = 0; i < this.fixedHeaders.length; i += 2) {
      http.validateHeaderName(this.fixedHeaders[i]!);
      http.validateHeaderValue(this.fixedHeaders[i]!, this.fixedHeaders[i + 1]!);
    }
  }

  async charge(
    request: ChargeRequest,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeOutcome> {
    const body =
      `{"customer_id":${request.customerId},"value":${formatMinorUnits(request.amountMinor)},` +
      `"currency":"${request.currency}","invoice_id":${request.invoiceId}}`;
    let lastError = '';
    for (let attempt = 0; attempt <= this.options.maxRetries; attempt += 1) {
      if (attempt > 0) {
        if (signal?.aborted)
          return {
            kind: 'unknown',
            error: `${lastError}; not retried: shutting down`,
            requests: attempt,
          };
        await sleep(
          backoffDelayMs(attempt - 1, {
            baseDelayMs: this.options.retryBaseDelayMs,
            maxDelayMs: this.options.retryMaxDelayMs,
            random: this.options.random,
          }),
        );
      }
      const started = process.hrtime.bigint();
      const exchange = await this.exchange(body, idempotencyKey);
      this.options.onExchange?.(exchange.result, Number(process.hrtime.bigint() - started) / 1e9);
      const requests = attempt + 1;
      switch (exchange.result) {
        case 'approved':
          return { kind: 'approved', chargeId: exchange.chargeId, requests };
        case 'declined':
          return {
            kind: 'declined',
            chargeId: exchange.chargeId,
            reason: exchange.reason,
            requests,
          };
        case 'rejected':
          return { kind: 'rejected', status: exchange.status, error: exchange.error, requests };
        case 'retryable':
          lastError = exchange.error;
      }
    }
    return { kind: 'unknown', error: lastError, requests: this.options.maxRetries + 1 };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private exchange(body: string, idempotencyKey: string): Promise<Exchange> {
    const headers = [
      ...this.fixedHeaders,
      'content-length',
      String(Buffer.byteLength(body)),
      'idempotency-key',
      idempotencyKey,
    ];
    return new Promise<Exchange>((resolve) => {
      let settled = false;
      const finish = (exchange: Exchange) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(exchange);
      };
      const req = this.transport.request({ ...this.requestOptions, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            finish({
              result: 'retryable',
              error: `malformed answer: body larger than ${MAX_RESPONSE_BYTES} bytes`,
            });
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          finish(interpret(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))),
        );
        res.on('error', (err) =>
          finish({ result: 'retryable', error: `response interrupted: ${err.message}` }),
        );
      });
      const timer = setTimeout(() => {
        finish({ result: 'retryable', error: `timed out after ${this.options.timeoutMs} ms` });
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ result: 'retryable', error: `request failed: ${err.code ?? err.message}` }),
      );
      req.end(body);
    });
  }
}
