import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAntaeus, startPayment, type ServiceProcess } from '../lib/services';
import { runSchemathesis, type FuzzRun } from './schemathesis';

jest.setTimeout(180_000);

// Fuzzing runs with tokens configured on both services: Schemathesis then sends the token on
// every request, so the generated data reaches the handlers, and its `ignored_auth` check also
// proves that the same requests without the token are refused with 401.
const TOKEN = 'fuzz-token-for-schemathesis-only';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Operations Schemathesis must test: all of the spec but the document it was loaded from. */
async function operationCount(specUrl: string): Promise<number> {
  const spec = (await (await fetch(specUrl)).json()) as { paths: Record<string, object> };
  return Object.entries(spec.paths)
    .filter(([route]) => route !== new URL(specUrl).pathname)
    .reduce(
      (sum, [, item]) => sum + Object.keys(item).filter((key) => HTTP_METHODS.has(key)).length,
      0,
    );
}

function expectClean(run: FuzzRun, operations: number): void {
  if (run.exitCode !== 0 || run.operationsTested !== operations) {
    throw new Error(
      `Schemathesis exit ${run.exitCode}, ${run.operationsTested}/${operations} operations tested:\n${run.output}`,
    );
  }
}

describe('Schemathesis against the payment service', () => {
  let payment: ServiceProcess;
  beforeAll(async () => {
    payment = await startPayment({ PAYMENT_API_TOKENS: TOKEN, LOG_LEVEL: 'warn' });
  });
  afterAll(() => payment.process.stop());

  it('finds no failure of any check on any operation', async () => {
    const specUrl = `${payment.url}/openapi.json`;
    const run = await runSchemathesis({
      specUrl,
      maxExamples: 50,
      headers: AUTH,
      configFile: 'payment.schemathesis.toml',
    });
    expectClean(run, await operationCount(specUrl));
    expect(payment.process.output()).not.toMatch(/"level":"(error|fatal)"/);
  });
});

describe('Schemathesis against Antaeus (charging through a real payment service)', () => {
  let payment: ServiceProcess;
  let antaeus: ServiceProcess;
  let workDir: string;
  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-antaeus-'));
    payment = await startPayment({ PAYMENT_API_TOKENS: TOKEN, LOG_LEVEL: 'warn' });
    antaeus = await startAntaeus({
      DATABASE_PATH: path.join(workDir, 'antaeus.db'),
      PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
      PAYMENT_API_TOKEN: TOKEN,
      ANTAEUS_API_TOKENS: TOKEN,
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await Promise.all([antaeus?.process.stop(), payment?.process.stop()]);
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('finds no failure of any check on any operation', async () => {
    const specUrl = `${antaeus.url}/openapi.json`;
    const run = await runSchemathesis({ specUrl, maxExamples: 30, headers: AUTH });
    expectClean(run, await operationCount(specUrl));
    expect(antaeus.process.output()).not.toMatch(/"level":"(error|fatal)"/);
  });
});
