import request from 'supertest';
import { decide } from '../src/charges/decision';
import { createRandomSource } from '../src/random/prng';
import { PATCHED_BODY, testApp } from './support';

const REQUEST = { customerId: 1, amountMinor: 1000, currency: 'EUR' as const };
const DECISIONS = 20_000;

function approvals(rate: number, seed: string, n = DECISIONS): number {
  const random = createRandomSource(seed);
  let approved = 0;
  for (let i = 0; i < n; i += 1) if (decide(REQUEST, 'caller', rate, random).result) approved += 1;
  return approved;
}

/**
 * The approval count is Binomial(n, p). With n = 20,000 a deviation beyond 5 standard
 * deviations has probability below 6e-7, so a failure means the decisions are biased, not
 * unlucky; the seeds make each run identical anyway.
 */
describe('approval rate', () => {
  it.each([
    [0.5, 'rate-half'],
    [0.2, 'rate-fifth'],
    [0.93, 'rate-most'],
  ])('stays within 5 sigma of %f over 20,000 seeded decisions', (rate, seed) => {
    const sigma = Math.sqrt(DECISIONS * rate * (1 - rate));
    const observed = approvals(rate, seed);
    expect(Math.abs(observed - DECISIONS * rate)).toBeLessThanOrEqual(5 * sigma);
  });

  it('is exact at rates 0 and 1', () => {
    expect(approvals(0, 'zero')).toBe(0);
    expect(approvals(1, 'one')).toBe(DECISIONS);
  });

  it('is not one long run: consecutive decisions agree about half of the time at rate 0.5', () => {
    const random = createRandomSource('runs');
    let same = 0;
    let previous = decide(REQUEST, 'caller', 0.5, random).result;
    for (let i = 1; i < DECISIONS; i += 1) {
      const current = decide(REQUEST, 'caller', 0.5, random).result;
      if (current === previous) same += 1;
      previous = current;
    }
    const n = DECISIONS - 1;
    expect(Math.abs(same - n / 2)).toBeLessThanOrEqual(5 * Math.sqrt(n / 4));
  });
});

describe('seeded randomness', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const draw = (seed: string) => {
      const random = createRandomSource(seed);
      return Array.from({ length: 64 }, () => random());
    };
    expect(draw('42')).toEqual(draw('42'));
    expect(draw('42')).not.toEqual(draw('43'));
    expect(draw('42').every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('draws uniformly: every tenth of [0, 1) gets 10% ± 5 sigma of 100,000 draws', () => {
    const random = createRandomSource('uniform');
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i += 1) bins[Math.floor(random() * 10)]! += 1;
    const sigma = Math.sqrt(n * 0.1 * 0.9);
    for (const count of bins) expect(Math.abs(count - n / 10)).toBeLessThanOrEqual(5 * sigma);
  });

  it('advances one generator per app (no reseeding per request): same seed, same results', async () => {
    const results = async () => {
      const { callback } = testApp({ seed: 'replay-me' });
      const out: boolean[] = [];
      for (let i = 0; i < 24; i += 1) {
        out.push((await request(callback).post('/v1/charges').send(PATCHED_BODY)).body.result);
      }
      return out;
    };
    const first = await results();
    expect(await results()).toEqual(first);
    expect(new Set(first).size).toBe(2);
  });
});
