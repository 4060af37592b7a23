/**
 * Lesson 11 — an async iterator class: Python's `__aiter__`/`__anext__` are
 * JavaScript's `[Symbol.asyncIterator]` and `next()`.
 *
 *     deno run examples/tour/11_async_iterator.ts
 */
import { sleep } from "../../mod.ts";

class Reader implements AsyncIterable<number> {
  #count = 0;

  async readLine(): Promise<number | null> {
    await sleep(5);
    this.#count++;
    return this.#count === 5 ? null : this.#count;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<number> {
    for (let line = await this.readLine(); line !== null; line = await this.readLine()) {
      yield line;
    }
  }
}

for await (const line of new Reader()) console.log("line", line);
