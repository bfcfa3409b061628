import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';

// scripts/bench-charts.mjs turns the bench-results.json files into the README's SVG charts. It
// runs here on small fixtures in the shape the benchmarks write, as npm run bench runs it.

const script = path.join(repoRoot(), 'scripts', 'bench-charts.mjs');

const server = (requestsPerSecond: number, p99Ms: number) => ({
  requestsPerSecond,
  p50Ms: 1,
  p99Ms,
  errors: 0,
  peakRssMb: 80,
  cpuMicrosPerRequest: 20,
});

const machine = { cpus: 2, node: 'v20.20.2', loadAverageBefore: 3.25, loadAverageAfter: 4.5 };

function paymentResults(): Record<string, unknown> {
  return {
    date: '2026-11-30T10:15:00.000Z',
    machine,
    load: { endpoint: 'POST /v1/charges', connections: 64 },
    bare: server(31234, 7),
    koa: server(20987, 13),
    payment: server(11876, 23),
  };
}

const billingRun = (invoices: number, successRate: number, invoicesPerSecond: number) => ({
  invoices,
  successRate,
  invoicesPerSecond,
  antaeusPeakRssMb: 103 + invoices / 10_000,
  paymentPeakRssMb: 80 + invoices / 20_000,
});

function antaeusResults(): Record<string, unknown> {
  return {
    date: '2026-11-30T10:14:00.000Z',
    machine: { ...machine, loadAverageBefore: 2.75 },
    concurrency: 16,
    paymentAlone: { chargesPerSecond: 4321 },
    // Out of order, and with the 50% approval run that is not part of the by-size chart.
    results: [
      billingRun(100_000, 1, 4012),
      billingRun(10_000, 1, 1111),
      billingRun(1_000_000, 1, 3555),
      billingRun(10_000, 0.5, 9876),
    ],
  };
}

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-charts-'));
  write('payment', paymentResults());
  write('antaeus', antaeusResults());
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function write(service: string, content: unknown): string {
  const file = path.join(root, 'services', service, 'bench-results.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const out = () => path.join(root, 'images');
const charts = () =>
  spawnSync(process.execPath, [script, '--root', root, '--out', out()], { encoding: 'utf8' });

/** The text an SVG shows, in order. */
function texts(file: string): string[] {
  const svg = fs.readFileSync(path.join(out(), file), 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
}

describe('bench-charts.mjs', () => {
  test('draws req/s and p99 of the three servers, with the run it comes from', () => {
    const result = charts();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const shown = texts('bench-servers.svg');
    for (const label of ['bare node:http', 'minimal Koa', 'payment', 'req/s', 'p99 latency']) {
      expect(shown).toContain(label);
    }
    for (const value of ['31,234', '20,987', '11,876', '7', '13', '23']) {
      expect(shown).toContain(value);
    }
    expect(shown).toContain(
      '2026-11-30 10:15 UTC · 2 CPUs, Node v20.20.2 · load average 3.25 → 4.5',
    );
  });

  test('draws invoices/s and peak RSS by run size, leaving out the 50% approval run', () => {
    expect(charts().status).toBe(0);
    const shown = texts('bench-billing.svg');
    const sizes = shown.filter((text) => /^\d+[kM]$/.test(text));
    // The size axis of both panels, smallest first.
    expect(sizes).toEqual(['10k', '100k', '1M', '10k', '100k', '1M']);
    for (const value of ['1,111', '4,012', '3,555', '104', '113', '203', '80.5', '85', '130']) {
      expect(shown).toContain(value);
    }
    expect(shown).not.toContain('9,876');
    expect(shown).toContain('payment alone: 4,321/s');
    expect(shown).toContain(
      '2026-11-30 10:14 UTC · 2 CPUs, Node v20.20.2 · load average 2.75 → 4.5',
    );
  });

  test.each([
    [
      'a missing field',
      'payment',
      (data: Record<string, unknown>) => delete (data.koa as Record<string, unknown>).p99Ms,
      /field "koa\.p99Ms" must be a number, found nothing/,
    ],
    [
      'a field of the wrong type',
      'antaeus',
      (data: Record<string, unknown>) =>
        ((data.results as Record<string, unknown>[])[2]!.invoicesPerSecond = '3555'),
      /field "results\[2\]\.invoicesPerSecond" must be a number, found "3555"/,
    ],
    [
      'no load average',
      'antaeus',
      (data: Record<string, unknown>) => (data.machine = { cpus: 2, node: 'v20.20.2' }),
      /field "machine\.loadAverageBefore" must be a number/,
    ],
  ])('names the file and the field on %s, and writes no chart', (_, service, edit, message) => {
    const data = service === 'payment' ? paymentResults() : antaeusResults();
    edit(data);
    const file = write(service, data);
    const result = charts();
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(new RegExp(`^bench-charts: ${file}: ${message.source}`));
    expect(fs.existsSync(out())).toBe(false);
  });

  test('names the file that is not JSON', () => {
    const file = write('antaeus', '{"date": "2026-11-30T10:14:00.000Z",');
    const result = charts();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`bench-charts: ${file}: is not valid JSON`);
  });
});
