/**
 * One echo server of `server_bench.ts`, run in a process of its own so that
 * what one server does to the process (its heap, the C allocator's free
 * lists, the garbage collector's pace) does not change what another one
 * costs. The kind is the first argument:
 *
 * - `aio`: `startServer` with the handler `read(102400)` → `write` →
 *   `await drain()`.
 * - `bare`: a `Deno.listen` loop that reads into one 100 KiB buffer and
 *   writes it back.
 * - `fresh`: the same loop with a new 100 KiB buffer for every read, as a
 *   reader that hands out bytes its caller owns must have: near the floor of
 *   what aio's `read()` can cost.
 *
 * Prints `port <n>` once listening, then answers each line of stdin with one
 * line on stdout: `cpu` → `cpu <µs>`, the CPU time (user + system) this
 * process has used so far. Exits when stdin ends.
 *
 * @module
 */
import process from "node:process";
import { startServer } from "../mod.ts";
import { stdinLines } from "./_stdin_lines.ts";

const KINDS = ["aio", "bare", "fresh"];

/** A bare echo loop over `Deno.listen`; `fresh`: a new buffer for every read. */
function bareServer(fresh: boolean): Deno.TcpListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      (async () => {
        let buf = new Uint8Array(102400);
        try {
          for (;;) {
            if (fresh) buf = new Uint8Array(102400);
            const n = await conn.read(buf);
            if (n === null) break;
            let written = 0;
            while (written < n) written += await conn.write(buf.subarray(written, n));
          }
        } catch {
          // The client went away.
        } finally {
          conn.close();
        }
      })();
    }
  })();
  return listener;
}

const kind = Deno.args[0];
if (!KINDS.includes(kind)) {
  throw new TypeError(`Unknown server kind: ${kind} (one of ${KINDS.join(", ")})`);
}
let port: number;
if (kind === "aio") {
  const server = await startServer(async (reader, writer) => {
    for (;;) {
      const data = await reader.read(102400);
      if (data.length === 0) break;
      writer.write(data);
      await writer.drain();
    }
  }, { host: "127.0.0.1", port: 0 });
  port = server.addr.port;
} else {
  port = bareServer(kind === "fresh").addr.port;
}
console.log(`port ${port}`);

for await (const command of stdinLines()) {
  if (command !== "cpu") throw new Error(`Unknown command: ${command}`);
  const { user, system } = process.cpuUsage();
  console.log(`cpu ${user + system}`);
}
Deno.exit(0);
