import BetterSqlite3 from 'better-sqlite3';
import { builtScript, sleep, startProcess } from '@internal/test-kit';
import { tempDatabaseFile } from './support/harness';
import { getJson, paidCount, pay, startAntaeus, type RunningService } from './support/processes';
import { ScriptedProvider } from './support/scripted-provider';

describe('the Antaeus process', () => {
  let provider: ScriptedProvider;
  const started: RunningService[] = [];

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({
      kind: 'decide',
      approve: true,
      delayMs: 100,
    }));
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.process.stop()));
    await provider.stop();
  });

  async function antaeus(env: Record<string, string>) {
    const service = await startAntaeus({ PAYMENT_PROVIDER_ENDPOINT: provider.url, ...env });
    started.push(service);
    return service;
  }

  test('refuses to start on a bad configuration, naming the variable', async () => {
    const proc = await startProcess({
      command: process.execPath,
      args: [builtScript('antaeus')],
      env: { PAYMENT_PROVIDER_ENDPOINT: 'not a url', BILLING_CONCURRENCY: 'many' },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(
      'PAYMENT_PROVIDER_ENDPOINT must be an http:// or https:// URL (got "not a url")',
    );
    expect(proc.output()).toContain('BILLING_CONCURRENCY');
  });

  test('logs the payment provider URL without its userinfo (user:password@)', async () => {
    const endpoint = new URL(provider.url);
    endpoint.username = 'billing-user';
    endpoint.password = 'hunter2-provider-password';
    const service = await antaeus({
      DATABASE_PATH: tempDatabaseFile(),
      PAYMENT_PROVIDER_ENDPOINT: endpoint.toString(),
      LOG_LEVEL: 'info',
    });
    await service.process.stop();
    const output = service.process.output();
    const ready = output.split('\n').find((line) => line.includes('"antaeus ready"'));
    const stripped = new URL(provider.url).toString();
    expect(JSON.parse(ready ?? '{}')).toMatchObject({ paymentProviderEndpoint: stripped });
    expect(output).not.toContain('hunter2-provider-password');
    expect(output).not.toContain('billing-user');
  });

  test('data survives a restart; the reset option reproduces the original wipe-and-reseed', async () => {
    const DATABASE_PATH = tempDatabaseFile();
    const first = await antaeus({ DATABASE_PATH });
    expect(await pay(first.baseUrl)).toBe(true);
    expect(await first.process.stop()).toBe(0);

    const second = await antaeus({ DATABASE_PATH });
    expect(await paidCount(second.baseUrl)).toBe(10);
    expect(await second.process.stop()).toBe(0);

    const reset = await antaeus({ DATABASE_PATH, DATABASE_RESET_ON_START: 'true' });
    expect(await paidCount(reset.baseUrl)).toBe(2);
    expect(await getJson<unknown[]>(`${reset.baseUrl}/rest/v1/billing-runs`)).toEqual([]);
  });

  test('SIGTERM during a run: charges in flight finish, the rest stay PENDING, the process exits 0', async () => {
    const DATABASE_PATH = tempDatabaseFile();
    const service = await antaeus({
      DATABASE_PATH,
      SEED_CUSTOMERS: '10',
      SEED_INVOICES_PER_CUSTOMER: '20',
      BILLING_CONCURRENCY: '4',
    });
    const callsBefore = provider.calls.length;
    const paying = pay(service.baseUrl);
    while (provider.calls.length < callsBefore + 8) await sleep(10);
    service.process.child.kill('SIGTERM');
    // The pay call still gets its answer: false, since the run was cut short.
    expect(await paying).toBe(false);
    expect(await service.process.exited).toBe(0);

    const db = new BetterSqlite3(DATABASE_PATH, { readonly: true });
    try {
      const inFlight = db
        .prepare(`SELECT COUNT(*) FROM charge_attempts WHERE outcome = 'in_flight'`)
        .pluck()
        .get();
      expect(inFlight).toBe(0);
      const run = db
        .prepare('SELECT status, pending, attempted, paid, skipped FROM billing_runs')
        .get() as Record<string, number | string>;
      expect(run.status).toBe('interrupted');
      expect(run.paid).toBe(run.attempted);
      expect(Number(run.attempted) + Number(run.skipped)).toBe(190);
      expect(run.skipped).toBeGreaterThan(0);
      const paid = db.prepare(`SELECT COUNT(*) FROM invoices WHERE status = 'PAID'`).pluck().get();
      expect(paid).toBe(10 + Number(run.paid));
    } finally {
      db.close();
    }
  });
});
