import http from 'node:http';
import type net from 'node:net';
import { freePort } from '@internal/test-kit';
import type { ProviderLedger } from './invariant';

export interface ChargeCall {
  invoiceId: number;
  customerId: number;
  value: number;
  currency: unknown;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  /** The number of this request among those carrying the same key, from 1. */
  keyUse: number;
  /** Which TCP connection carried it, to see keep-alive at work. */
  connection: number;
  rawBody: string;
}

/**
 * How the provider handles one request. `decide` makes (or, for a known key, replays) a
 * decision and then delivers it the given way: a lost answer after a decision is exactly the
 * case where only the idempotency key prevents a second charge.
 */
export type Script =
  | { kind: 'decide'; approve: boolean; deliver?: Delivery; delayMs?: number }
  | {
      kind: 'status';
      status: number;
      body?: string;
      delayMs?: number;
      headers?: Record<string, string>;
    }
  | { kind: 'reset' }
  | { kind: 'hang' };

export type Delivery = 'ok' | 'reset' | 'hang' | 'malformed' | 'status-503';

export interface Decision {
  key: string;
  invoiceId: number;
  approved: boolean;
}

/**
 * A payment provider on loopback whose every answer the test chooses. Like the real one it
 * stores a decision per idempotency key and replays it, and it keeps the ledger the invariant
 * is checked against.
 */
export class ScriptedProvider {
  readonly calls: ChargeCall[] = [];
  readonly decisions = new Map<string, Decision>();
  private readonly keyUses = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  private connections = 0;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    public script: (call: ChargeCall) => Script,
  ) {}

  static async start(script: (call: ChargeCall) => Script): Promise<ScriptedProvider> {
    const port = await freePort();
    const server = http.createServer();
    const provider = new ScriptedProvider(server, port, script);
    server.on('connection', (socket) => {
      provider.connections += 1;
      (socket as net.Socket & { connectionNumber?: number }).connectionNumber =
        provider.connections;
      provider.sockets.add(socket);
      socket.once('close', () => provider.sockets.delete(socket));
    });
    server.on('request', (req, res) => provider.handle(req, res));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return provider;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/charges`;
  }

  /** Keys the provider approved, by invoice. */
  approvalsByInvoice(): Map<number, string[]> {
    const byInvoice = new Map<number, string[]>();
    for (const d of this.decisions.values()) {
      if (d.approved) byInvoice.set(d.invoiceId, [...(byInvoice.get(d.invoiceId) ?? []), d.key]);
    }
    return byInvoice;
  }

  /** What the provider holds, in the shape the billing invariant reads (a snapshot of now). */
  ledger(): ProviderLedger {
    const approvals = this.approvalsByInvoice();
    return {
      approvals: (id) => approvals.get(id)?.length ?? 0,
      keysSeen: (id) =>
        this.calls.filter((c) => c.invoiceId === id).map((c) => c.idempotencyKey ?? ''),
    };
  }

  async stop(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(rawBody) as {
        invoice_id: number;
        customer_id: number;
        value: number;
        currency: unknown;
      };
      const key = req.headers['idempotency-key'] as string | undefined;
      const keyUse = key === undefined ? 1 : (this.keyUses.get(key) ?? 0) + 1;
      if (key !== undefined) this.keyUses.set(key, keyUse);
      const call: ChargeCall = {
        invoiceId: body.invoice_id,
        customerId: body.customer_id,
        value: body.value,
        currency: body.currency,
        idempotencyKey: key,
        authorization: req.headers.authorization,
        keyUse,
        connection:
          (req.socket as net.Socket & { connectionNumber?: number }).connectionNumber ?? 0,
        rawBody,
      };
      this.calls.push(call);
      const script = this.script(call);
      // Deciding on arrival, before any delay, is what makes a slow or lost answer dangerous.
      const decision = script.kind === 'decide' ? this.decide(call, script.approve) : undefined;
      const delayMs = 'delayMs' in script ? (script.delayMs ?? 0) : 0;
      setTimeout(() => this.respond(script, decision, req, res), delayMs);
    });
  }

  /** A known key gets its stored decision back, as from a real idempotent provider. */
  private decide(call: ChargeCall, approve: boolean): Decision {
    const key = call.idempotencyKey ?? `no-key-${this.calls.length}`;
    const decision = this.decisions.get(key) ?? {
      key,
      invoiceId: call.invoiceId,
      approved: approve,
    };
    this.decisions.set(key, decision);
    return decision;
  }

  private respond(
    script: Script,
    decision: Decision | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    if (script.kind === 'reset') {
      req.socket.destroy();
    } else if (script.kind === 'status') {
      res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers });
      res.end(
        script.body ??
          JSON.stringify({ error: { code: 'scripted', message: `scripted ${script.status}` } }),
      );
    } else if (script.kind === 'decide' && decision) {
      this.deliver(script.deliver ?? 'ok', decision, req, res);
    }
  }

  private deliver(
    delivery: Delivery,
    decision: Decision,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void {
    if (delivery === 'reset') {
      req.socket.destroy();
    } else if (delivery === 'malformed') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>gateway</html>');
    } else if (delivery === 'status-503') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"unavailable","message":"scripted 503"}}');
    } else if (delivery === 'ok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          result: decision.approved,
          id: `ch_${decision.key}`,
          ...(decision.approved ? {} : { reason: 'insufficient_funds' }),
        }),
      );
    }
  }
}
