import { authUnlessTokens, startBuiltService, type ManagedProcess } from '@internal/test-kit';

/** Both services answer 200 here only when they can serve, and 503 while draining. */
export const READY_PATH = '/readyz';

export interface ServiceProcess {
  process: ManagedProcess;
  port: number;
  url: string;
}

async function startService(
  name: 'payment' | 'antaeus',
  env: Record<string, string>,
  port?: number,
): Promise<ServiceProcess> {
  const service = await startBuiltService(
    name,
    { ...authUnlessTokens(name, env), ...env },
    {
      port,
      readyTimeoutMs: 60_000,
    },
  );
  return { process: service.process, port: service.port, url: service.baseUrl };
}

/** A payment process from its build; without REDIS_URL it keeps decisions in memory. */
export function startPayment(env: Record<string, string>, port?: number) {
  // A short drain still covers several readiness probes of the test load balancer.
  return startService(
    'payment',
    { DRAIN_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '5000', ...env },
    port,
  );
}

/** An Antaeus process from its build; `env` must name DATABASE_PATH and the provider. */
export function startAntaeus(env: Record<string, string>, port?: number) {
  return startService('antaeus', { DRAIN_DELAY_MS: '0', ...env }, port);
}
