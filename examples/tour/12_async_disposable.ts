/**
 * Lesson 12 — an async context manager: Python's `async with` and
 * `__aenter__`/`__aexit__` are JavaScript's `await using` and
 * `[Symbol.asyncDispose]`.
 *
 *     deno run examples/tour/12_async_disposable.ts
 */
import { sleep } from "../../mod.ts";

class AsyncConnection implements AsyncDisposable {
  static async open(): Promise<AsyncConnection> {
    await sleep(5);
    console.log("connected");
    return new AsyncConnection();
  }

  async query(sql: string): Promise<string> {
    await sleep(5);
    return `result of ${sql}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await sleep(5);
    console.log("connection closed");
  }
}

{
  await using conn = await AsyncConnection.open();
  console.log(await conn.query("select 1"));
} // closed here, even if the block throws
console.log("after the block");
