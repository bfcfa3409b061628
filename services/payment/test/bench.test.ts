import { shortBenchRun } from '@internal/test-kit';
import { SERVICE_DIR } from './support';

// A short run of the benchmark as `npm run bench` starts it (its own compile of bench/, then the
// three servers), so that moving or changing it cannot break the root `npm run bench` unseen.
// Its figures mean nothing at this length; only that it measures all three without an error.

test('npm run bench measures the three servers and writes its results', () => {
  const results = shortBenchRun(SERVICE_DIR, {
    BENCH_DURATION_SECONDS: '1',
    BENCH_CPU_REQUESTS: '500',
  }) as Record<string, Record<string, unknown>>;
  for (const server of ['bare', 'koa', 'payment']) {
    expect(results[server]).toMatchObject({ requestsPerSecond: expect.any(Number), errors: 0 });
    expect(results[server]!.requestsPerSecond).toBeGreaterThan(0);
  }
  expect(results.machine!.loadAverageBefore).toEqual(expect.any(Number));
}, 120_000);
