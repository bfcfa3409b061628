import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import https from 'node:https';
import type { TlsMaterial } from '@internal/service-kit';
import { urlToHttpOptions } from 'node:url';
import { formatMinorUnits, type Currency } from '../money';
import type { ChargeOutcome } from '../billing/model';
import { backoffDelayMs } from './backoff';

export interface ChargeRequest {
  invoiceId: number;
  customerId: number;
  amountMinor: number;
  currency: Currency;
}

/**
 * How one HTTP exchange ended, for the latency histogram. `unreachable`: no answer at all (the
 * connection failed or broke, or the timeout passed); `retryable`: an answer to retry (5xx,
 * 408, 409, malformed).
 */
export type ExchangeResult =
  'approved' | 'declined' | 'rejected' | 'rate_limited' | 'retryable' | 'unreachable';

export interface PaymentClientOptions {
  endpoint: string;
  apiToken?: string;
  timeoutMs: number;
  /** Retries after failures (timeouts, 5xx, malformed answers); a 429 uses none of them. */
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** The longest wait a 429's Retry-After gets. */
  retryAfterMaxMs: number;
  /** How long one charge may take, retries and waits included: the invoice's claim lease. */
  chargeBudgetMs: number;
  /** Upper bound of open connections; the billing concurrency is the natural value. */
  maxSockets: number;
  /** For an https:// endpoint: the CA to verify payment with, and the client certificate. */
  tls?: TlsMaterial;
  random?: () => number;
  onExchange?: (result: ExchangeResult, seconds: number) => void;
}

type Exchange =
  | { result: 'approved' | 'declined'; chargeId: string | undefined; reason: string | undefined }
  | { result: 'rejected'; status: number; error: string }
  | { result: 'rate_limited'; retryAfterMs: number | undefined; error: string }
  | { result: 'retryable' | 'unreachable'; error: string };

const MAX_RESPONSE_BYTES = 64 * 1024;
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409]);

function describeError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed?.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: the raw text below says what the provider sent
  }
  return body.slice(0, 200) || 'empty body';
}

/**
 * Retry-After as milliseconds: delay-seconds (what payment sends) or an HTTP date; undefined
 * when absent or unreadable.
 */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function interpret(status: number, body: string, retryAfter?: string): Exchange {
  if (status === 429) {
    return {
      result: 'rate_limited',
      retryAfterMs: retryAfterMs(retryAfter),
      error: `HTTP 429: ${describeError(body)}`,
    };
  }
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
  private agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly requestOptions: http.RequestOptions;
  /** The headers every charge request carries, as name, value pairs. */
  private readonly fixedHeaders: string[];

  constructor(private readonly options: PaymentClientOptions) {
    const url = new URL(options.endpoint);
    const secure = url.protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = this.newAgent(secure, options.tls);
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

  /**
   * Uses renewed TLS material (a client certificate cert-manager renewed) for the connections
   * opened from now on; connections already open finish their requests on the old one.
   */
  useTls(material: TlsMaterial): void {
    this.agent = this.newAgent(true, material);
    this.requestOptions.agent = this.agent;
  }

  private newAgent(secure: boolean, tls: TlsMaterial | undefined): http.Agent {
    const settings = {
      keepAlive: true,
      maxSockets: this.options.maxSockets,
      scheduling: 'lifo' as const,
    };
    if (!secure) return new http.Agent(settings);
    return new https.Agent({ ...settings, ca: tls?.ca, cert: tls?.cert, key: tls?.key });
  }

  async charge(
    request: ChargeRequest,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeOutcome> {
    const body =
      `{"customer_id":${request.customerId},"value":${formatMinorUnits(request.amountMinor)},` +
      `"currency":"${request.currency}","invoice_id":${request.invoiceId}}`;
    const deadline = Date.now() + this.options.chargeBudgetMs;
    let failures = 0;
    let requests = 0;
    let lastError = '';
    let waitMs = 0;
    for (;;) {
      if (requests > 0) {
        if (signal?.aborted) {
          return { kind: 'unknown', error: `${lastError}; not retried: shutting down`, requests };
        }
        // The invoice's claim lasts chargeBudgetMs from the first request: a retry that could
        // outlast it would let another run take the invoice while this charge is in flight.
        if (Date.now() + waitMs + this.options.timeoutMs > deadline) {
          return {
            kind: 'unknown',
            error: `${lastError}; not retried: the invoice's claim would run out first`,
            requests,
          };
        }
        await sleep(waitMs);
      }
      const started = process.hrtime.bigint();
      const exchange = await this.exchange(body, idempotencyKey);
      this.options.onExchange?.(exchange.result, Number(process.hrtime.bigint() - started) / 1e9);
      requests += 1;
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
        case 'rate_limited':
          // Nothing was decided and nothing failed: the provider asked us to slow down, so
          // this uses up none of the retries, only time (the claim deadline above bounds it).
          lastError = exchange.error;
          waitMs = this.rateLimitWaitMs(exchange.retryAfterMs);
          break;
        case 'retryable':
        case 'unreachable':
          lastError = exchange.error;
          if (failures === this.options.maxRetries)
            return { kind: 'unknown', error: lastError, requests };
          waitMs = backoffDelayMs(failures, {
            baseDelayMs: this.options.retryBaseDelayMs,
            maxDelayMs: this.options.retryMaxDelayMs,
            random: this.options.random,
          });
          failures += 1;
      }
    }
  }

  /**
   * At least what the provider asked for, up to twice that: every charge in flight was
   * refused at about the same moment, and all of them retrying at the same instant would
   * overrun the provider's bucket again. Capped at retryAfterMaxMs so a provider asking for
   * an hour does not stall the run (the retry may then be refused again); without a
   * Retry-After, the first backoff step.
   */
  private rateLimitWaitMs(retryAfterMs: number | undefined): number {
    const random = this.options.random ?? Math.random;
    const asked = retryAfterMs ?? this.options.retryBaseDelayMs;
    return Math.min(this.options.retryAfterMaxMs, Math.floor(asked * (1 + random())));
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
          finish(
            interpret(
              res.statusCode ?? 0,
              Buffer.concat(chunks).toString('utf8'),
              res.headers['retry-after'],
            ),
          ),
        );
        res.on('error', (err) =>
          finish({ result: 'unreachable', error: `response interrupted: ${err.message}` }),
        );
      });
      const timer = setTimeout(() => {
        finish({ result: 'unreachable', error: `timed out after ${this.options.timeoutMs} ms` });
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) =>
        finish({ result: 'unreachable', error: `request failed: ${err.code ?? err.message}` }),
      );
      req.end(body);
    });
  }
}
