/**
 * Bench helper: the lines of stdin, for the load processes the benches
 * drive with one command a line.
 *
 * @module
 */

/**
 * Yields each line of stdin, without its `\n`, until stdin ends.
 *
 * @returns The lines.
 */
export async function* stdinLines(): AsyncGenerator<string> {
  let pending = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
}
