/**
 * echo_server: the smallest useful `startServer` program. Each client's
 * lines come back to it unchanged, one client handler task per connection.
 * Ctrl-C stops the server: it closes the listener, cancels the handlers and
 * waits for them.
 *
 *     deno run --allow-net=127.0.0.1 examples/echo_server.ts --port 8888
 *
 * Pair it with `examples/echo_client.ts`. Permissions: `--allow-net` for the
 * address listened on.
 *
 * @module
 */
import { type ClientHandler, startServer } from "../mod.ts";
import { parseOptions, UsageError } from "./_shared/mod.ts";

const HELP = `Usage: echo_server.ts [--host HOST] [--port PORT]

Listens for TCP connections and sends every line a client writes back to it.

  --host HOST   the address to listen on (default 127.0.0.1)
  --port PORT   the port (default 8888; 0 picks a free one)
  --help, -h    show this help

Ctrl-C stops the server. Exit status: 0 after Ctrl-C, 1 if the address
cannot be listened on, 2 for a bad command line.
`;

function address(addr: Deno.Addr): string {
  if (addr.transport !== "tcp") return addr.transport;
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

const echo: ClientHandler = async (reader, writer) => {
  const peer = address(writer.getExtraInfo("peername") as Deno.Addr);
  console.log(`${peer} connected`);
  try {
    for await (const line of reader) {
      writer.write(line);
      await writer.drain();
    }
  } finally {
    console.log(`${peer} disconnected`);
  }
};

/**
 * Runs the program.
 *
 * @param args The command-line arguments.
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  let host: string;
  let port: number;
  try {
    const { options, positional } = parseOptions(args, [
      { name: "host", type: "string" },
      { name: "port", short: "p", type: "integer", min: 0, max: 65535 },
      { name: "help", short: "h", type: "flag" },
    ]);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
    host = (options.host as string | undefined) ?? "127.0.0.1";
    port = (options.port as number | undefined) ?? 8888;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`echo_server: ${e.message}\nTry 'echo_server.ts --help' for more.`);
    return 2;
  }

  const stop = new AbortController();
  const onSigint = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    const server = await startServer(echo, { host, port, signal: stop.signal });
    console.log(`echo server listening on ${address(server.addr)} (Ctrl-C to stop)`);
    await server.serveForever();
    console.log("echo server stopped");
    return 0;
  } catch (e) {
    console.error(`echo_server: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
