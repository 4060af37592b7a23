/**
 * `startServer`'s default error report: a client that goes away is one
 * line without a stack; an unexpected failure keeps the full report.
 */
import { assertEquals, assertInstanceOf, assertMatch } from "@std/assert";
import { stub } from "@std/testing/mock";
import { openConnection, startServer } from "../mod.ts";
import { until } from "./_settle.ts";

Deno.test("default onError: a client that closes mid-read is one line, no stack", async () => {
  using consoleError = stub(console, "error", () => {});
  {
    // The handler wants 10 bytes; the client sends 3 and closes.
    await using server = await startServer(async (reader) => {
      await reader.readExactly(10);
    }, { host: "127.0.0.1", port: 0 });
    {
      await using conn = await openConnection("127.0.0.1", server.addr.port);
      conn.writer.write("abc");
      await conn.writer.drain();
    }
    await until(() => consoleError.calls.length > 0, "stderr is written");
  }
  assertEquals(consoleError.calls.length, 1);
  const args = consoleError.calls[0].args;
  assertEquals(args.length, 1, "one string, no error object to print with its stack");
  assertMatch(
    String(args[0]),
    /^Client handler failed \(client 127\.0\.0\.1:\d+\): IncompleteReadError: .+$/,
  );
  assertEquals(String(args[0]).includes("\n"), false);
});

Deno.test("default onError: a client that resets the connection is one line, no stack", async () => {
  using consoleError = stub(console, "error", () => {});
  {
    await using server = await startServer(() => {
      throw new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)");
    }, { host: "127.0.0.1", port: 0 });
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    assertEquals(await conn.reader.read(), new Uint8Array());
    await until(() => consoleError.calls.length > 0, "stderr is written");
  }
  const args = consoleError.calls[0].args;
  assertEquals(args.length, 1);
  assertMatch(String(args[0]), /: ConnectionReset: Connection reset by peer \(os error 104\)$/);
});

Deno.test("default onError: an unexpected failure keeps the full report", async () => {
  using consoleError = stub(console, "error", () => {});
  {
    await using server = await startServer(() => {
      throw new TypeError("a bug");
    }, { host: "127.0.0.1", port: 0 });
    await using conn = await openConnection("127.0.0.1", server.addr.port);
    assertEquals(await conn.reader.read(), new Uint8Array());
    await until(() => consoleError.calls.length > 0, "stderr is written");
  }
  const args = consoleError.calls[0].args;
  assertEquals(args.length, 2, "the message, then the error itself (printed with its stack)");
  assertInstanceOf(args[1], TypeError);
});
