/**
 * The load generator of `server_bench.ts`, run in its own process so that
 * only the server is measured. Reads commands on stdin, one a line, and
 * answers each with one line on stdout:
 *
 * - `open <port> <conns> <size>`: opens `conns` connections to
 *   127.0.0.1:<port>; answers `ready`.
 * - `go <rounds>`: on every open connection at once, `rounds` times: writes
 *   a message of `size` bytes and reads until the whole echo is back, checking
 *   its bytes; answers `done <requests>`.
 * - `close`: closes the connections; answers `closed`.
 *
 * Exits when stdin ends.
 */
import { stdinLines } from "./_stdin_lines.ts";

const encoder = new TextEncoder();
let conns: Deno.TcpConn[] = [];
let size = 0;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** `rounds` ping-pongs on `conn`; returns how many completed. */
async function pingPong(conn: Deno.Conn, index: number, rounds: number): Promise<number> {
  const message = new Uint8Array(size);
  const echo = new Uint8Array(size);
  for (let r = 0; r < rounds; r++) {
    const mark = (index + r) & 0xff;
    message[0] = mark;
    message[size - 1] = mark;
    await writeAll(conn, message);
    let got = 0;
    while (got < size) {
      const n = await conn.read(echo.subarray(got));
      if (n === null) throw new Error(`connection ${index}: the server closed it`);
      got += n;
    }
    if (echo[0] !== mark || echo[size - 1] !== mark) {
      throw new Error(`connection ${index}: a wrong echo`);
    }
  }
  return rounds;
}

async function answer(line: string): Promise<void> {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

for await (const command of stdinLines()) {
  const [verb, ...args] = command.split(" ");
  if (verb === "open") {
    const [port, n, s] = args.map(Number);
    size = s;
    conns = await Promise.all(
      Array.from({ length: n }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    for (const conn of conns) conn.setNoDelay(true);
    await answer("ready");
  } else if (verb === "go") {
    const rounds = Number(args[0]);
    const done = await Promise.all(conns.map((conn, i) => pingPong(conn, i, rounds)));
    await answer(`done ${done.reduce((a, b) => a + b, 0)}`);
  } else if (verb === "close") {
    for (const conn of conns) conn.close();
    conns = [];
    await answer("closed");
  } else {
    throw new Error(`Unknown command: ${command}`);
  }
}
