import path from 'node:path';
import { shortBenchRun } from '@internal/test-kit';

// A short run of the benchmark as `npm run bench` starts it (its own compile of bench/, then the
// built payment and Antaeus servers), so that moving or changing it cannot break the root
// `npm run bench` unseen. Its figures mean nothing at this size; only that every invoice is
// billed, cold and then warm.

test('npm run bench bills every invoice of a small run twice and writes its results', () => {
  const results = shortBenchRun(path.join(__dirname, '..'), {
    BENCH_SIZES: '300',
    BENCH_HALF_RATE_SIZE: '0',
    BENCH_PAYMENT_ALONE_CHARGES: '300',
  }) as {
    machine: { loadAverageBefore: unknown };
    paymentAlone: { charges: number };
    results: unknown[];
  };
  expect(results.paymentAlone.charges).toBe(300);
  expect(results.results).toEqual([
    expect.objectContaining({
      invoices: 300,
      paid: 300,
      warm: expect.objectContaining({ paid: 300 }),
    }),
  ]);
  expect(results.machine.loadAverageBefore).toEqual(expect.any(Number));
}, 120_000);
