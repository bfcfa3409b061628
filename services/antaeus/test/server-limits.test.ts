import { slowHeaderClient } from '@internal/test-kit';
import { tempDatabaseFile } from './support/harness';
import { startAntaeus, type RunningService } from './support/processes';

/** HTTP_* from the environment reach the built service's listener (service-kit's serve()). */
describe('server limits of the built service', () => {
  let antaeus: RunningService;

  beforeAll(async () => {
    antaeus = await startAntaeus({
      DATABASE_PATH: tempDatabaseFile(),
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
    });
  });

  afterAll(() => antaeus.process.stop());

  test('clients that trickle their headers are cut at HTTP_HEADERS_TIMEOUT_MS, others served', async () => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => slowHeaderClient(antaeus.port)),
    );
    const health = await fetch(`${antaeus.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    for (const cut of await Promise.all(clients.map((c) => c.closed))) {
      expect(cut.received).toMatch(/^HTTP\/1\.1 408 /);
      // The deadline plus at most one check interval (250 ms here) and a loaded machine's slack.
      expect(cut.afterMs).toBeGreaterThanOrEqual(950);
      expect(cut.afterMs).toBeLessThan(2_500);
    }
  });
});
