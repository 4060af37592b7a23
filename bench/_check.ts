/**
 * Bench helper: a check that a bench computed what it should, so that a
 * broken contender fails instead of looking fast.
 *
 * @module
 */

/**
 * Throws unless the `n` values `valueAt(0)`, ..., `valueAt(n - 1)` add up to
 * 0 + 1 + ... + (n - 1): each job returned its own index. Every contender of
 * a group calls this the same way, so the check costs all of them the same.
 *
 * @param n How many values.
 * @param valueAt The value at an index.
 */
export function checkSum(n: number, valueAt: (i: number) => number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += valueAt(i);
  if (sum !== n * (n - 1) / 2) throw new Error(`wrong sum ${sum}, expected ${n * (n - 1) / 2}`);
}
