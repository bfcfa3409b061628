import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Lifecycle,
  createLogger,
  createMetricsRegistry,
  type BearerAuthConfig,
} from '@internal/service-kit';
import { jsonLineSink } from '@internal/test-kit';
import { createApp } from '../../src/app';
import { createBillingMetrics } from '../../src/billing/metrics';
import { createHarness, type Harness, type HarnessOptions } from './harness';

export interface AppServerOptions extends HarnessOptions {
  /** Default: authentication disabled, as ANTAEUS_AUTH=disabled. */
  auth?: BearerAuthConfig;
  metricsTokens?: string[];
  protectReads?: boolean;
}

export interface AppServer extends Omit<Harness, 'close'> {
  lifecycle: Lifecycle;
  baseUrl: string;
  /** What the app logged (at info level and above), one parsed object per line. */
  logLines: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** The Koa app on a real loopback port, over a real database and payment client. */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const harness = createHarness(options);
  const registry = createMetricsRegistry();
  createBillingMetrics(registry);
  const lifecycle = new Lifecycle();
  const { sink, lines: logLines } = jsonLineSink();
  const app = createApp({
    db: harness.db,
    engine: harness.engine,
    logger: createLogger('antaeus-test', 'info', sink),
    lifecycle,
    registry,
    auth: options.auth ?? { disabled: true },
    metricsTokens: options.metricsTokens,
    protectReads: options.protectReads,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...harness,
    lifecycle,
    baseUrl,
    logLines,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      harness.close();
    },
  };
}
