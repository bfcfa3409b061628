import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freePort,
  sleep,
  startProcess,
  waitForHttp,
  type ManagedProcess,
} from '@internal/test-kit';
import { deployedRedisArgs } from './deployed-redis';
import { startLoadBalancer, type LoadBalancer } from './load-balancer';
import { READY_PATH, startAntaeus, startPayment } from './services';

export interface StackOptions {
  customers: number;
  invoicesPerCustomer: number;
  billingConcurrency?: number;
  /** Extra environment for both payment replicas (tokens, success rate). */
  paymentEnv?: Record<string, string>;
  /** Extra environment for Antaeus. */
  antaeusEnv?: Record<string, string>;
}

/** A request the test itself sent to Antaeus, kept to prove no client saw a 5xx. */
export interface ClientCall {
  method: string;
  path: string;
  status: number;
  at: number;
}

/**
 * The whole system as local processes: Redis configured as the manifests configure it, its
 * files in a directory that outlives a restart (as its persistent volume does), two payment
 * replicas behind a readiness-gated load balancer, and Antaeus with its SQLite file, each
 * restartable on its own port.
 */
export class Stack {
  readonly clientCalls: ClientCall[] = [];
  /** Antaeus runs as deployed: its mutating endpoints need this token, which callAntaeus sends. */
  readonly antaeusToken = `stack-${randomBytes(24).toString('hex')}`;
  /** Output of every process that ran, including those already stopped or killed. */
  private readonly finishedOutput: string[] = [];
  /** Redis requires a password as deployed (Secret payment-redis); payment sends it in REDIS_URL. */
  readonly redisPassword = randomBytes(24).toString('hex');
  private readonly redisArgs = deployedRedisArgs('dev', { REDIS_PASSWORD: this.redisPassword });

  private constructor(
    readonly workDir: string,
    readonly redisPort: number,
    readonly paymentPorts: number[],
    readonly antaeusPort: number,
    readonly balancer: LoadBalancer,
    private readonly options: StackOptions,
    private redis: ManagedProcess | undefined,
    readonly payments: Array<ManagedProcess | undefined>,
    private antaeus: ManagedProcess | undefined,
  ) {}

  static async start(options: StackOptions): Promise<Stack> {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-'));
    const [redisPort, antaeusPort, ...paymentPorts] = await Promise.all(
      [0, 1, 2, 3].map(() => freePort()),
    );
    const balancer = await startLoadBalancer({
      upstreams: paymentPorts.map((port, i) => ({ name: `payment-${i}`, port: port! })),
      readinessPath: READY_PATH,
    });
    const stack = new Stack(
      workDir,
      redisPort!,
      paymentPorts as number[],
      antaeusPort!,
      balancer,
      options,
      undefined,
      [undefined, undefined],
      undefined,
    );
    await stack.startRedis();
    await Promise.all(stack.paymentPorts.map((_, i) => stack.startPayment(i)));
    await stack.startAntaeus();
    return stack;
  }

  get antaeusUrl(): string {
    return `http://127.0.0.1:${this.antaeusPort}`;
  }

  get redisUrl(): string {
    return `redis://:${this.redisPassword}@127.0.0.1:${this.redisPort}`;
  }

  paymentUrl(replica: number): string {
    return `http://127.0.0.1:${this.paymentPorts[replica]}`;
  }

  async startRedis(): Promise<void> {
    this.redis = await startProcess({
      command: process.env.REDIS_SERVER_BIN ?? 'redis-server',
      // As deployed, then what a local process needs; a later directive overrides an earlier one.
      args: [
        ...this.redisArgs,
        '--port',
        String(this.redisPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.workDir,
      ],
    });
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(this.redis.output())) {
      if (Date.now() > deadline || this.redis.child.exitCode !== null) {
        throw new Error(`redis-server did not start:\n${this.redis.output()}`);
      }
      await sleep(25);
    }
  }

  async stopRedis(signal: NodeJS.Signals): Promise<void> {
    await this.retire(this.redis, signal);
    this.redis = undefined;
  }

  async startPayment(replica: number): Promise<void> {
    const started = await startPayment(
      {
        REDIS_URL: this.redisUrl,
        // Below Antaeus's PAYMENT_TIMEOUT_MS, so a replay that meets a key in flight gets 409, not a timeout.
        IDEMPOTENCY_WAIT_MS: '1000',
        ...this.options.paymentEnv,
      },
      this.paymentPorts[replica],
    );
    this.payments[replica] = started.process;
  }

  /** Sends `signal` to a payment replica and waits until it is gone. */
  async stopPayment(replica: number, signal: NodeJS.Signals): Promise<number | string> {
    const exit = await this.retire(this.payments[replica], signal);
    this.payments[replica] = undefined;
    return exit;
  }

  async startAntaeus(): Promise<void> {
    const started = await startAntaeus(
      {
        DATABASE_PATH: path.join(this.workDir, 'antaeus.db'),
        SEED_CUSTOMERS: String(this.options.customers),
        SEED_INVOICES_PER_CUSTOMER: String(this.options.invoicesPerCustomer),
        PAYMENT_PROVIDER_ENDPOINT: `${this.balancer.url}/v1/charges`,
        BILLING_CONCURRENCY: String(this.options.billingConcurrency ?? 16),
        // Short enough that faults heal within the test, long enough for a loaded 2-core box.
        PAYMENT_TIMEOUT_MS: '2000',
        PAYMENT_MAX_RETRIES: '3',
        PAYMENT_RETRY_BASE_DELAY_MS: '100',
        PAYMENT_RETRY_MAX_DELAY_MS: '500',
        // A claim held by a killed Antaeus blocks its invoice until this runs out; it must
        // exceed the longest charge (2000 ms x 4 requests + 500 ms x 3 backoffs).
        BILLING_CLAIM_LEASE_MS: '10000',
        ANTAEUS_API_TOKENS: this.antaeusToken,
        ...this.options.antaeusEnv,
      },
      this.antaeusPort,
    );
    this.antaeus = started.process;
  }

  async stopAntaeus(signal: NodeJS.Signals): Promise<void> {
    await this.retire(this.antaeus, signal);
    this.antaeus = undefined;
  }

  /** Calls Antaeus as a client would, recording the status; JSON answers are parsed. */
  async callAntaeus<T>(
    method: string,
    urlPath: string,
    timeoutMs = 120_000,
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(`${this.antaeusUrl}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${this.antaeusToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    this.clientCalls.push({ method, path: urlPath, status: res.status, at: Date.now() });
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the raw text is the body
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  /** Waits until every process of the stack reports ready. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    await Promise.all([
      ...this.paymentPorts.map((port) =>
        waitForHttp(`http://127.0.0.1:${port}${READY_PATH}`, { timeoutMs }),
      ),
      waitForHttp(`${this.antaeusUrl}${READY_PATH}`, { timeoutMs }),
    ]);
  }

  /** Everything every process of the stack has written so far. */
  allOutput(): string {
    const live = [this.redis, ...this.payments, this.antaeus].map((p) => p?.output() ?? '');
    return [...this.finishedOutput, ...live].join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.retire(this.antaeus, 'SIGTERM'),
      ...this.payments.map((p) => this.retire(p, 'SIGTERM')),
    ]);
    await this.retire(this.redis, 'SIGTERM');
    await this.balancer.close();
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  private async retire(
    proc: ManagedProcess | undefined,
    signal: NodeJS.Signals,
  ): Promise<number | string> {
    if (!proc) return 'not running';
    const exit = await proc.stop(signal);
    this.finishedOutput.push(proc.output());
    return exit;
  }
}
