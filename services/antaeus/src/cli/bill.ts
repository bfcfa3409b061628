#!/usr/bin/env node
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger } from '@internal/service-kit';
import { runJson } from '../billing/model';
import { createBilling } from '../billing/setup';
import { loadConfig } from '../config';
import { openDatabase } from '../db/database';

const USAGE = `Usage:
  antaeus-bill --url <antaeus-base-url> [--poll-ms <ms>]
      Starts a billing run on a running Antaeus (POST /rest/v1/billing-runs?join=true) and waits
      for it; when a run is already active it waits for that one instead. Sends the first token
      of ANTAEUS_API_TOKENS (the variable the server reads) as its bearer token, if set.
  antaeus-bill --database
      Runs the billing run in this process, directly against DATABASE_PATH, configured by the
      same environment variables as the server (PAYMENT_PROVIDER_ENDPOINT, BILLING_CONCURRENCY, ...);
      when a run is already active on the database it waits for that one instead.

Prints the finished run as JSON. Exit status:
  0  every invoice pending at the start got paid (or none was pending)
  1  the run completed, but some invoices are still unpaid (declined, failed or held by another run)
  2  usage or configuration error
  3  the run could not be carried out or was interrupted`;

type RunView = ReturnType<typeof runJson>;

class UsageError extends Error {}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        database: { type: 'boolean', default: false },
        'poll-ms': { type: 'string', default: '1000' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { url, database, help } = parsed.values;
  if (help) return { mode: 'help' as const };
  if ((url === undefined) === !database)
    throw new UsageError('give exactly one of --url or --database');
  const pollMs = Number(parsed.values['poll-ms']);
  if (!Number.isInteger(pollMs) || pollMs < 10 || pollMs > 60_000) {
    throw new UsageError(
      `--poll-ms must be an integer from 10 to 60000, got ${parsed.values['poll-ms']}`,
    );
  }
  if (url !== undefined) {
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new UsageError(`--url must be an http:// or https:// URL, got ${url}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new UsageError(`--url must be an http:// or https:// URL, got ${url}`);
    }
    return { mode: 'http' as const, base, pollMs };
  }
  return { mode: 'database' as const };
}

/** The bearer token this client sends: the first of ANTAEUS_API_TOKENS, the server's list. */
function clientToken(): string | undefined {
  return process.env.ANTAEUS_API_TOKENS?.split(',')
    .map((token) => token.trim())
    .find(Boolean);
}

async function requestJson(method: string, url: URL): Promise<{ status: number; body: unknown }> {
  const token = clientToken();
  const res = await fetch(url, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(
      `${method} ${url} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
}

async function billOverHttp(base: URL, pollMs: number): Promise<RunView> {
  // Joining: a run already active (someone's pay call, a retried job) is the one to wait for.
  const started = await requestJson('POST', new URL('/rest/v1/billing-runs?join=true', base));
  if (started.status !== 202 && started.status !== 200) {
    throw new Error(
      `starting a billing run answered HTTP ${started.status}: ${JSON.stringify(started.body)}`,
    );
  }
  const runUrl = new URL(`/rest/v1/billing-runs/${(started.body as RunView).id}`, base);
  for (;;) {
    const polled = await requestJson('GET', runUrl);
    if (polled.status !== 200) throw new Error(`GET ${runUrl} answered HTTP ${polled.status}`);
    const run = polled.body as RunView;
    if (run.status !== 'running') return run;
    await sleep(pollMs);
  }
}

async function billDirectly(): Promise<RunView> {
  const config = loadConfig();
  const logger = createLogger('antaeus-bill', config.logLevel);
  const db = openDatabase(config.databasePath, { busyTimeoutMs: config.databaseBusyTimeoutMs });
  const { client, engine } = createBilling(config, db, logger);
  // A stopped CronJob pod finishes the charges in flight and leaves the rest for the next run.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => void engine.shutdown());
  try {
    return runJson(await engine.start('cli', { join: true }).finished);
  } finally {
    client.close();
    db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parse(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.mode === 'help') {
    console.log(USAGE);
    return 0;
  }
  let run: RunView;
  try {
    run =
      options.mode === 'http'
        ? await billOverHttp(options.base, options.pollMs)
        : await billDirectly();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    const cause = (err as Error & { cause?: Error }).cause;
    console.error(
      `billing run failed: ${(err as Error).message}${cause ? ` (${cause.message})` : ''}`,
    );
    return 3;
  }
  console.log(JSON.stringify(run));
  if (run.status !== 'completed') return 3;
  return run.allPaid ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(err);
    process.exitCode = 3;
  },
);
