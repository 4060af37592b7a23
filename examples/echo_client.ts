/**
 * echo_client: the smallest useful `openConnection` program. Sends each
 * message (or each line of stdin) to an echo server and prints the reply.
 *
 *     deno run --allow-net=127.0.0.1 examples/echo_client.ts --port 8888 hello world
 *
 * Pair it with `examples/echo_server.ts`. Permissions: `--allow-net` for the
 * server's address.
 *
 * @module
 */
import { TextLineStream } from "@std/streams";
import { openConnection } from "../mod.ts";
import { parseOptions, UsageError } from "./_shared/mod.ts";

const HELP = `Usage: echo_client.ts [--host HOST] [--port PORT] [--timeout S] [MESSAGE...]

Connects to an echo server, sends each MESSAGE as a line and prints the
reply. Without messages, sends each line of stdin.

  --host HOST   the server's address (default 127.0.0.1)
  --port PORT   the server's port (default 8888)
  --timeout S   give up when a connect or a reply takes S seconds (default 10)
  --help, -h    show this help

Exit status: 0 when every reply came back, 1 on a connection error or a
timeout, 2 for a bad command line.
`;

const decoder = new TextDecoder();

/** The lines of stdin, as they are typed or piped in. */
function stdinLines(): AsyncIterable<string> {
  return Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
}

/**
 * Runs the program.
 *
 * @param args The command-line arguments.
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  let host: string;
  let port: number;
  let timeout: number;
  let messages: string[];
  try {
    const { options, positional } = parseOptions(args, [
      { name: "host", type: "string" },
      { name: "port", short: "p", type: "integer", min: 1, max: 65535 },
      { name: "timeout", type: "number", min: 0.001 },
      { name: "help", short: "h", type: "flag" },
    ]);
    if (options.help) {
      console.log(HELP);
      return 0;
    }
    host = (options.host as string | undefined) ?? "127.0.0.1";
    port = (options.port as number | undefined) ?? 8888;
    timeout = ((options.timeout as number | undefined) ?? 10) * 1000;
    messages = positional;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`echo_client: ${e.message}\nTry 'echo_client.ts --help' for more.`);
    return 2;
  }

  try {
    await using conn = await openConnection(host, port, { timeout });
    const [reader, writer] = conn;
    const lines = messages.length > 0 ? messages : stdinLines();
    for await (const message of lines) {
      writer.write(`${message.replace(/\r?\n/g, " ")}\n`);
      await writer.drain();
      const reply = await reader.readLine({ signal: AbortSignal.timeout(timeout) });
      if (reply.length === 0) {
        console.error("echo_client: the server closed the connection");
        return 1;
      }
      console.log(`reply: ${decoder.decode(reply).replace(/\r?\n$/, "")}`);
    }
    return 0;
  } catch (e) {
    console.error(`echo_client: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
