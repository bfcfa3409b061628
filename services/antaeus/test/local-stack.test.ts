import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot, sleep, startProcess } from '@internal/test-kit';
import { tempDatabaseFile } from './support/harness';
import { pay } from './support/processes';

/** The root `npm start` and `npm run demo` entry points, run from the builds. */
describe('the local stack scripts', () => {
  test('local-stack.mjs starts payment and antaeus wired together, and Ctrl-C stops both', async () => {
    const [paymentPort, antaeusPort] = [await freePort(), await freePort()];
    const stack = await startProcess({
      command: process.execPath,
      args: [path.join(repoRoot(), 'scripts', 'local-stack.mjs')],
      env: {
        PAYMENT_PORT: String(paymentPort),
        ANTAEUS_PORT: String(antaeusPort),
        DATABASE_PATH: tempDatabaseFile(),
        LOG_LEVEL: 'warn',
      },
      readyUrl: `http://127.0.0.1:${antaeusPort}/readyz`,
    });
    while (!stack.output().includes('Local stack is up')) await sleep(20);
    // It says it runs without authentication, and why that is safe only on loopback.
    expect(stack.output()).toMatch(/PAYMENT_AUTH=disabled and\s+ANTAEUS_AUTH=disabled/);
    expect(stack.output()).toContain('listen on 127.0.0.1 only');
    // No setup: the original's unauthenticated pay call works, also over "localhost".
    const curlLike = await fetch(`http://localhost:${antaeusPort}/rest/v1/invoices/pay`, {
      method: 'POST',
    });
    expect(curlLike.status).toBe(200);
    expect(typeof (await curlLike.json())).toBe('boolean');
    // Neither service answers on another interface of this machine.
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (external !== undefined) {
      for (const port of [paymentPort, antaeusPort]) {
        await expect(fetch(`http://${external}:${port}/healthz`)).rejects.toThrow('fetch failed');
      }
    }
    expect(stack.output()).toContain(
      `curl -s -X POST http://localhost:${antaeusPort}/rest/v1/invoices/pay`,
    );
    expect(typeof (await pay(`http://127.0.0.1:${antaeusPort}`))).toBe('boolean');

    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toContain('stopped');
    for (const port of [paymentPort, antaeusPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow('fetch failed');
    }
  });

  test('demo.mjs prints the distribution before and after one pay call', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(repoRoot(), 'scripts', 'demo.mjs')],
      {
        env: { PATH: process.env.PATH, PAYMENT_SUCCESS_RATE: '1' },
      },
    );
    expect(stdout).toMatch(/PAYMENT_AUTH=disabled and\s+ANTAEUS_AUTH=disabled/);
    expect(stdout).toContain('before: PAID 2 / PENDING 8 of 10');
    expect(stdout).toContain('POST /rest/v1/invoices/pay -> 200 true');
    expect(stdout).toContain('after:  PAID 10 / PENDING 0 of 10');
    expect(stdout).toMatch(/attempted 8, paid 8, declined 0, failed 0, skipped 0/);
  });
});
