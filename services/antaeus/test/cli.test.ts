import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { builtScript, freePort } from '@internal/test-kit';
import { pay, startAntaeus, type RunningService } from './support/processes';
import { createHarness } from './support/harness';
import { ScriptedProvider } from './support/scripted-provider';

const run = promisify(execFile);

/** Runs the compiled CLI; resolves with its exit code and output instead of throwing. */
async function bill(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [builtScript('antaeus', 'cli/bill.js'), ...args],
      {
        env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the billing CLI', () => {
  let provider: ScriptedProvider;
  let approve = true;
  const services: RunningService[] = [];

  beforeAll(async () => {
    provider = await ScriptedProvider.start(() => ({ kind: 'decide', approve }));
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.process.stop()));
    await provider.stop();
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    const none = await bill([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give exactly one of --url or --database');
    expect(none.stderr).toContain('Usage:');
    expect((await bill(['--url', 'ftp://x'])).stderr).toContain(
      '--url must be an http:// or https:// URL',
    );
    expect((await bill(['--url', 'http://x', '--database'])).code).toBe(2);
    expect((await bill(['--bogus'])).stderr).toMatch(/Unknown option '--bogus'/);
    expect((await bill(['--url', 'http://x', '--poll-ms', 'soon'])).stderr).toContain(
      '--poll-ms must be an integer',
    );
    const help = await bill(['--help']);
    expect([help.code, help.stdout.startsWith('Usage:')]).toEqual([0, true]);
  });

  test('--database bills directly against the file: exit 0 when everything got paid', async () => {
    approve = true;
    const harness = createHarness({ endpoint: provider.url });
    harness.close();
    const result = await bill(['--database'], {
      DATABASE_PATH: harness.dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      trigger: 'cli',
      status: 'completed',
      pending: 8,
      paid: 8,
      allPaid: true,
    });
  });

  test('--database exits 1 when invoices stay unpaid, and 2 on a bad configuration', async () => {
    approve = false;
    const harness = createHarness({ endpoint: provider.url });
    harness.close();
    const env = { DATABASE_PATH: harness.dbFile, PAYMENT_PROVIDER_ENDPOINT: provider.url };
    const declined = await bill(['--database'], env);
    expect(declined.code).toBe(1);
    expect(JSON.parse(declined.stdout)).toMatchObject({ declined: 8, allPaid: false });
    const misconfigured = await bill(['--database'], { ...env, BILLING_CONCURRENCY: '0' });
    expect(misconfigured.code).toBe(2);
    expect(misconfigured.stderr).toContain('BILLING_CONCURRENCY');
  });

  test('--url starts a run on a running Antaeus and waits for its counts', async () => {
    approve = true;
    const harness = createHarness({ endpoint: provider.url });
    harness.close();
    const antaeus = await startAntaeus({
      DATABASE_PATH: harness.dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
    });
    services.push(antaeus);
    const result = await bill(['--url', antaeus.baseUrl, '--poll-ms', '20']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      trigger: 'api',
      status: 'completed',
      paid: 8,
    });
    expect(await pay(antaeus.baseUrl)).toBe(true);
  });

  test('--url sends the first token of ANTAEUS_API_TOKENS to an Antaeus that requires one', async () => {
    approve = true;
    const token = 'cli-test-token-0123456789abcdef';
    const harness = createHarness({ endpoint: provider.url });
    harness.close();
    const antaeus = await startAntaeus({
      DATABASE_PATH: harness.dbFile,
      PAYMENT_PROVIDER_ENDPOINT: provider.url,
      ANTAEUS_API_TOKENS: token,
    });
    services.push(antaeus);
    const refused = await bill(['--url', antaeus.baseUrl]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/answered HTTP 401/);
    expect(refused.stderr).not.toContain(token);
    const result = await bill(['--url', antaeus.baseUrl, '--poll-ms', '20'], {
      ANTAEUS_API_TOKENS: `${token},an-older-token-still-accepted`,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'completed', paid: 8 });
  });

  test('--url exits 3 when Antaeus cannot be reached', async () => {
    const result = await bill(['--url', `http://127.0.0.1:${await freePort()}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/billing run failed: fetch failed \(.*ECONNREFUSED/);
  });
});
