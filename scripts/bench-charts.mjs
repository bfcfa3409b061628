#!/usr/bin/env node
// Renders the figures of the last `npm run bench` as SVG charts for the README, from the
// bench-results.json files the benchmarks write, so that what the README shows is always the
// output of one run and nobody draws or edits a chart by hand. Vega-Lite describes each chart
// and Vega renders it to SVG in Node (renderer 'none': no browser, no canvas, no native addon).
//
//   node scripts/bench-charts.mjs [--root DIR] [--out DIR]
//
// --root: where services/payment/ and services/antaeus/ are (default: this repository)
// --out:  where the SVG files go (default: <root>/docs/images)
//
// Writes bench-servers.svg (req/s and p99 of bare node:http, minimal Koa and payment) and
// bench-billing.svg (invoices/s and peak RSS against the number of invoices billed). Each chart's
// subtitle carries the run's date, machine and load average, taken from the JSON.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

/** A results file that is missing, is not JSON, or lacks a field a chart needs. */
class BenchResultsError extends Error {}

function readResults(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new BenchResultsError(
      `${file}: cannot be read (${error.code ?? error.message}); npm run bench writes it`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BenchResultsError(`${file}: is not valid JSON (${error.message})`);
  }
}

/**
 * The value at `fieldPath` (e.g. ['results', 0, 'invoices']) of a results file, checked to be of
 * `type`; the error names the file and the field, so a changed benchmark output is found at once.
 */
function field(file, data, fieldPath, type) {
  const value = fieldPath.reduce((node, key) => node?.[key], data);
  const ok =
    type === 'array' ? Array.isArray(value) : typeof value === type && !Number.isNaN(value);
  if (!ok) {
    const name = fieldPath
      .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`))
      .join('');
    throw new BenchResultsError(
      `${file}: field "${name}" must be a ${type}, found ${JSON.stringify(value) ?? 'nothing'}`,
    );
  }
  return value;
}

/** "2026-12-01 06:18 UTC · 2 CPUs, Node v20.20.2 · load average 11.82 → 10.21" */
function runLine(file, data) {
  const date = new Date(field(file, data, ['date'], 'string'));
  if (Number.isNaN(date.getTime())) {
    throw new BenchResultsError(
      `${file}: field "date" is not a date: ${JSON.stringify(data.date)}`,
    );
  }
  const machine = (key, type) => field(file, data, ['machine', key], type);
  return (
    `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC · ` +
    `${machine('cpus', 'number')} CPUs, Node ${machine('node', 'string')} · ` +
    `load average ${machine('loadAverageBefore', 'number')} → ${machine('loadAverageAfter', 'number')}`
  );
}

/** 10000 → "10k", 1000000 → "1M": the run sizes as the README names them. */
function sizeLabel(invoices) {
  if (invoices >= 1_000_000 && invoices % 1_000_000 === 0) return `${invoices / 1_000_000}M`;
  if (invoices >= 1_000 && invoices % 1_000 === 0) return `${invoices / 1_000}k`;
  return String(invoices);
}

/** Bars with their values written above them, so the figures can be read, not only compared. */
function labelledBars({ title, x, y, yTitle, format, color, xOffset }) {
  const encoding = {
    x: { ...x, axis: { labelAngle: 0 } },
    y: { field: y, type: 'quantitative', title: yTitle },
    ...(color && { color }),
    ...(xOffset && { xOffset }),
  };
  return {
    title,
    width: 260,
    height: 220,
    layer: [
      { mark: 'bar', encoding },
      {
        mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 11 },
        encoding: { ...encoding, color: undefined, text: { field: y, format } },
      },
    ],
  };
}

const SERVERS = [
  ['bare', 'bare node:http'],
  ['koa', 'minimal Koa'],
  ['payment', 'payment'],
];

function serversChart(file, data) {
  // A run with BENCH_COMPARE_SERVER also measured another build of payment, shown beside it.
  const servers = data.compared
    ? [
        ...SERVERS,
        [['compared', 'measurement'], field(file, data, ['compared', 'label'], 'string')],
      ]
    : SERVERS;
  const rows = servers.map(([key, server]) => ({
    server,
    requestsPerSecond: field(file, data, [key, 'requestsPerSecond'].flat(), 'number'),
    p99Ms: field(file, data, [key, 'p99Ms'].flat(), 'number'),
  }));
  const connections = field(file, data, ['load', 'connections'], 'number');
  const x = {
    field: 'server',
    type: 'nominal',
    sort: servers.map(([, server]) => server),
    title: null,
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `POST /v1/charges, ${connections} connections: throughput and p99 latency`,
      subtitle: runLine(file, data),
    },
    data: { values: rows },
    hconcat: [
      labelledBars({
        title: 'req/s',
        x,
        y: 'requestsPerSecond',
        yTitle: 'requests/s',
        format: ',',
      }),
      labelledBars({ title: 'p99 latency', x, y: 'p99Ms', yTitle: 'ms', format: ',' }),
    ],
  };
}

function billingChart(file, data) {
  const results = field(file, data, ['results'], 'array');
  // The runs at a 100% approval rate are the ones by size; the 50% run is a side comparison.
  const bySize = results
    .map((_, i) => ({
      successRate: field(file, data, ['results', i, 'successRate'], 'number'),
      invoices: field(file, data, ['results', i, 'invoices'], 'number'),
      invoicesPerSecond: field(file, data, ['results', i, 'invoicesPerSecond'], 'number'),
      antaeus: field(file, data, ['results', i, 'antaeusPeakRssMb'], 'number'),
      payment: field(file, data, ['results', i, 'paymentPeakRssMb'], 'number'),
    }))
    .filter((row) => row.successRate === 1)
    .sort((a, b) => a.invoices - b.invoices)
    .map((row) => ({ ...row, size: sizeLabel(row.invoices) }));
  if (bySize.length === 0) {
    throw new BenchResultsError(`${file}: field "results" has no run at successRate 1`);
  }
  const alone = field(file, data, ['paymentAlone', 'chargesPerSecond'], 'number');
  const x = { field: 'size', type: 'ordinal', sort: bySize.map((r) => r.size), title: 'invoices' };
  const throughput = labelledBars({
    title: 'invoices/s (first run, processes just started)',
    x,
    y: 'invoicesPerSecond',
    yTitle: 'invoices/s',
    format: ',',
  });
  // Payment answering alone is the ceiling the stack is measured against.
  throughput.layer.push(
    {
      data: { values: [{ alone }] },
      mark: { type: 'rule', strokeDash: [4, 3] },
      encoding: { y: { field: 'alone', type: 'quantitative' } },
    },
    {
      data: { values: [{ alone, label: `payment alone: ${alone.toLocaleString('en-US')}/s` }] },
      mark: { type: 'text', align: 'left', baseline: 'bottom', x: 2, dy: -2, fontSize: 10 },
      encoding: { y: { field: 'alone', type: 'quantitative' }, text: { field: 'label' } },
    },
  );
  const rss = bySize.flatMap((row) => [
    { size: row.size, process: 'Antaeus', peakRssMb: row.antaeus },
    { size: row.size, process: 'payment', peakRssMb: row.payment },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Billing runs against the payment service, concurrency ${field(file, data, ['concurrency'], 'number')}`,
      subtitle: runLine(file, data),
    },
    hconcat: [
      { data: { values: bySize }, ...throughput },
      {
        data: { values: rss },
        ...labelledBars({
          title: 'peak RSS',
          x,
          y: 'peakRssMb',
          yTitle: 'MB',
          format: ',',
          color: { field: 'process', type: 'nominal', title: null, legend: { orient: 'top' } },
          xOffset: { field: 'process' },
        }),
      },
    ],
  };
}

async function renderSvg(spec) {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function main() {
  const { values } = parseArgs({
    options: { root: { type: 'string' }, out: { type: 'string' } },
  });
  const root = path.resolve(values.root ?? path.join(import.meta.dirname, '..'));
  const out = path.resolve(values.out ?? path.join(root, 'docs', 'images'));
  const paymentFile = path.join(root, 'services', 'payment', 'bench-results.json');
  const antaeusFile = path.join(root, 'services', 'antaeus', 'bench-results.json');
  // Every file is read and checked before anything is written: no half-updated set of charts.
  const charts = {
    'bench-servers.svg': serversChart(paymentFile, readResults(paymentFile)),
    'bench-billing.svg': billingChart(antaeusFile, readResults(antaeusFile)),
  };
  fs.mkdirSync(out, { recursive: true });
  for (const [name, spec] of Object.entries(charts)) {
    const file = path.join(out, name);
    fs.writeFileSync(file, `${await renderSvg(spec)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
  }
}

main().catch((error) => {
  console.error(error instanceof BenchResultsError ? `bench-charts: ${error.message}` : error);
  process.exitCode = 1;
});
