import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Lifecycle, createLogger, createMetricsRegistry } from '@internal/service-kit';
import { createApp } from '../../src/app';
import { createBillingMetrics } from '../../src/billing/metrics';
import { createHarness, type Harness, type HarnessOptions } from './harness';

export interface AppServer extends Omit<Harness, 'close'> {
  lifecycle: Lifecycle;
  baseUrl: string;
  close(): Promise<void>;
}

/** The Koa app on a real loopback port, over a real database and payment client. */
export async function startAppServer(options: HarnessOptions): Promise<AppServer> {
  const harness = createHarness(options);
  const registry = createMetricsRegistry();
  createBillingMetrics(registry);
  const lifecycle = new Lifecycle();
  const app = createApp({
    db: harness.db,
    engine: harness.engine,
    logger: createLogger('antaeus-test', 'silent'),
    lifecycle,
    registry,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...harness,
    lifecycle,
    baseUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      harness.close();
    },
  };
}
