/**
 * Test helper: a seeded random number generator, so that a randomised test
 * runs the same way every time.
 *
 * @module
 */

/**
 * A deterministic PRNG (mulberry32).
 *
 * @param seed Where the sequence starts.
 * @returns A function that returns the next number in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
