import { createHash, randomBytes } from 'node:crypto';

/** A source of uniform numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * xoshiro128** seeded from the SHA-256 of `seed`, so any string (a number included) gives a
 * well-mixed 128-bit state. Without a seed the state comes from the OS. The generator is
 * created once per process and advanced per decision: reseeding per request would make every
 * decision of a seeded process identical.
 */
export function createRandomSource(seed?: string): RandomSource {
  const bytes =
    seed === undefined ? randomBytes(16) : createHash('sha256').update(seed, 'utf8').digest();
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i += 1) state[i] = bytes.readUInt32LE(i * 4);
  // An all-zero state would only ever produce zeros.
  if (state.every((word) => word === 0)) state[0] = 0x9e3779b9;

  return function next(): number {
    const s0 = state[0]!;
    const s1 = state[1]!;
    const s2 = state[2]!;
    const s3 = state[3]!;
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const n2 = (s2 ^ s0) >>> 0;
    const n3 = (s3 ^ s1) >>> 0;
    state[1] = s1 ^ n2;
    state[0] = s0 ^ n3;
    state[2] = n2 ^ t;
    state[3] = rotateLeft(n3, 11);
    return result / 4294967296;
  };
}

function rotateLeft(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
