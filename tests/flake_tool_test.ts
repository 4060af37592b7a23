import { assertEquals } from "@std/assert";
import { failuresOf } from "../tools/flake.ts";

Deno.test("the flake hunter reads each failed test and its first error lines from a report", () => {
  const report = [
    "running 2 tests from ./tests/a_test.ts",
    "one ... ok (1ms)",
    "two ... FAILED (3ms)",
    "",
    " ERRORS ",
    "",
    "two => ./tests/a_test.ts:12:6",
    "error: AssertionError: Values are not equal.",
    "    at file:///x/tests/a_test.ts:14:3",
    "",
    "./tests/b_test.ts (uncaught error)",
    "error: (in promise) Error: boom",
    "",
    " FAILURES ",
    "",
    "two => ./tests/a_test.ts:12:6",
    "",
    "FAILED | 1 passed | 1 failed (1s)",
  ].join("\n");
  assertEquals(failuresOf(report), [
    {
      test: "two => ./tests/a_test.ts:12:6",
      error: [
        "error: AssertionError: Values are not equal.",
        "    at file:///x/tests/a_test.ts:14:3",
      ],
    },
    { test: "./tests/b_test.ts (uncaught error)", error: ["error: (in promise) Error: boom"] },
  ]);
  assertEquals(failuresOf("ok | 2 passed | 0 failed (1s)"), []);
});
