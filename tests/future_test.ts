import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { assertSpyCallArgs, assertSpyCalls, spy } from "@std/testing/mock";
import { CancelledError, createFuture, createTask, Future, InvalidStateError } from "../mod.ts";

Deno.test("a pending future: not done, result and exception throw InvalidStateError", () => {
  const fut = createFuture<number>();
  assertFalse(fut.done());
  assertFalse(fut.cancelled());
  assertThrows(() => fut.result(), InvalidStateError, "still pending");
  assertThrows(() => fut.exception(), InvalidStateError, "still pending");
});

Deno.test("setResult settles once; await and result() read it back", async () => {
  const fut = createFuture<string>();
  fut.setResult("a");
  assert(fut.done());
  assertEquals(fut.result(), "a");
  assertEquals(fut.exception(), undefined);
  assertEquals(await fut, "a");
  assertThrows(() => fut.setResult("b"), InvalidStateError, "already finished");
  assertThrows(() => fut.setException(new Error()), InvalidStateError, "already finished");
  assertFalse(fut.cancel());
});

Deno.test("setException: result() throws it, exception() returns it, await rejects", async () => {
  const fut = createFuture<number>();
  const boom = new RangeError("boom");
  fut.setException(boom);
  assertStrictEquals(fut.exception(), boom);
  assertThrows(() => fut.result(), RangeError, "boom");
  const seen = await fut.then(() => null, (e) => e);
  assertStrictEquals(seen, boom);
});

Deno.test("cancel: CancelledError with the message from result(), exception() and await", async () => {
  const fut = createFuture<number>();
  assert(fut.cancel("stop"));
  assert(fut.cancelled());
  assert(fut.done());
  assertThrows(() => fut.result(), CancelledError, "stop");
  assertThrows(() => fut.exception(), CancelledError, "stop");
  await assertRejects(() => Promise.resolve(fut), CancelledError, "stop");
  assertFalse(fut.cancel("again"));
  assertThrows(() => fut.setResult(1), InvalidStateError, "already cancelled");
});

Deno.test("a future is PromiseLike: then chains, Promise.all accepts it", async () => {
  const a = createFuture<number>();
  const b = createFuture<number>();
  queueMicrotask(() => a.setResult(1));
  setTimeout(() => b.setResult(2), 1);
  assertEquals(await Promise.all([a, b]), [1, 2]);
  assertEquals(await a.then((n) => n + 1), 2);
  assertInstanceOf(a, Future);
  assertEquals(Object.prototype.toString.call(a), "[object Future]");
});

Deno.test("done-callbacks run asynchronously, in order, once, with the future", async () => {
  const fut = createFuture<number>();
  const calls: string[] = [];
  const first = spy((f: Future<number>) => calls.push(`first:${f.result()}`));
  const second = spy(() => calls.push("second"));
  fut.addDoneCallback(first);
  fut.addDoneCallback(second);
  fut.setResult(7);
  assertEquals(calls, [], "callbacks must not run synchronously");
  await Promise.resolve();
  assertEquals(calls, ["first:7", "second"]);
  assertSpyCalls(first, 1);
  assertSpyCallArgs(first, 0, [fut]);
  await new Promise((r) => setTimeout(r, 1));
  assertSpyCalls(first, 1);
  assertSpyCalls(second, 1);
});

Deno.test("a callback added after done is scheduled, not run synchronously", async () => {
  const fut = createFuture<number>();
  fut.setResult(1);
  const cb = spy();
  fut.addDoneCallback(cb);
  assertSpyCalls(cb, 0);
  await Promise.resolve();
  assertSpyCalls(cb, 1);
});

Deno.test("removeDoneCallback removes every registration and returns the count", async () => {
  const fut = createFuture<number>();
  const cb = spy();
  const other = spy();
  fut.addDoneCallback(cb);
  fut.addDoneCallback(other);
  fut.addDoneCallback(cb);
  assertEquals(fut.removeDoneCallback(cb), 2);
  assertEquals(fut.removeDoneCallback(cb), 0);
  fut.cancel();
  await Promise.resolve();
  assertSpyCalls(cb, 0);
  assertSpyCalls(other, 1);
});

Deno.test("a throwing callback is reported and does not stop the next one", async () => {
  const fut = createFuture<number>();
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const after = spy();
    fut.addDoneCallback(() => {
      throw new Error("bad callback");
    });
    fut.addDoneCallback(after);
    fut.setResult(1);
    await Promise.resolve();
    assertSpyCalls(after, 1);
    assertEquals(errors.length, 1);
  } finally {
    console.error = original;
  }
});

Deno.test("addDoneCallback rejects a non-function with TypeError", () => {
  const fut = createFuture<number>();
  assertThrows(
    // @ts-expect-error: testing bad input
    () => fut.addDoneCallback("nope"),
    TypeError,
    `'callback' must be a function: current value is "nope"`,
  );
});

Deno.test("a failed future nobody observes does not cause an unhandled rejection", async () => {
  const fut = createFuture<number>();
  fut.setException(new Error("nobody looks"));
  // If this produced an unhandled rejection, Deno would fail the test.
  await new Promise((r) => setTimeout(r, 5));
  assertThrows(() => fut.result(), Error, "nobody looks");
});

Deno.test("awaiting a future inside a task links it: cancelling the task cancels the future", async () => {
  const fut = createFuture<number>();
  const task = createTask(async () => await fut);
  await new Promise((r) => setTimeout(r, 1));
  task.cancel("outer");
  await assertRejects(() => Promise.resolve(task), CancelledError);
  assert(fut.cancelled(), "the awaited future is cancelled too, as in asyncio");
  assert(task.cancelled());
});

Deno.test("catch and finally behave like a promise's, and see cancellation", async () => {
  const cancelled = createFuture<number>();
  cancelled.cancel("stop");
  const caught = await cancelled.catch((e) => e);
  assertInstanceOf(caught, CancelledError);
  const order: string[] = [];
  const failed = createFuture<number>();
  failed.setException(new Error("boom"));
  await assertRejects(() => failed.finally(() => order.push("finally")), Error, "boom");
  const ok = createFuture<number>();
  setTimeout(() => ok.setResult(5), 1);
  assertEquals(await ok.catch(() => -1), 5);
  assertEquals(order, ["finally"]);
});
