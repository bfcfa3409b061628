import crypto, { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, startProcess } from '@internal/test-kit';
import { bearerAuth } from '@internal/service-kit';
import { startAntaeus, startPayment, type ServiceProcess } from '../lib/services';

jest.setTimeout(60_000);

const newToken = () => `tok_${randomBytes(24).toString('hex')}`;
const validTokens = [newToken(), newToken()];
const wrongToken = newToken();
// Card numbers that pass the Luhn check (the networks' published test numbers).
const cardNumbers = ['4111111111111111', '5555555555554444'];

const charge = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ customer_id: 7, value: 42.5, currency: 'EUR', invoice_id: 3, ...extra });

async function post(url: string, body: string, authorization?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return res.status;
}

describe('payment service with PAYMENT_API_TOKENS configured', () => {
  let payment: ServiceProcess;
  let antaeus: ServiceProcess;
  let misconfiguredAntaeus: ServiceProcess;
  let workDir: string;

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'credentials-'));
    // Debug level: the most a log could ever say.
    payment = await startPayment({ PAYMENT_API_TOKENS: validTokens.join(','), LOG_LEVEL: 'debug' });
    const antaeusEnv = (name: string, token: string) => ({
      DATABASE_PATH: path.join(workDir, `${name}.db`),
      PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
      PAYMENT_API_TOKEN: token,
      LOG_LEVEL: 'debug',
    });
    antaeus = await startAntaeus(antaeusEnv('antaeus', validTokens[1]!));
    misconfiguredAntaeus = await startAntaeus(antaeusEnv('misconfigured', wrongToken));
  });
  afterAll(async () => {
    await Promise.all([antaeus, misconfiguredAntaeus, payment].map((s) => s?.process.stop()));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it.each([
    ['no Authorization header', undefined],
    ['an unknown token', `Bearer ${wrongToken}`],
    ['a valid token cut short', `Bearer ${validTokens[0]!.slice(0, -1)}`],
    ['a valid token with a suffix', `Bearer ${validTokens[0]}x`],
    ['a valid token in upper case', `Bearer ${validTokens[0]!.toUpperCase()}`],
    ['a valid token under the Basic scheme', `Basic ${validTokens[0]}`],
    ['a card number as the token', `Bearer ${cardNumbers[0]}`],
  ])('refuses a charge with %s (401)', async (_case, authorization) => {
    for (const route of ['/v1/charges', '/']) {
      expect(await post(`${payment.url}${route}`, charge(), authorization)).toBe(401);
    }
  });

  it('refuses to read the ledger without a valid token (401)', async () => {
    const res = await fetch(`${payment.url}/v1/charges?invoice_id=3`);
    expect(res.status).toBe(401);
  });

  it('accepts every configured token', async () => {
    for (const token of validTokens) {
      expect(await post(`${payment.url}/v1/charges`, charge(), `Bearer ${token}`)).toBe(200);
    }
  });

  it('lets Antaeus with the right token pay, and the one with a wrong token pay nothing', async () => {
    const paid = await fetch(`${antaeus.url}/rest/v1/invoices/pay`, { method: 'POST' });
    expect(paid.status).toBe(200);
    const refused = await fetch(`${misconfiguredAntaeus.url}/rest/v1/invoices/pay`, {
      method: 'POST',
    });
    expect(refused.status).toBe(200);
    expect(await refused.json()).toBe(false);
    const invoices = (await (
      await fetch(`${misconfiguredAntaeus.url}/rest/v1/invoices`)
    ).json()) as Array<{ status: string }>;
    // Only the two invoices the seed created PAID.
    expect(invoices.filter((i) => i.status === 'PAID')).toHaveLength(2);
  });

  it('writes no token and no card number to any log, at debug level', async () => {
    // Card numbers as an unknown field and where a number belongs: what a careless client sends.
    for (const card of cardNumbers) {
      await post(
        `${payment.url}/v1/charges`,
        charge({ card_number: card }),
        `Bearer ${validTokens[0]}`,
      );
      await post(
        `${payment.url}/v1/charges`,
        charge({ customer_id: card }),
        `Bearer ${validTokens[0]}`,
      );
      await post(`${payment.url}/v1/charges`, charge({ card_number: card }), `Bearer ${card}`);
    }
    const logs = [payment, antaeus, misconfiguredAntaeus].map((s) => s.process.output()).join('\n');
    // The logs really cover the charges: each decision is logged with its id.
    expect(logs.match(/"chargeId":"ch_[0-9a-f]{32}"/g)?.length ?? 0).toBeGreaterThan(8);
    const leaks = [...validTokens, wrongToken, ...cardNumbers].filter((secret) =>
      logs.includes(secret),
    );
    expect(leaks).toEqual([]);
  });

  it('names a bad PAYMENT_API_TOKENS entry by position, never by value', async () => {
    const secret = newToken();
    const proc = await startProcess({
      command: process.execPath,
      args: [path.join(repoRoot(), 'services/payment/dist/server.js')],
      env: { PORT: '0', PAYMENT_API_TOKENS: `${secret},short` },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/PAYMENT_API_TOKENS/);
    expect(proc.output()).not.toContain(secret);
  });
});

/** The token with its last character changed (a fixed replacement could equal it by chance). */
const nearMiss = (token: string) => `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;

describe('bearer token comparison (service-kit, both services)', () => {
  // Only the two Context methods the guard uses.
  const contextWith = (authorization: string) =>
    ({ get: () => authorization, set: () => undefined, state: {} }) as never;

  // Timing cannot be measured reliably on a shared 2-core machine, so the test pins down the
  // mechanism instead: every configured token is compared, with the constant-time primitive,
  // whether the presented token matches the first one, a later one, or none.
  it.each([
    ['the first token', `Bearer ${validTokens[0]}`, true],
    ['the last token', `Bearer ${validTokens[1]}`, true],
    ['a near miss', `Bearer ${nearMiss(validTokens[0]!)}`, false],
  ])('compares %s against all tokens with crypto.timingSafeEqual', async (_case, header, ok) => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      const guard = bearerAuth([...validTokens, newToken()]);
      const next = jest.fn(async () => undefined);
      const outcome = guard(contextWith(header), next);
      if (ok) await outcome;
      else await expect(outcome).rejects.toMatchObject({ status: 401 });
      expect(next).toHaveBeenCalledTimes(ok ? 1 : 0);
      expect(compare).toHaveBeenCalledTimes(3);
    } finally {
      compare.mockRestore();
    }
  });
});
