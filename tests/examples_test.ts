import { assertEquals, assertStringIncludes } from "@std/assert";
import { runDeno } from "./_run.ts";

const runExample = (path: string, ...args: string[]) =>
  runDeno(["--allow-net=127.0.0.1", path, ...args]);

Deno.test("examples/demo.ts runs and shows each lesson", async () => {
  const { code, stdout, stderr } = await runExample("examples/demo.ts");
  assertEquals(code, 0, stderr);
  assertStringIncludes(stdout, `results: [ "page 1", "page 2", "page 3" ]`);
  assertStringIncludes(stdout, "sleeper saw CancelledError: the user pressed stop");
  assertStringIncludes(stdout, "timeout: Timed out after 150 ms");
  assertStringIncludes(stdout, "slow.cancelled() = true");
  assertStringIncludes(stdout, "precious still finishes: page 6");
  assertStringIncludes(stdout, "worker: closing files before leaving");
});
