/**
 * Test helper: skip a test on one operating system, saying why. Every
 * `ignore:` in the test suite goes through this, so no test is skipped
 * without a printed reason (checked by tests/workflows_test.ts).
 *
 * @module
 */

/**
 * `true` (skip) when running on `os`; prints the reason once per test.
 *
 * @param os The operating system the test cannot run on.
 * @param reason Why, in a sentence.
 * @returns Whether to ignore the test here.
 */
export function ignoreOn(os: typeof Deno.build.os, reason: string): boolean {
  if (!reason.trim()) throw new Error("ignoreOn needs a reason");
  if (Deno.build.os !== os) return false;
  console.warn(`skipped on ${os}: ${reason}`);
  return true;
}
