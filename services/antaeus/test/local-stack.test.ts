import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot, sleep, startProcess, type ManagedProcess } from '@internal/test-kit';
import { tempDatabaseFile } from './support/harness';
import { getJson, pay } from './support/processes';

const LOCAL_STACK = path.join(repoRoot(), 'scripts', 'local-stack.mjs');

/** local-stack.mjs as `npm start` runs it, on the given ports and database. */
const localStack = (
  paymentPort: number,
  antaeusPort: number,
  database: string,
  env: Record<string, string> = {},
) =>
  startProcess({
    command: process.execPath,
    args: [LOCAL_STACK],
    env: {
      PAYMENT_PORT: String(paymentPort),
      ANTAEUS_PORT: String(antaeusPort),
      DATABASE_PATH: database,
      LOG_LEVEL: 'warn',
      ...env,
    },
  });

/** Waits for the stack's "up" message; throws with its output if it exits first. */
async function untilUp(stack: ManagedProcess): Promise<void> {
  while (!stack.output().includes('Local stack is up')) {
    if (stack.child.exitCode !== null)
      throw new Error(`local-stack.mjs exited ${stack.child.exitCode}:\n${stack.output()}`);
    await sleep(20);
  }
}

/** The commands README.md's Quick start says `npm start` prints, for the given ports. */
function readmeTryCommands(paymentPort: number, antaeusPort: number): string {
  const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const block = /these commands to try the pay flow:\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md no longer shows what npm start prints');
  return block
    .replaceAll('localhost:8000', `localhost:${antaeusPort}`)
    .replaceAll('localhost:9000', `localhost:${paymentPort}`);
}

/** The root `npm start` and `npm run demo` entry points, run from the builds. */
describe('the local stack scripts', () => {
  test('local-stack.mjs starts payment and antaeus wired together, and Ctrl-C stops both', async () => {
    const [paymentPort, antaeusPort] = [await freePort(), await freePort()];
    const stack = await localStack(paymentPort, antaeusPort, tempDatabaseFile());
    await untilUp(stack);
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
    // What README.md's Quick start says it prints.
    expect(stack.output()).toContain(readmeTryCommands(paymentPort, antaeusPort));
    expect(typeof (await pay(`http://127.0.0.1:${antaeusPort}`))).toBe('boolean');

    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toContain('stopped');
    for (const port of [paymentPort, antaeusPort]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow('fetch failed');
    }
  });

  test('a second local-stack.mjs refuses, exit 2, and leaves the running stack and its data alone', async () => {
    const [paymentPort, antaeusPort] = [await freePort(), await freePort()];
    const database = tempDatabaseFile();
    const first = await localStack(paymentPort, antaeusPort, database, {
      PAYMENT_SUCCESS_RATE: '1',
    });
    await untilUp(first);
    const antaeus = `http://127.0.0.1:${antaeusPort}`;
    // Every invoice paid: a reseed would bring back the 8 PENDING of the seed.
    expect(await pay(antaeus)).toBe(true);
    const invoices = await getJson<unknown[]>(`${antaeus}/rest/v1/invoices`);
    try {
      // `npm start` again, as is: the database is held.
      const again = await localStack(paymentPort, antaeusPort, database);
      expect(await again.exited).toBe(2);
      expect(again.output()).toContain(
        `npm start refused: another local stack (pid ${first.child.pid}) is using ${database}`,
      );
      // Another database, the same ports: the ports are held (payment's is checked first).
      const otherDatabase = tempDatabaseFile();
      const elsewhere = await localStack(paymentPort, antaeusPort, otherDatabase);
      expect(await elsewhere.exited).toBe(2);
      expect(elsewhere.output()).toContain(
        `npm start refused: port ${paymentPort} (payment) is taken`,
      );
      expect(fs.readdirSync(path.dirname(otherDatabase))).toEqual([]);
      for (const refused of [again, elsewhere]) {
        expect(refused.output()).toContain('Nothing was started or changed.');
        expect(refused.output()).not.toContain('Local stack is up');
      }

      // The first stack runs on, its data as it was.
      expect(await getJson<unknown[]>(`${antaeus}/rest/v1/invoices`)).toEqual(invoices);
      expect(first.child.exitCode).toBeNull();
    } finally {
      first.child.kill('SIGINT');
    }
    expect(await first.exited).toBe(0);
    // Its lock goes with it: the next start may use the database.
    expect(fs.existsSync(`${database}.lock`)).toBe(false);
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
