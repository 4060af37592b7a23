/**
 * Test helpers to skip a test, saying why. Every `ignore:` in the test suite
 * goes through one of them, so no test is skipped without a printed reason
 * (checked by tests/workflows_test.ts).
 *
 * @module
 */

function checkReason(reason: string, helper: string): void {
  if (typeof reason !== "string" || reason.trim().length < 10) {
    throw new Error(
      `${helper} needs a reason of at least 10 characters: got ${JSON.stringify(reason)}`,
    );
  }
}

/**
 * `true` (skip) when running on `os`; prints the reason once per test.
 *
 * @param os The operating system the test cannot run on.
 * @param reason Why, in a sentence.
 * @returns Whether to ignore the test here.
 */
export function ignoreOn(os: typeof Deno.build.os, reason: string): boolean {
  checkReason(reason, "ignoreOn");
  if (Deno.build.os !== os) return false;
  console.warn(`skipped on ${os}: ${reason}`);
  return true;
}

/**
 * `true` (skip) unless `condition` holds on this machine, e.g. an IPv6
 * loopback address; prints the reason when it skips.
 *
 * @param condition What the test needs, evaluated here.
 * @param reason What is missing when it does not hold, in a sentence.
 * @returns Whether to ignore the test here.
 */
export function ignoreUnless(condition: boolean, reason: string): boolean {
  checkReason(reason, "ignoreUnless");
  if (condition) return false;
  console.warn(`skipped: ${reason}`);
  return true;
}
