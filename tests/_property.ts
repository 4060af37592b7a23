/**
 * Test helper: what the property-based tests (fast-check) share. Every
 * property runs with one fixed seed, so a failure is reproducible, and
 * prints the seed when it fails. Two environment variables explore further:
 * `AIO_PROPERTY_SEED` sets another seed, and `AIO_PROPERTY_RUNS` scales every
 * case count, in percent (`1000` runs ten times as many cases).
 *
 * @module
 */

import fc from "fast-check";

/** An integer from the environment, or `fallback` (also without `--allow-env`). */
function envInteger(name: string, fallback: number): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(name);
  } catch {
    // No --allow-env: the defaults apply.
  }
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(n) ? n : fallback;
}

/** The seed of every property. */
export const SEED: number = envInteger("AIO_PROPERTY_SEED", 20_240_507);

const SCALE = envInteger("AIO_PROPERTY_RUNS", 100);

/** `n` cases, scaled by `AIO_PROPERTY_RUNS`; at least one. */
export function runs(n: number): number {
  return Math.max(1, Math.round((n * SCALE) / 100));
}

/**
 * Checks `property` on `runs(numRuns)` cases with the fixed seed; on failure,
 * says which property and seed before rethrowing fast-check's report (the
 * shrunk counterexample).
 *
 * @returns How many cases ran.
 */
export async function checkProperty<Ts extends [unknown, ...unknown[]]>(
  name: string,
  numRuns: number,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  options: { endOnFailure?: boolean } = {},
): Promise<number> {
  const count = runs(numRuns);
  try {
    await fc.assert(property, { seed: SEED, numRuns: count, ...options });
  } catch (e) {
    console.error(`property "${name}" failed with seed ${SEED} (AIO_PROPERTY_SEED=${SEED})`);
    throw e;
  }
  return count;
}
