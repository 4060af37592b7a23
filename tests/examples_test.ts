import { assertEquals, assertStringIncludes } from "@std/assert";

async function runExample(path: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", "--allow-net=127.0.0.1", path, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

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
